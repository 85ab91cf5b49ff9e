import { TIER_LABEL } from '../../lib/manifest';
import { ALL_OUTPUTS, container, find, K8sObject, ofKind, podSpec, synthesize } from '../support/synth';

const prod = synthesize('production');
const dev = synthesize('development');
const appsFile = (env = prod) => env.files.find((f) => f.name.endsWith('-apps.k8s.yaml'))!;

function envOf(workload: K8sObject, name: string): Record<string, any> {
  return Object.fromEntries(container(workload, name).env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
}

function setting(objects: K8sObject[], app: string, key: string): string {
  return find(objects, 'ConfigMap', `${app}-config`).data[key];
}

test('the apps chart matches its snapshot', () => {
  expect(appsFile().yaml).toMatchSnapshot();
});

describe.each(['go-backend', 'python-ai'])('%s', (name) => {
  const deployment = find(prod.objects, 'Deployment', name);
  const c = container(deployment, name);

  test('leaves the replica count to its HPA: no spec.replicas, minReplicas is the environment count', () => {
    expect(deployment.spec.replicas).toBeUndefined();
    const hpa = find(prod.objects, 'HorizontalPodAutoscaler', name);
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name });
    expect(hpa.spec.minReplicas).toBe(3);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(3);
    expect(find(synthesize('staging').objects, 'HorizontalPodAutoscaler', name).spec.minReplicas).toBe(2);
    expect(find(dev.objects, 'HorizontalPodAutoscaler', name).spec.minReplicas).toBe(1);
  });

  test('scales on CPU utilisation and scales down calmly, one pod at a time', () => {
    const hpa = find(prod.objects, 'HorizontalPodAutoscaler', name);
    expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
    expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThanOrEqual(300);
    expect(hpa.spec.behavior.scaleDown.policies).toEqual([{ type: 'Pods', value: 1, periodSeconds: 120 }]);
  });

  test('rolls out with zero unavailable pods and keeps history for rollbacks', () => {
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expect(deployment.spec.revisionHistoryLimit).toBe(10);
  });

  test('probes GET /health on the http port: readiness, a more patient liveness, and a startup probe', () => {
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
      expect(probe.httpGet).toEqual({ path: '/health', port: 'http' });
    }
    const patience = (p: any) => p.failureThreshold * p.periodSeconds;
    expect(patience(c.livenessProbe)).toBeGreaterThan(patience(c.readinessProbe));
    expect(c.livenessProbe).not.toEqual(c.readinessProbe);
  });

  test('runs restricted: non-root, read-only root with /tmp as emptyDir, no capabilities, RuntimeDefault seccomp, no token', () => {
    const spec = podSpec(deployment);
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    expect(spec.volumes).toContainEqual(expect.objectContaining({ name: 'tmp', emptyDir: expect.any(Object) }));
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.serviceAccountName).toBe(name);
    expect(find(prod.objects, 'ServiceAccount', name).automountServiceAccountToken).toBe(false);
  });

  test('spreads replicas over nodes (hard) and zones (soft)', () => {
    const tsc = podSpec(deployment).topologySpreadConstraints;
    expect(tsc.map((t: any) => [t.topologyKey, t.whenUnsatisfiable])).toEqual([
      ['kubernetes.io/hostname', 'DoNotSchedule'],
      ['topology.kubernetes.io/zone', 'ScheduleAnyway'],
    ]);
    expect(tsc[0].labelSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
  });

  test('has a PodDisruptionBudget that lets one pod go at a time', () => {
    const pdb = find(prod.objects, 'PodDisruptionBudget', name);
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: deployment.spec.selector, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
  });

  test('drains gracefully: a preStop pause well inside the grace period', () => {
    expect(c.lifecycle.preStop.exec.command).toEqual(['sleep', '10']);
    expect(podSpec(deployment).terminationGracePeriodSeconds).toBeGreaterThan(10);
  });

  test('is scraped on /metrics of its http port', () => {
    const sm = find(prod.objects, 'ServiceMonitor', name);
    expect(sm.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
  });

  test('runs a pinned image and follows QINGYU_IMAGE_TAG, digests included', () => {
    expect(c.image).toBe(`ghcr.io/qingyu-platform/${name}:v1.0.0`);
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    const pinned = find(synthesize({ QINGYU_IMAGE_TAG: digest }).objects, 'Deployment', name);
    expect(container(pinned, name).image).toBe(`ghcr.io/qingyu-platform/${name}@${digest}`);
    expect(pinned.metadata.labels?.['app.kubernetes.io/version']).toBe('sha256-0123456789ab');
  });
});

