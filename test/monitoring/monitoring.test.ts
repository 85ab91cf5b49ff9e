import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Testing } from 'cdk8s';

import { MonitoringChart } from '../../charts/monitoring/monitoring-chart';
import { IMAGES, loadConfig, PlatformConfig } from '../../config';
import { imageName } from '../../lib/pod';
import { composePlatform } from '../../main';
import { promqlErrors } from '../support/fixtures';
import { ALL_ENVIRONMENTS, container, find, K8sObject, ofKind, podSpec, synthesize } from '../support/synth';

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

/** The platform for a config variant (every chart but the slow-to-render namespace chart). */
function compose(config: PlatformConfig): { objects: K8sObject[]; monitoring: MonitoringChart } {
  const app = Testing.app();
  const charts = composePlatform(app, config);
  // cdk8s makes `instanceof` true for every Chart: find the chart by its id.
  const monitoring = charts.find((c) => c.node.id === 'monitoring') as MonitoringChart;
  return { objects: charts.filter((c) => c.node.id !== 'namespace').flatMap((c) => Testing.synth(c)) as K8sObject[], monitoring };
}

const prod = synthesize('production');
const production = loadConfig({ QINGYU_ENV: 'production' });
const stack = compose({ ...production, monitoring: { ...production.monitoring, mode: 'kube-prometheus-stack' } });

/** Every output under test: each environment in `own` mode, and production with the stack. */
const OUTPUTS: Array<[string, K8sObject[]]> = [...ALL_ENVIRONMENTS.map((e): [string, K8sObject[]] => [e, synthesize(e).objects]), ['kube-prometheus-stack', stack.objects]];

const alertsOf = (objects: K8sObject[]) => ofKind(objects, 'PrometheusRule').flatMap((r) => r.spec.groups.flatMap((g: any) => g.rules));
const dashboardsOf = (objects: K8sObject[]) =>
  ofKind(objects, 'ConfigMap').filter((c) => c.metadata.labels?.grafana_dashboard === '1');

test('the monitoring chart matches its snapshot (each dashboard one line: dashboards.test.ts shows them)', () => {
  const yaml = prod.files.find((f) => f.name.endsWith('-monitoring.k8s.yaml'))!.yaml;
  // A dashboard's JSON is a block scalar under its ConfigMap's data: one line stands for it.
  const elided = yaml.replace(/^( {2})(qingyu-[a-z-]+\.json): \|\n(?:\1 {2}.*\n|\n)+/gm,
    (_m, indent, file) => `${indent}${file}: <the ${file.replace('.json', '')} dashboard: see dashboards.test.ts>\n`);
  expect(elided).not.toMatch(/"panels"/);
  expect(elided).toMatchSnapshot();
});

