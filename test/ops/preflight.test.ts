import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { synthesize } from '../support/synth';
import { FakeCluster, FIXTURE_RELEASE, lib, ROOT, verdicts } from './fixtures/fake-cluster';

// Preflight verdicts, decided without a cluster: the pure functions directly, the checks
// through the fake kubectl answering for a cluster that `healthy()` makes ready and each test
// then breaks in one way.

describe('context guard', () => {
  const guard = (env: string, context: string, force = false) =>
    verdicts(lib(`qy_context_verdict ${env} '${context}' ${force}`).stdout)[0];

  test.each([
    ['production', 'gke_qingyu_asia-east2_prod', 'PASS'],
    ['production', 'arn:aws:eks:ap-east-1:1234:cluster/qingyu-production', 'PASS'],
    ['production', 'qingyu-staging', 'FAIL'],
    ['production', 'preprod', 'FAIL'],
    ['production', 'kind-qingyu', 'FAIL'],
    ['staging', 'qingyu-staging', 'PASS'],
    ['staging', 'qingyu-prod', 'FAIL'],
    ['staging', 'preprod', 'WARN'],
    ['development', 'kind-qingyu', 'PASS'],
    ['development', 'prod-cluster', 'FAIL'],
  ])('%s to context %s is %s', (env, context, status) => {
    expect(guard(env, context).status).toBe(status);
  });

  test('refuses production to a context that does not say prod, naming the way out', () => {
    const v = guard('production', 'qingyu-staging');
    expect(v.message).toContain("refusing to deploy production to context 'qingyu-staging'");
    expect(v.fix).toContain('--force-context');
  });

  test('--force-context turns the refusal into a warning', () => {
    expect(guard('production', 'qingyu-staging', true).status).toBe('WARN');
    expect(guard('staging', 'qingyu-prod', true).status).toBe('WARN');
  });

  test('fails when no context is selected', () => {
    expect(guard('staging', '').status).toBe('FAIL');
  });
});

describe('API server version', () => {
  test.each([
    ['v1.26.15', 'FAIL'],
    ['v1.27.0', 'PASS'],
    ['v1.30.4-eks-a737599', 'PASS'],
    ['v1.36.2', 'PASS'],
    ['v1.37.0', 'FAIL'],
    ['v2.0.0', 'FAIL'],
    ['garbage', 'FAIL'],
  ])('%s is %s (supported: 1.27 <= v < 1.37)', (version, status) => {
    expect(verdicts(lib(`qy_server_version_verdict '${version}'`).stdout)[0].status).toBe(status);
  });
});

describe('preflight against a cluster', () => {
  let cluster: FakeCluster;
  let facts: string;

  beforeAll(() => {
    const dir = new FakeCluster();
    facts = join(dir.dir, 'facts.tsv');
    const r = spawnSync('node', [join(ROOT, 'scripts/lib/manifests.mjs'), 'facts', join(FIXTURE_RELEASE, 'dist')], { encoding: 'utf8' });
    writeFileSync(facts, r.stdout);
    cluster = dir;
  });
  afterAll(() => cluster.cleanup());
  beforeEach(() => {
    cluster.remove('secrets');
    cluster.healthy();
  });

  const preflight = (env = 'production') => {
    const r = cluster.bash(
      `QY_ENV=${env} QY_NAMESPACE=qingyu QY_FACTS='${facts}' QY_CONTEXT=$(cat "$FAKE_KUBE/context"); qy_preflight_verdicts`,
    );
    expect(r.stderr).not.toContain('unhandled call');
    return verdicts(r.stdout);
  };
  const failures = (env?: string) => preflight(env).filter((v) => v.status === 'FAIL');

  test('passes a ready cluster, having checked every kind of prerequisite', () => {
    const all = preflight();
    expect(all.filter((v) => v.status === 'FAIL')).toEqual([]);
    expect(new Set(all.map((v) => v.check))).toEqual(
      new Set(['context', 'server version', 'CRDs', 'ingress', 'metrics-server', 'storage', 'secrets']),
    );
  });

  test('names a missing CRD and how to install it', () => {
    cluster.set('crds', 'gateway.networking.k8s.io\tHTTPRoute\tv1,\tTrue\n');
    const crds = failures().filter((v) => v.check === 'CRDs');
    expect(crds.map((v) => v.message)).toEqual([
      'Prometheus.monitoring.coreos.com is not installed (the manifests use monitoring.coreos.com/v1 Prometheus)',
      'ServiceMonitor.monitoring.coreos.com is not installed (the manifests use monitoring.coreos.com/v1 ServiceMonitor)',
    ]);
    for (const f of crds) expect(f.fix).toContain('prometheus-operator');
  });

  test('fails on a CRD that is not Established or does not serve the version', () => {
    const prometheus = 'monitoring.coreos.com\tPrometheus\tv1,\tTrue\n';
    cluster.set('crds', `${prometheus}monitoring.coreos.com\tServiceMonitor\tv1,\tFalse\n`);
    expect(failures().map((v) => v.message)).toEqual(['ServiceMonitor.monitoring.coreos.com is installed but not Established']);
    cluster.set('crds', `${prometheus}monitoring.coreos.com\tServiceMonitor\tv1alpha1,\tTrue\n`);
    expect(failures().map((v) => v.message)).toEqual(['ServiceMonitor.monitoring.coreos.com does not serve v1 (served: v1alpha1)']);
  });

  test('names a Secret that lacks a key, with the command that adds it', () => {
    cluster.secret('go-backend-secrets', { other: 'x' });
    const [f] = failures();
    expect(f.message).toBe('Secret go-backend-secrets lacks key(s): jwt-secret');
    expect(f.fix).toBe('scripts/create-secrets.sh --env production (adds missing keys, keeps existing values)');
  });

  test('names a missing Secret with create-secrets.sh, a missing TLS Secret with kubectl create secret tls', () => {
    cluster.remove('secrets/mongodb-keyfile').remove('secrets/api-qingyu-tls');
    const f = failures();
    expect(f.map((v) => v.message)).toEqual([
      'Secret mongodb-keyfile does not exist (keys needed: keyfile)',
      'Secret api-qingyu-tls does not exist (keys needed: tls.crt tls.key)',
    ]);
    expect(f[0].fix).toBe('scripts/create-secrets.sh --env production');
    expect(f[1].fix).toBe('kubectl create secret tls api-qingyu-tls -n qingyu --cert=<path>/tls.crt --key=<path>/tls.key');
  });

  test('refuses production on a context whose name does not say prod', () => {
    cluster.set('context', 'qingyu-staging');
    expect(failures().map((v) => v.check)).toEqual(['context']);
  });

  test('refuses an API server outside the supported range', () => {
    cluster.set('version', 'v1.25.16');
    expect(failures().map((v) => v.message)).toEqual([expect.stringContaining('v1.25.16 is outside the supported range')]);
  });

  test('fails without a default StorageClass when a claim names none, and on a missing named class', () => {
    cluster.set('storageclasses', 'standard\t\n');
    // The operator's Prometheus claims its volume with the default class, which is missing here.
    expect(failures().map((f) => f.message)).toEqual([
      'no default StorageClass, and Prometheus/platform (storage) name no class',
      "StorageClass 'fast-ssd' (used by StatefulSet/mongodb (data)) does not exist",
    ]);
    const uses = '-\tStatefulSet/redis (data)\n';
    const v = verdicts(lib(`qy_storage_verdicts $'${uses.replace(/\t/g, '\\t').replace(/\n/g, '\\n')}' $'standard\\t\\n'`).stdout);
    expect(v[0].status).toBe('FAIL');
    expect(v[0].message).toContain('no default StorageClass');
  });

  test('fails when metrics-server is missing and the manifests have HPAs (a warning in development)', () => {
    cluster.remove('metrics');
    expect(failures()[0].message).toContain('metrics-server is not installed: the HPAs (go-backend) could never scale');
    expect(preflight('development').find((v) => v.check === 'metrics-server')?.status).toBe('WARN');
  });

  test('fails when the ingress class is missing', () => {
    cluster.set('ingressclasses', 'traefik\n');
    expect(failures()[0].message).toBe("IngressClass 'nginx' of Ingress api does not exist");
  });
});

