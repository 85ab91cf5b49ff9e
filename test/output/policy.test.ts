import { EnvironmentName } from '../../config';
import { EXCEPTIONS } from '../../policy/exceptions';
import { evaluate, exceptionMatcher, K8sObject, PolicyException, RULES } from '../../policy/rules';
import { ALL_ENVIRONMENTS, ALL_OUTPUTS, synthesize } from '../support/synth';

const labels = (name: string) => ({
  'app.kubernetes.io/name': name,
  'app.kubernetes.io/instance': 'qingyu',
  'app.kubernetes.io/component': 'api',
  'app.kubernetes.io/part-of': 'qingyu',
  'app.kubernetes.io/managed-by': 'cdk8s',
  'app.kubernetes.io/version': 'v1',
});
const selector = { 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/instance': 'qingyu' };
const meta = (kind: string, name = 'web') => ({ name, namespace: 'qingyu', labels: labels(kind === 'Namespace' ? 'ns' : 'web') });
const probe = (period: number) => ({ httpGet: { path: '/health', port: 'http' }, periodSeconds: period });

/** A small platform that passes every rule; each test breaks one thing. */
function goodObjects(): K8sObject[] {
  const resources = { cpu: '100m', memory: '64Mi', 'ephemeral-storage': '64Mi' };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'qingyu', labels: labels('ns') } },
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta('NetworkPolicy', 'default-deny'), spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('ServiceAccount'), automountServiceAccountToken: false },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta('Deployment'),
      spec: {
        selector: { matchLabels: selector },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: { labels: { ...selector } },
          spec: {
            serviceAccountName: 'web',
            automountServiceAccountToken: false,
            securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
            topologySpreadConstraints: [{ topologyKey: 'kubernetes.io/hostname', maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' }],
            affinity: { podAntiAffinity: {} },
            containers: [{
              name: 'web', image: 'example/web:v1', ports: [{ name: 'http', containerPort: 8080 }],
              env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
              resources: { requests: resources, limits: resources },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              readinessProbe: probe(5), livenessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 10 },
            }],
            volumes: [{ name: 'tmp', emptyDir: {} }],
          },
        },
      },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: meta('Service'), spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: 8080 }] } },
    { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: meta('HPA'), spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 4 } },
    { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: meta('PDB'), spec: { maxUnavailable: 1, selector: { matchLabels: selector }, unhealthyPodEvictionPolicy: 'AlwaysAllow' } },
    { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: meta('Ingress'), spec: { tls: [{ hosts: ['a'], secretName: 't' }], rules: [] } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta('Role'), rules: [{ apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch'] }] },
  ];
}

type Mutation = (objects: K8sObject[]) => void;
const deployment = (o: K8sObject[]) => o.find((x) => x.kind === 'Deployment')!;
const pod = (o: K8sObject[]) => deployment(o).spec.template.spec;
const main = (o: K8sObject[]) => pod(o).containers[0];
const without = (kind: string): Mutation => (o) => o.splice(o.findIndex((x) => x.kind === kind), 1);

const BREAKAGES: Record<string, Array<[string, Mutation]>> = {
  'run-as-non-root': [['runAsNonRoot unset', (o) => delete pod(o).securityContext.runAsNonRoot], ['runAsUser 0', (o) => (main(o).securityContext.runAsUser = 0)]],
  'no-privilege-escalation': [['escalation allowed', (o) => (main(o).securityContext.allowPrivilegeEscalation = true)], ['privileged', (o) => (main(o).securityContext.privileged = true)]],
  'drop-all-capabilities': [['nothing dropped', (o) => delete main(o).securityContext.capabilities], ['NET_RAW added', (o) => (main(o).securityContext.capabilities.add = ['NET_RAW'])]],
  'seccomp-runtime-default': [['Unconfined', (o) => (pod(o).securityContext.seccompProfile = { type: 'Unconfined' })]],
  'read-only-root-filesystem': [['writable root', (o) => (main(o).securityContext.readOnlyRootFilesystem = false)]],
  'restricted-volume-types': [['hostPath', (o) => pod(o).volumes.push({ name: 'host', hostPath: { path: '/var/run' } })]],
  'no-host-access': [['hostNetwork', (o) => (pod(o).hostNetwork = true)], ['hostPort', (o) => (main(o).ports[0].hostPort = 80)]],
  'resources': [['no memory limit', (o) => delete main(o).resources.limits.memory], ['no ephemeral-storage request', (o) => delete main(o).resources.requests['ephemeral-storage']]],
  'probes': [['no readiness', (o) => delete main(o).readinessProbe], ['probes testing the same endpoint', (o) => (main(o).livenessProbe = probe(20))]],
  'pinned-images': [['latest', (o) => (main(o).image = 'example/web:latest')], ['no tag', (o) => (main(o).image = 'example/web')]],
  'service-account-token': [['default SA', (o) => delete pod(o).serviceAccountName], ['token mounted', (o) => delete pod(o).automountServiceAccountToken]],
  'no-secret-literals': [
    ['literal password', (o) => main(o).env.push({ name: 'DB_PASSWORD', value: 'hunter2' })],
    ['credentials in a URL', (o) => main(o).env.push({ name: 'DB_URI', value: 'mongodb://app:hunter2@db:27017' })],
    ['a Secret in the output', (o) => o.push({ apiVersion: 'v1', kind: 'Secret', metadata: meta('Secret'), data: {} })],
  ],
  'recommended-labels': [['missing version label', (o) => delete deployment(o).metadata.labels!['app.kubernetes.io/version']]],
  'explicit-namespace': [['no namespace', (o) => delete deployment(o).metadata.namespace], ['default namespace', (o) => (deployment(o).metadata.namespace = 'default')]],
  'hpa-owns-replicas': [['fixed replicas under an HPA', (o) => (deployment(o).spec.replicas = 3)], ['max = min', (o) => (o.find((x) => x.kind === 'HorizontalPodAutoscaler')!.spec.maxReplicas = 2)]],
  'disruption-budget': [['no PDB', without('PodDisruptionBudget')], ['maxUnavailable 0', (o) => (o.find((x) => x.kind === 'PodDisruptionBudget')!.spec.maxUnavailable = 0)]],
  'spread-replicas': [['no spread', (o) => delete pod(o).topologySpreadConstraints]],
  'zero-downtime-rollout': [['Recreate', (o) => (deployment(o).spec.strategy = { type: 'Recreate' })]],
  'selectors-resolve': [['Service selects nothing', (o) => (o.find((x) => x.kind === 'Service')!.spec.selector = { 'app.kubernetes.io/name': 'nope' })]],
  'ports-and-env-resolve': [
    ['a probe on an undeclared port', (o) => (main(o).readinessProbe.httpGet.port = 'admin')],
    ['an env variable set twice', (o) => main(o).env.push({ name: 'LOG_LEVEL', value: 'info' }, { name: 'LOG_LEVEL', value: 'debug' })],
    ['a Service targeting an undeclared port', (o) => (o.find((x) => x.kind === 'Service')!.spec.ports[0].targetPort = 'metrics')],
  ],
  'network-isolation': [['no default deny', without('NetworkPolicy')]],
  'internal-services': [['LoadBalancer', (o) => (o.find((x) => x.kind === 'Service')!.spec.type = 'LoadBalancer')]],
  'ingress-tls-no-snippets': [['no TLS', (o) => delete o.find((x) => x.kind === 'Ingress')!.spec.tls], ['snippet', (o) => (o.find((x) => x.kind === 'Ingress')!.metadata.annotations = { 'nginx.ingress.kubernetes.io/configuration-snippet': 'x' })]],
  'admin-credentials': [
    ['an app reading the MinIO root key', (o) => {
      main(o).env = [...(main(o).env ?? []), { name: 'K', valueFrom: { secretKeyRef: { name: 'minio-root', key: 'root-user' } } }];
    }],
    ['an app projecting the Milvus root password (only Job/milvus-auth-*/auth may)', (o) => {
      pod(o).volumes = [...(pod(o).volumes ?? []), { name: 'root', projected: { sources: [{ secret: { name: 'milvus-root', items: [{ key: 'password', path: 'p' }] } }] } }];
      main(o).volumeMounts = [...(main(o).volumeMounts ?? []), { name: 'root', mountPath: '/r' }];
    }],
    ['an app mounting the MongoDB root Secret', (o) => {
      pod(o).volumes = [...(pod(o).volumes ?? []), { name: 'root', secret: { secretName: 'mongodb-root' } }];
      main(o).volumeMounts = [...(main(o).volumeMounts ?? []), { name: 'root', mountPath: '/r' }];
    }],
  ],
  'least-privilege-rbac': [['reads Secrets', (o) => o.find((x) => x.kind === 'Role')!.rules.push({ apiGroups: [''], resources: ['secrets'], verbs: ['get'] })], ['wildcard', (o) => (o.find((x) => x.kind === 'Role')!.rules[0].verbs = ['*'])]],
};

test('the clean fixture passes every rule', () => {
  expect(evaluate(goodObjects())).toEqual([]);
});

test('every rule has breakage tests', () => {
  expect(Object.keys(BREAKAGES).sort()).toEqual(RULES.map((r) => r.id).sort());
});

describe.each(RULES.map((r) => [r.id, r] as const))('rule %s', (id, rule) => {
  test.each(BREAKAGES[id] ?? [])('fails on %s, naming the object and the fix', (_what, mutate) => {
    const objects = goodObjects();
    mutate(objects);
    const findings = evaluate(objects).filter((f) => f.rule === id);
    expect(findings.length).toBeGreaterThan(0);
    expect(findings[0].object).toMatch(/^[A-Za-z]+(\/[a-z0-9-]+)*$/);
    expect(findings[0].fix).toBe(rule.fix);
  });

  test('can be excepted per object, with a reason', () => {
    const objects = goodObjects();
    (BREAKAGES[id] ?? [])[0]?.[1](objects);
    const hits = evaluate(objects).filter((f) => f.rule === id);
    const excepted = evaluate(objects, hits.map((f) => ({ rule: id, object: f.object, reason: 'test' }))).filter((f) => f.rule === id);
    expect(excepted).toEqual([]);
  });
});

test('the README has a row for every rule', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const readme: string = require('node:fs').readFileSync(require('node:path').join(__dirname, '..', '..', 'README.md'), 'utf8');
  for (const rule of RULES) expect(readme).toContain(`| \`${rule.id}\` | ${rule.protects} |`);
});

