import { AppConfig, checkConfig, loadConfig } from '../../config';
import { TIER_LABEL } from '../../lib/manifest';
import { EXCEPTIONS } from '../../policy/exceptions';
import { evaluate } from '../../policy/rules';
import { K8sObject, synthesizeConfig } from '../support/synth';

// A third application service is a change to config.apps alone: no other unit names the apps.
// The notifier below exists only here; the whole platform is composed with it and must give it
// everything go-backend and python-ai get, wired to the stores it `uses`.

const base = loadConfig({ QINGYU_ENV: 'production' });
const notifier: AppConfig = {
  ...base.apps['go-backend'],
  component: 'notifier',
  image: { repository: 'registry.example.com/qingyu/notifier', tag: 'v1.0.0' },
  ports: { http: 8090 },
  replicas: 2,
  maxReplicas: 4,
  uses: ['mongodb', 'redis'],
};
const out = synthesizeConfig(checkConfig({ ...base, apps: { ...base.apps, notifier } }));
const find = (kind: string, name: string): K8sObject => {
  const o = out.objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name} in the output`);
  return o;
};
const selectorOf = (o: K8sObject) => o.spec.selector.matchLabels as Record<string, string>;
const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  !!selector && Object.entries(selector).every(([k, v]) => labels[k] === v);
const podLabels = () => find('Deployment', 'notifier').spec.template.metadata.labels as Record<string, string>;

test('gets a MongoDB user of its own, which the replica set\'s bootstrap creates from its Secret', () => {
  const bootstrap = find('StatefulSet', 'mongodb').spec.template.spec.containers.find((c: any) => c.name === 'bootstrap');
  expect(bootstrap.env.find((e: any) => e.name === 'USERS').value).toBe('backup:backup,go-backend:app,metrics:metrics,notifier:app,python-ai:app');
  const credentials = find('StatefulSet', 'mongodb').spec.template.spec.volumes.find((v: any) => v.name === 'credentials');
  expect(credentials.projected.sources.map((s: any) => s.secret.name)).toContain('mongodb-notifier');
});

test('has its Deployment, marked as an app, with the default contract of the stores it uses', () => {
  const d = find('Deployment', 'notifier');
  expect(d.metadata.labels![TIER_LABEL]).toBe('app');
  const c = d.spec.template.spec.containers[0];
  expect(c.image).toBe('registry.example.com/qingyu/notifier:v1.0.0');
  const secrets = Object.fromEntries((c.env ?? [])
    .filter((e: any) => e.valueFrom?.secretKeyRef)
    .map((e: any) => [e.name, e.valueFrom.secretKeyRef.name]));
  expect(secrets).toEqual({ MONGODB_PASSWORD: 'mongodb-notifier', REDIS_PASSWORD: 'redis-notifier' });
  const settings = find('ConfigMap', 'notifier-config').data;
  expect(settings).toEqual(expect.objectContaining({ APP_ENV: 'production', TZ: base.timeZone, MONGODB_USERNAME: 'notifier', REDIS_USERNAME: 'notifier' }));
  expect(settings.MONGODB_URI).toMatch(/^mongodb:\/\/mongodb-0\.mongodb-headless\./);
  expect(settings.REDIS_ADDR).toMatch(/^redis\.qingyu\.svc\.cluster\.local:6379$/);
  expect(settings).not.toHaveProperty('MILVUS_HOST');
});

test('has its Service, HPA and PodDisruptionBudget, aimed at its pods', () => {
  const service = find('Service', 'notifier');
  expect(selects(service.spec.selector, podLabels())).toBe(true);
  expect(service.spec.ports).toEqual([expect.objectContaining({ name: 'http', port: 8090 })]);
  const hpa = find('HorizontalPodAutoscaler', 'notifier');
  expect(hpa.spec).toEqual(expect.objectContaining({ minReplicas: 2, maxReplicas: 4, scaleTargetRef: expect.objectContaining({ kind: 'Deployment', name: 'notifier' }) }));
  expect(selects(selectorOf(find('PodDisruptionBudget', 'notifier')), podLabels())).toBe(true);
});

test('is scraped: a ServiceMonitor selects its Service, and its down alert exists', () => {
  const monitors = out.objects.filter((o) => o.kind === 'ServiceMonitor' && selects(selectorOf(o), find('Service', 'notifier').metadata.labels ?? {}));
  expect(monitors.map((m) => m.metadata.name)).toEqual(['notifier']);
  const rules = out.objects.filter((o) => o.kind === 'PrometheusRule').flatMap((r) => r.spec.groups.flatMap((g: any) => g.rules));
  expect(rules.map((r: any) => r.expr)).toContainEqual(expect.stringContaining('job="notifier"'));
});

test('is fenced: its own NetworkPolicies, and the stores it uses admit it on their ports only', () => {
  const ingress = find('NetworkPolicy', 'notifier-ingress');
  const egress = find('NetworkPolicy', 'notifier-egress');
  expect(selects(ingress.spec.podSelector.matchLabels, podLabels())).toBe(true);
  expect(selects(egress.spec.podSelector.matchLabels, podLabels())).toBe(true);
  const admits = (policy: string) => find('NetworkPolicy', policy).spec.ingress
    .filter((rule: any) => (rule.from ?? []).some((peer: any) => selects(peer.podSelector?.matchLabels, podLabels())))
    .flatMap((rule: any) => rule.ports.map((p: any) => p.port));
  expect(admits('mongodb-ingress')).toEqual([27017]);
  expect(admits('redis-ingress')).toEqual([6379]);
  expect(admits('milvus-ingress')).toEqual([]);
  expect(admits('prometheus-ingress')).toEqual([]);
  expect(find('NetworkPolicy', 'prometheus-egress').spec.egress
    .filter((rule: any) => (rule.to ?? []).some((peer: any) => selects(peer.podSelector?.matchLabels, podLabels())))
    .flatMap((rule: any) => rule.ports.map((p: any) => p.port))).toEqual([8090]);
});

test('passes the policy gate with the exceptions as they are, and the quota makes room for it', () => {
  expect(evaluate(out.objects, EXCEPTIONS).map((f) => `${f.object}: [${f.rule}]`)).toEqual([]);
  const quota = out.objects.find((o) => o.kind === 'ResourceQuota')!;
  const without = synthesizeConfig(base).objects.find((o) => o.kind === 'ResourceQuota')!;
  expect(quota.spec.hard['requests.cpu']).not.toEqual(without.spec.hard['requests.cpu']);
});