describe('alert routing in kube-prometheus-stack mode', () => {
  let cluster: FakeCluster;
  let facts: string;
  const stack = synthesize('production with gateway and kube-prometheus-stack');
  const configLabels = stack.objects.find((o) => o.kind === 'AlertmanagerConfig')!.metadata.labels!;

  beforeAll(() => {
    cluster = new FakeCluster();
    const dist = join(cluster.dir, 'dist');
    mkdirSync(dist);
    for (const f of stack.files) writeFileSync(join(dist, f.name), f.yaml);
    facts = join(cluster.dir, 'facts.tsv');
    writeFileSync(facts, spawnSync('node', [join(ROOT, 'scripts/lib/manifests.mjs'), 'facts', dist], { encoding: 'utf8' }).stdout);
    cluster.healthy();
    cluster.set('namespace.json', JSON.stringify({ metadata: { name: 'qingyu', labels: { 'kubernetes.io/metadata.name': 'qingyu' } } }));
  });
  afterAll(() => cluster.cleanup());

  const routing = () => {
    const r = cluster.bash(`QY_ENV=production QY_NAMESPACE=qingyu QY_FACTS='${facts}'; qy_check_alert_routing`);
    expect(r.stderr).not.toContain('unhandled call');
    return verdicts(r.stdout).map((v) => `${v.status} ${v.message}`);
  };
  const alertmanager = (spec: Record<string, unknown>) =>
    JSON.stringify({ items: [{ metadata: { name: 'kube-prometheus-stack-alertmanager', namespace: 'monitoring' }, spec }] });

  test('passes when the stack\'s Alertmanager selects the AlertmanagerConfig', () => {
    cluster.set('alertmanagers', alertmanager({ alertmanagerConfigSelector: { matchLabels: configLabels }, alertmanagerConfigNamespaceSelector: {} }));
    expect(routing()).toEqual(['PASS Alertmanager monitoring/kube-prometheus-stack-alertmanager loads AlertmanagerConfig qingyu']);
  });

  test.each([
    ['selects other labels', { alertmanagerConfigSelector: { matchLabels: { team: 'infra' } }, alertmanagerConfigNamespaceSelector: {} }, 'does not match the labels'],
    ['has no selector', {}, 'has no alertmanagerConfigSelector'],
    ['reads only its own namespace', { alertmanagerConfigSelector: {} }, 'reads only its own namespace monitoring'],
    ['selects other namespaces', { alertmanagerConfigSelector: {}, alertmanagerConfigNamespaceSelector: { matchLabels: { alerts: 'on' } } }, 'does not match namespace qingyu'],
  ])('warns, with the reason, when the stack\'s Alertmanager %s', (_case, spec, why) => {
    cluster.set('alertmanagers', alertmanager(spec));
    const [verdict] = routing();
    expect(verdict).toMatch(/^WARN Alertmanager monitoring\/kube-prometheus-stack-alertmanager ignores AlertmanagerConfig qingyu: /);
    expect(verdict).toContain(why);
  });

  test('warns when no Alertmanager runs at all', () => {
    cluster.remove('alertmanagers');
    expect(routing()).toEqual(['WARN no Alertmanager runs in the cluster: the platform\'s alerts fire but reach nobody']);
  });
});