test('every exception names a known rule and says why', () => {
  for (const e of EXCEPTIONS) {
    expect(RULES.map((r) => r.id)).toContain(e.rule);
    expect(e.reason.length).toBeGreaterThan(20);
  }
});

test('an exception by kind and labels covers every object that carries them, and no other', () => {
  const objects = goodObjects();
  const web = objects.find((o) => o.kind === 'Deployment')!;
  web.metadata.labels = { ...web.metadata.labels, tier: 'app' };
  const matches = exceptionMatcher(objects);
  const byLabel: PolicyException = { rule: 'probes', kind: 'Deployment', labels: { tier: 'app' }, reason: 'test' };
  expect(matches(byLabel, 'Deployment/web/web')).toBe(true);
  expect(matches({ ...byLabel, labels: { tier: 'data' } }, 'Deployment/web/web')).toBe(false);
  expect(matches({ ...byLabel, kind: 'StatefulSet' }, 'Deployment/web/web')).toBe(false);
  expect(matches({ ...byLabel, labels: {} }, 'Deployment/web/web')).toBe(false);
});

test.each(ALL_OUTPUTS)('%s has zero policy findings beyond the listed exceptions', (output) => {
  expect(evaluate(synthesize(output).objects, EXCEPTIONS).map((f) => `${f.object}: [${f.rule}] ${f.message}`)).toEqual([]);
});

describe.each(ALL_ENVIRONMENTS)('%s output', (env) => {

  test('uses every exception (none is stale)', () => {
    const used = (e: PolicyException, name: EnvironmentName) => {
      const { objects } = synthesize(name);
      const matches = exceptionMatcher(objects);
      return evaluate(objects).some((f) => f.rule === e.rule && matches(e, f.object));
    };
    const unused = EXCEPTIONS.filter((e) => !used(e, env));
    // An exception may apply to one environment only; it must apply to at least one.
    const anyEnv = unused.filter((e) => !ALL_ENVIRONMENTS.some((other) => used(e, other)));
    expect(anyEnv).toEqual([]);
  });
});