describe('the platform Prometheus', () => {
  const prometheus = find(prod.objects, 'Prometheus', 'platform');

  test('runs the configured image, replicas, retention and storage of each environment', () => {
    for (const env of ALL_ENVIRONMENTS) {
      const out = synthesize(env);
      const c = out.config.monitoring.prometheus;
      const spec = find(out.objects, 'Prometheus', 'platform').spec;
      expect(spec.image).toBe(`${c.image.repository}:${c.image.tag}`);
      expect(spec.version).toBe(c.image.tag);
      expect(spec.replicas).toBe(c.replicas);
      expect(spec.retention).toBe(`${c.retentionDays}d`);
      expect(spec.storage.volumeClaimTemplate.spec.resources.requests.storage).toBe(`${c.storage.sizeGiB}Gi`);
      expect(spec.resources.limits).toEqual({ 'cpu': `${c.resources.cpuMillis.limit}m`, 'memory': `${c.resources.memoryMiB.limit}Mi`, 'ephemeral-storage': `${c.resources.ephemeralStorageMiB.limit}Mi` });
    }
  });

  test('runs as the image\'s nobody (uid above 10000) with RuntimeDefault seccomp', () => {
    expect(prometheus.spec.securityContext).toEqual({
      runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534, fsGroupChangePolicy: 'OnRootMismatch', seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  test('watches only the platform namespace with a namespaced Role, and no cluster-wide RBAC exists', () => {
    const onlyOurs = { matchLabels: { 'kubernetes.io/metadata.name': 'qingyu' } };
    expect(prometheus.spec.serviceMonitorNamespaceSelector).toEqual(onlyOurs);
    expect(prometheus.spec.ruleNamespaceSelector).toEqual(onlyOurs);
    expect(prometheus.spec.serviceAccountName).toBe('prometheus');
    expect(find(prod.objects, 'Role', 'prometheus').rules).toEqual([
      { apiGroups: [''], resources: ['services', 'pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
    ]);
    expect(find(prod.objects, 'RoleBinding', 'prometheus')).toMatchObject({
      roleRef: { kind: 'Role', name: 'prometheus' },
      subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'qingyu' }],
    });
    expect([...ofKind(prod.objects, 'ClusterRole'), ...ofKind(prod.objects, 'ClusterRoleBinding')]).toEqual([]);
  });

  test('has a Service "prometheus" on port web 9090 that selects the pods by the labels the operator sets', () => {
    const service = find(prod.objects, 'Service', 'prometheus');
    expect(service.spec.ports).toEqual([{ name: 'web', port: 9090, targetPort: 'web', protocol: 'TCP' }]);
    // The operator (v0.93) stamps these on every pod of the Prometheus named "platform" and
    // overrides podMetadata labels of the same keys.
    const operatorLabels = { 'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/instance': 'platform', 'prometheus': 'platform' };
    const podLabels = { ...prometheus.spec.podMetadata.labels, ...operatorLabels };
    expect(matches(service.spec.selector, podLabels)).toBe(true);
    expect(service.spec.selector).toEqual({ 'app.kubernetes.io/name': 'prometheus', 'prometheus': 'platform' });
  });

  test('tolerates a voluntary disruption of one replica where there are two', () => {
    expect(find(prod.objects, 'PodDisruptionBudget', 'prometheus').spec.maxUnavailable).toBe(1);
    expect(ofKind(synthesize('development').objects, 'PodDisruptionBudget').map((p) => p.metadata.name)).not.toContain('prometheus');
  });

  test('is what go-backend queries through PROMETHEUS_ADDR', () => {
    expect(find(prod.objects, 'ConfigMap', 'go-backend-config').data.PROMETHEUS_ADDR).toBe('prometheus.qingyu.svc.cluster.local:9090');
  });
});

describe.each(OUTPUTS)('%s output', (_name, objects) => {
  const prometheus = ofKind(objects, 'Prometheus')[0];
  const selectionLabels = prometheus ? prometheus.spec.serviceMonitorSelector.matchLabels : { release: 'kube-prometheus-stack' };

  test('every ServiceMonitor selects a Service of the namespace that has its named port', () => {
    const monitors = ofKind(objects, 'ServiceMonitor');
    expect(monitors.length).toBeGreaterThan(0);
    for (const sm of monitors) {
      const services = ofKind(objects, 'Service').filter((s) => matches(sm.spec.selector.matchLabels, s.metadata.labels));
      expect({ sm: sm.metadata.name, services: services.length }).toEqual({ sm: sm.metadata.name, services: 1 });
      for (const endpoint of sm.spec.endpoints) {
        expect(services[0].spec.ports.map((p: any) => p.name)).toContain(endpoint.port);
      }
    }
  });

  test('every ServiceMonitor and PrometheusRule carries the labels the Prometheus selects', () => {
    if (prometheus) expect(prometheus.spec.ruleSelector.matchLabels).toEqual(selectionLabels);
    for (const o of [...ofKind(objects, 'ServiceMonitor'), ...ofKind(objects, 'PrometheusRule')]) {
      expect({ object: `${o.kind}/${o.metadata.name}`, selected: matches(selectionLabels, o.metadata.labels) }).toEqual({ object: `${o.kind}/${o.metadata.name}`, selected: true });
    }
  });

  test('every alert is valid PromQL with a severity, a duration, a summary, a description and a runbook', () => {
    const alerts = alertsOf(objects);
    expect(alerts.length).toBeGreaterThan(10);
    for (const rule of alerts) {
      expect({ alert: rule.alert, errors: promqlErrors(rule.expr) }).toEqual({ alert: rule.alert, errors: [] });
      // Only the Watchdog, which never pages, has severity none.
      expect(rule.alert === 'Watchdog' ? ['none'] : ['critical', 'warning']).toContain(rule.labels.severity);
      expect(rule.for).toMatch(/^\d+[smh]$/);
      expect(rule.annotations.summary).toBeTruthy();
      expect(rule.annotations.description).toBeTruthy();
      expect(rule.annotations.runbook_url).toBe(`docs/runbooks.md#${rule.alert.toLowerCase()}`);
    }
  });

  test('every component-down alert names the job of a Service that a ServiceMonitor scrapes', () => {
    const scraped = new Set(
      ofKind(objects, 'ServiceMonitor').flatMap((sm) => ofKind(objects, 'Service').filter((s) => matches(sm.spec.selector.matchLabels, s.metadata.labels)).map((s) => s.metadata.name)),
    );
    const jobs = alertsOf(objects).filter((r) => r.alert === 'QingyuComponentDown').map((r) => r.labels.job);
    expect(jobs).toEqual(expect.arrayContaining(['go-backend', 'python-ai']));
    for (const job of jobs) expect(scraped).toContain(job);
  });
});

describe.each(ALL_ENVIRONMENTS)('kube-state-metrics (%s)', (env) => {
  const { objects, config } = synthesize(env);
  const deployment = find(objects, 'Deployment', 'kube-state-metrics');
  const args: string[] = container(deployment, 'kube-state-metrics').args;
  const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const watched = flag('resources')!.split(',');

  test('watches only the platform namespace, through a namespaced Role that can only list and watch what it reports', () => {
    expect(flag('namespaces')).toBe(config.namespace);
    const role = find(objects, 'Role', 'kube-state-metrics');
    const granted = role.rules.flatMap((r: any) => r.resources);
    expect([...granted].sort()).toEqual([...watched].sort());
    for (const r of role.rules) expect(r.verbs).toEqual(['list', 'watch']);
    expect(objects.filter((o) => o.kind.startsWith('Cluster'))).toEqual([]);
    const binding = find(objects, 'RoleBinding', 'kube-state-metrics');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: podSpec(deployment).serviceAccountName, namespace: config.namespace }]);
  });

  test('watches every resource whose series an alert uses', () => {
    const families = new Set(alertsOf(objects).flatMap((r) => [...String(r.expr).matchAll(/\bkube_([a-z]+)_/g)].map((m) => m[1])));
    expect(families.size).toBeGreaterThan(0);
    for (const family of families) expect(watched).toContain(`${family}s`);
  });

  test('is scraped with its own labels kept, so that series name the object, not its pod', () => {
    const sm = find(objects, 'ServiceMonitor', 'kube-state-metrics');
    expect(sm.spec.endpoints).toEqual([expect.objectContaining({ port: 'http-metrics', honorLabels: true })]);
  });
});

describe('runbooks', () => {
  const headings = new Set(
    readFileSync(join(__dirname, '..', '..', 'docs', 'runbooks.md'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('## '))
      .map((l) => l.slice(3).trim().toLowerCase()),
  );

  test('docs/runbooks.md has a section for every alert of either mode', () => {
    const alerts = new Set([...alertsOf(prod.objects), ...alertsOf(stack.objects)].map((r) => r.alert.toLowerCase()));
    for (const alert of alerts) expect(headings).toContain(alert);
  });
});

describe('Grafana', () => {
  const deployment = find(prod.objects, 'Deployment', 'grafana');
  const c = container(deployment, 'grafana');
  const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

  test('runs the pinned image as uid 472 with a read-only root filesystem, writing only to its volumes', () => {
    expect(c.image).toBe(imageName(IMAGES.grafana));
    expect(podSpec(deployment).securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 472, runAsGroup: 472, fsGroup: 472 });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(c.volumeMounts.filter((m: any) => !m.readOnly).map((m: any) => m.mountPath).sort()).toEqual(['/tmp', '/var/lib/grafana', '/var/log/grafana']);
  });

  test('keeps its state on a PersistentVolumeClaim and replaces the pod rather than running two', () => {
    const pvc = find(prod.objects, 'PersistentVolumeClaim', 'grafana');
    expect(pvc.spec).toMatchObject({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } });
    expect(podSpec(deployment).volumes).toContainEqual({ name: 'storage', persistentVolumeClaim: { claimName: 'grafana' } });
    expect(deployment.spec).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' } });
  });

  test('reads its admin credentials from the files of the grafana-admin Secret, never the environment', () => {
    expect(env.GF_SECURITY_ADMIN_USER__FILE).toBe('/etc/grafana/admin/user');
    expect(env.GF_SECURITY_ADMIN_PASSWORD__FILE).toBe('/etc/grafana/admin/password');
    expect(Object.values(env).filter((v: any) => v?.secretKeyRef)).toEqual([]);
    const admin = podSpec(deployment).volumes.find((v: any) => v.name === 'admin').secret;
    expect(admin.secretName).toBe('grafana-admin');
    expect(admin.items.map((i: any) => i.path)).toEqual(['user', 'password']);
  });

  test('is ready and started on /api/health, alive while it accepts connections, with a more patient liveness', () => {
    for (const probe of [c.readinessProbe, c.startupProbe]) expect(probe.httpGet).toEqual({ path: '/api/health', port: 'http' });
    expect(c.livenessProbe.tcpSocket).toEqual({ port: 'http' });
    const patience = (p: any) => p.failureThreshold * p.periodSeconds;
    expect(patience(c.livenessProbe)).toBeGreaterThan(patience(c.readinessProbe));
  });

  test('is provisioned with the Prometheus datasource (uid prometheus) pointing at the platform Prometheus', () => {
    const provisioning = JSON.parse(find(prod.objects, 'ConfigMap', 'grafana-datasources').data['datasources.yaml']);
    expect(provisioning.datasources).toEqual([
      expect.objectContaining({ type: 'prometheus', uid: 'prometheus', url: 'http://prometheus.qingyu.svc.cluster.local:9090', isDefault: true }),
    ]);
    expect(c.volumeMounts).toContainEqual({ name: 'datasources', mountPath: '/etc/grafana/provisioning/datasources', readOnly: true });
  });

  test('loads every dashboard ConfigMap through a file provider, without a sidecar', () => {
    const provider = JSON.parse(find(prod.objects, 'ConfigMap', 'grafana-dashboard-provider').data['dashboards.yaml']);
    expect(provider.providers).toEqual([expect.objectContaining({ type: 'file', options: { path: '/etc/grafana/dashboards' } })]);
    const projected = podSpec(deployment).volumes.find((v: any) => v.name === 'dashboards').projected.sources.map((s: any) => s.configMap.name);
    expect(projected.sort()).toEqual(dashboardsOf(prod.objects).map((d) => d.metadata.name).sort());
    expect(podSpec(deployment).containers).toHaveLength(1);
  });

  test('is scraped on /metrics of its http port', () => {
    expect(find(prod.objects, 'ServiceMonitor', 'grafana').spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
  });
});

describe('kube-prometheus-stack mode', () => {
  test('emits no Prometheus, Grafana or RBAC of its own', () => {
    expect(ofKind(stack.objects, 'Prometheus')).toEqual([]);
    expect(ofKind(stack.objects, 'Deployment').map((d) => d.metadata.name)).not.toContain('grafana');
    expect(ofKind(stack.objects, 'Role')).toEqual([]);
  });

  test("labels ServiceMonitors and rules with the stack's release and lets its Prometheus scrape", () => {
    for (const o of [...ofKind(stack.objects, 'ServiceMonitor'), ...ofKind(stack.objects, 'PrometheusRule')]) {
      expect(o.metadata.labels?.release).toBe('kube-prometheus-stack');
    }
    expect(stack.monitoring.scraper.peer).toEqual({
      kind: 'namespace', namespace: 'monitoring', podSelector: { 'app.kubernetes.io/name': 'prometheus' }, description: 'kube-prometheus-stack Prometheus',
    });
  });

  test("points go-backend at the stack's Prometheus Service", () => {
    expect(find(stack.objects, 'ConfigMap', 'go-backend-config').data.PROMETHEUS_ADDR).toBe('kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090');
  });

  test('adds the volume alerts, which need the kubelet metrics only a cluster-wide stack scrapes', () => {
    const stackAlerts = alertsOf(stack.objects).map((r) => r.alert);
    const ownAlerts = alertsOf(prod.objects).map((r) => r.alert);
    for (const alert of ['QingyuPersistentVolumeFillingUp', 'QingyuPersistentVolumeAlmostFull']) {
      expect(stackAlerts).toContain(alert);
      expect(ownAlerts).not.toContain(alert);
    }
  });

  test("uses the stack's kube-state-metrics: none of ours, the workload alerts still there", () => {
    expect(stack.objects.filter((o) => o.metadata.name === 'kube-state-metrics')).toEqual([]);
    const stackAlerts = alertsOf(stack.objects).map((r) => r.alert);
    for (const alert of ['QingyuDeploymentReplicasMismatch', 'QingyuStatefulSetReplicasMismatch', 'QingyuPodCrashLooping']) expect(stackAlerts).toContain(alert);
  });
});

describe('alerts', () => {
  const rules = alertsOf(prod.objects);
  const byName = (name: string) => rules.filter((r) => r.alert === name);

  test.each([
    ['QingyuMongoDBNoPrimary', 'critical', 'mongodb_mongod_replset_my_state'],
    ['QingyuMongoDBReplicaSetMemberUnhealthy', 'warning', 'mongodb_mongod_replset_member_health'],
    ['QingyuRedisDown', 'critical', 'redis_up'],
    ['QingyuRedisMemoryNearLimit', 'warning', 'redis_memory_max_bytes'],
    ['QingyuEtcdNoLeader', 'critical', 'etcd_server_has_leader'],
    ['QingyuEtcdDatabaseNearQuota', 'warning', 'etcd_server_quota_backend_bytes'],
    ['QingyuApiHighErrorRate', 'critical', 'status=~"5.."'],
    ['QingyuApiHighLatency', 'warning', 'http_request_duration_seconds_bucket'],
  ])('%s is %s and uses %s', (name, severity, fragment) => {
    expect(byName(name)).toHaveLength(1);
    expect(byName(name)[0].labels.severity).toBe(severity);
    expect(byName(name)[0].expr).toContain(fragment);
  });

  test('are scoped to the platform namespace', () => {
    for (const rule of rules) {
      expect(rule.labels.namespace).toBe('qingyu');
      if (!rule.expr.startsWith('absent(') && rule.alert !== 'Watchdog') expect(rule.expr).toContain('namespace="qingyu"');
    }
  });
});