describe('go-backend', () => {
  const deployment = find(prod.objects, 'Deployment', 'go-backend');

  test('serves http on 8080 through a ClusterIP Service of the same name', () => {
    expect(container(deployment, 'go-backend').ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    const svc = find(prod.objects, 'Service', 'go-backend');
    expect(svc.spec.type).toBe('ClusterIP');
    expect(svc.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
  });

  test('gets every variable of the design, settings from its ConfigMap and secrets from Secrets', () => {
    const cm = { configMapKeyRef: expect.objectContaining({ name: 'go-backend-config' }) };
    expect(envOf(deployment, 'go-backend')).toEqual({
      APP_ENV: cm,
      TZ: cm,
      MONGODB_URI: cm,
      MONGODB_USERNAME: cm,
      MONGODB_PASSWORD: { secretKeyRef: { name: 'mongodb-go-backend', key: 'password' } },
      REDIS_ADDR: cm,
      REDIS_USERNAME: cm,
      REDIS_PASSWORD: { secretKeyRef: { name: 'redis-go-backend', key: 'password' } },
      AI_SERVICE_URL: cm,
      PROMETHEUS_ADDR: cm,
      JWT_SECRET: { secretKeyRef: { name: 'go-backend-secrets', key: 'jwt-secret' } },
    });
    expect(setting(prod.objects, 'go-backend', 'APP_ENV')).toBe('production');
    expect(setting(prod.objects, 'go-backend', 'TZ')).toBe('Asia/Shanghai');
    expect(setting(prod.objects, 'go-backend', 'REDIS_ADDR')).toBe('redis.qingyu.svc.cluster.local:6379');
  });

  test('names all three replica-set members and rs0 in MONGODB_URI, without credentials', () => {
    expect(setting(prod.objects, 'go-backend', 'MONGODB_URI')).toBe(
      'mongodb://mongodb-0.mongodb-headless.qingyu.svc.cluster.local:27017,mongodb-1.mongodb-headless.qingyu.svc.cluster.local:27017,' +
        'mongodb-2.mongodb-headless.qingyu.svc.cluster.local:27017/qingyu?replicaSet=rs0&authSource=admin',
    );
    expect(setting(dev.objects, 'go-backend', 'MONGODB_URI')).toBe(
      'mongodb://mongodb-0.mongodb-headless.qingyu-dev.svc.cluster.local:27017/qingyu?replicaSet=rs0&authSource=admin',
    );
  });

  test('calls python-ai over gRPC through the headless Service, resolving every pod', () => {
    expect(setting(prod.objects, 'go-backend', 'AI_SERVICE_URL')).toBe('dns:///python-ai-grpc.qingyu.svc.cluster.local:50051');
    const headless = find(prod.objects, 'Service', 'python-ai-grpc');
    expect(headless.spec.clusterIP).toBe('None');
    expect(headless.spec.ports).toEqual([{ name: 'grpc', port: 50051, targetPort: 'grpc', protocol: 'TCP' }]);
    expect(headless.spec.selector).toEqual(find(prod.objects, 'Deployment', 'python-ai').spec.selector.matchLabels);
  });

  test('rolls its pods when a setting changes', () => {
    const a = find(prod.objects, 'Deployment', 'go-backend').spec.template.metadata.annotations['qingyu.io/config-checksum'];
    const b = find(synthesize('staging').objects, 'Deployment', 'go-backend').spec.template.metadata.annotations['qingyu.io/config-checksum'];
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(a).not.toBe(b);
  });
});

describe('python-ai', () => {
  const deployment = find(prod.objects, 'Deployment', 'python-ai');
  const c = container(deployment, 'python-ai');

  test('serves http on 8081 and grpc on 50051, both on its Service', () => {
    expect(c.ports).toEqual([
      { name: 'http', containerPort: 8081, protocol: 'TCP' },
      { name: 'grpc', containerPort: 50051, protocol: 'TCP' },
    ]);
    expect(find(prod.objects, 'Service', 'python-ai').spec.ports.map((p: any) => [p.name, p.port])).toEqual([['http', 8081], ['grpc', 50051]]);
  });

  test("has the design's limits (2 CPU, 4Gi) and requests that leave room to schedule", () => {
    expect(c.resources.limits).toMatchObject({ cpu: '2000m', memory: '4096Mi' });
    expect(c.resources.requests).toMatchObject({ cpu: '500m', memory: '2048Mi' });
  });

  test('gets every variable it needs, with the full replica-set URI the design lacked', () => {
    const cm = { configMapKeyRef: expect.objectContaining({ name: 'python-ai-config' }) };
    expect(envOf(deployment, 'python-ai')).toEqual({
      APP_ENV: cm,
      TZ: cm,
      MONGODB_URI: cm,
      MONGODB_USERNAME: cm,
      MONGODB_PASSWORD: { secretKeyRef: { name: 'mongodb-python-ai', key: 'password' } },
      MILVUS_HOST: cm,
      MILVUS_PORT: cm,
      MILVUS_USERNAME: cm,
      MILVUS_PASSWORD: { secretKeyRef: { name: 'milvus-python-ai', key: 'password' } },
      REDIS_URL: cm,
      REDIS_USERNAME: cm,
      REDIS_PASSWORD: { secretKeyRef: { name: 'redis-python-ai', key: 'password' } },
      GO_API_URL: cm,
      OPENAI_API_KEY: { secretKeyRef: { name: 'python-ai-secrets', key: 'openai-api-key' } },
    });
    expect(setting(prod.objects, 'python-ai', 'MONGODB_URI')).toBe(setting(prod.objects, 'go-backend', 'MONGODB_URI'));
    expect(setting(prod.objects, 'python-ai', 'MILVUS_HOST')).toBe('milvus.qingyu.svc.cluster.local');
    expect(setting(prod.objects, 'python-ai', 'MILVUS_PORT')).toBe('19530');
    expect(setting(prod.objects, 'python-ai', 'MILVUS_USERNAME')).toBe('python_ai');
    expect(setting(prod.objects, 'python-ai', 'REDIS_URL')).toBe('redis://redis.qingyu.svc.cluster.local:6379/0');
    expect(setting(prod.objects, 'python-ai', 'GO_API_URL')).toBe('http://go-backend.qingyu.svc.cluster.local:8080');
  });

  test('lets SSE streams finish: a long grace period, a slow scale-down and a patient startup probe', () => {
    expect(podSpec(deployment).terminationGracePeriodSeconds).toBeGreaterThanOrEqual(300);
    expect(find(prod.objects, 'HorizontalPodAutoscaler', 'python-ai').spec.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThanOrEqual(600);
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(300);
  });
});

test('no environment variable carries a literal secret or credentials in a URL', () => {
  for (const env of [prod, dev]) {
    for (const cm of ofKind(env.objects, 'ConfigMap')) {
      for (const [key, value] of Object.entries<string>(cm.data ?? {})) {
        expect(`${key}=${value}`).not.toMatch(/:\/\/[^/\s:@]+:[^/\s@]+@/);
      }
    }
  }
});

test.each(ALL_OUTPUTS)('%s: no two apps read the same Secret (each store user, each key is one app\'s own)', (output) => {
  const readers = new Map<string, string[]>();
  for (const d of ofKind(synthesize(output).objects, 'Deployment').filter((o) => o.metadata.labels?.[TIER_LABEL] === 'app')) {
    const spec = podSpec(d);
    const secrets = new Set<string>([
      ...[...(spec.initContainers ?? []), ...spec.containers].flatMap((c: any) => [
        ...(c.env ?? []).map((e: any) => e.valueFrom?.secretKeyRef?.name),
        ...(c.envFrom ?? []).map((e: any) => e.secretRef?.name),
      ]),
      ...(spec.volumes ?? []).flatMap((v: any) => [v.secret?.secretName, ...(v.projected?.sources ?? []).map((s: any) => s.secret?.name)]),
    ].filter((n): n is string => !!n));
    for (const secret of secrets) readers.set(secret, [...(readers.get(secret) ?? []), d.metadata.name]);
  }
  expect(readers.size).toBeGreaterThan(4);
  expect([...readers].filter(([, apps]) => apps.length > 1)).toEqual([]);
});
