import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { FakeCluster, FIXTURE_RELEASE, ROOT } from './fixtures/fake-cluster';

// scripts/deploy.sh end to end against the fake kubectl, deploying the fixture release.

let cluster: FakeCluster;
beforeEach(() => {
  cluster = new FakeCluster().healthy();
});
afterEach(() => cluster.cleanup());

const deploy = (...args: string[]) =>
  cluster.run('deploy.sh', ['--env', 'production', '--release-dir', FIXTURE_RELEASE, '--yes', '--no-public-check', '--timeout', '1m', ...args]);
const applies = () => cluster.calls().filter((c) => / apply /.test(c) && !c.includes('--dry-run') && !c.includes(' -f -'));

test('after a rollout undo (qingyu.io/drift), diffs and applies with --force-conflicts and says why', () => {
  cluster.set('drift', 'apps rolled back with rollout undo at 2026-11-29T08:00:00Z; release 1 manifests no longer match');
  const r = deploy();
  expect(r.status).toBe(0);
  expect(r.stderr).toContain('the namespace records drift (apps rolled back with rollout undo');
  const diffs = cluster.calls().filter((c) => / diff /.test(c));
  expect(diffs.length).toBeGreaterThan(0);
  for (const call of [...diffs, ...applies()]) expect(call).toContain('--force-conflicts');
  // the diff gets the apply's flags, without pruning
  for (const call of diffs) expect(call).not.toMatch(/--prune|--applyset/);
});

test('without drift, never forces conflicts', () => {
  deploy();
  expect(cluster.calls().filter((c) => c.includes('--force-conflicts'))).toEqual([]);
});

test('applies the never-pruned objects first, then the namespace as an ApplySet with --prune, and records the release', () => {
  const r = deploy();
  expect(r.stderr).not.toContain('unhandled call');
  expect(r.status).toBe(0);
  const [outside, members] = applies();
  expect(outside).toMatch(/^\|.* apply --server-side --field-manager=qingyu-deploy -f \S+\/apply\/outside$/);
  expect(members).toMatch(/^true\|.* apply --server-side --field-manager=qingyu-deploy -n qingyu --prune --applyset=configmaps\/qingyu-applyset -f \S+\/apply\/members$/);
  expect(applies()).toHaveLength(2);

  const record = readFileSync(join(cluster.releases, 'production', '1', 'release.env'), 'utf8');
  expect(record).toMatch(/^env=production$/m);
  expect(record).toMatch(/^tag=v1\.2\.0$/m);
  expect(record).toMatch(/^git_commit=0123456789ab$/m);
  expect(record).toMatch(/^context=gke_qingyu_prod-cluster$/m);
  expect(record).toMatch(/^status=succeeded$/m);
  expect(existsSync(join(cluster.releases, 'production', '1', 'dist', '0002-mongodb.k8s.yaml'))).toBe(true);
  expect(cluster.calls()).toContainEqual(expect.stringContaining('create configmap qingyu-release-1 -n qingyu'));
  expect(cluster.calls()).toContainEqual(expect.stringContaining('annotate namespace qingyu --overwrite qingyu.io/release=1'));

  // every step says what it did and how long it took
  expect(r.stderr).toMatch(/\[2\] Preflight checks[\s\S]*✓ ready \(\d+\.\ds\)/);
  expect(r.stderr).toContain('Release 1 of production is live and healthy');
});

test('stops before changing anything when a preflight check fails, naming the fix', () => {
  cluster.remove('secrets/go-backend-secrets');
  const r = deploy();
  expect(r.status).toBe(3);
  expect(r.stderr).toContain('FAIL secrets         Secret go-backend-secrets does not exist (keys needed: jwt-secret)');
  expect(r.stderr).toContain('fix: scripts/create-secrets.sh --env production');
  expect(applies()).toEqual([]);
  expect(existsSync(join(cluster.releases, 'production'))).toBe(false);
});

test('fails naming the workload whose rollout does not finish, and keeps the release as failed', () => {
  cluster.set('fail-rollout', 'deployment/go-backend');
  const r = deploy();
  expect(r.status).toBe(5);
  expect(r.stderr).toContain('Deployment go-backend did not finish its rollout');
  expect(r.stderr).toContain('scripts/rollback.sh --env production');
  expect(readFileSync(join(cluster.releases, 'production', '1', 'release.env'), 'utf8')).toMatch(/^status=failed$/m);
});

test('waits for the release\'s Jobs, and fails naming a Job that failed', () => {
  expect(deploy().status).toBe(0);
  expect(cluster.calls()).toContainEqual(expect.stringMatching(/get job mongodb-setup-1a2b3c -n qingyu -o go-template=.*conditions/));
  cluster.cleanup();
  cluster = new FakeCluster().healthy();
  cluster.set('fail-job', 'mongodb-setup-');
  const r = deploy();
  expect(r.status).toBe(5);
  expect(r.stderr).toContain('Job mongodb-setup-1a2b3c failed');
  expect(readFileSync(join(cluster.releases, 'production', '1', 'release.env'), 'utf8')).toMatch(/^status=failed$/m);
});

test('fails naming a Service without ready endpoints', () => {
  cluster.set('endpoints', 'mongodb\tRRR\ngo-backend\tNNN\n');
  const r = deploy();
  expect(r.status).toBe(5);
  expect(r.stderr).toContain('FAIL endpoints       Service go-backend has no ready endpoint');
});

test('--check shows the plan, including what pruning would delete, and changes nothing', () => {
  cluster.set('prunes', 'configmap/old-config pruned (server dry run)\n');
  const r = deploy('--check');
  expect(r.status).toBe(0);
  expect(r.stderr).toContain('Objects no longer in the manifests, to be deleted:\n  - configmap/old-config pruned');
  expect(applies()).toEqual([]);
});

test('on a first deploy into a new namespace, lists every object as created instead of diffing', () => {
  cluster.set('no-namespace', '');
  const r = deploy('--check');
  expect(r.status).toBe(0);
  expect(r.stderr).toContain('namespace qingyu does not exist yet: everything will be created:\n    + Namespace qingyu\n');
  expect(r.stderr).toContain('    + StatefulSet mongodb\n');
  expect(cluster.calls().filter((c) => c.includes(' diff '))).toEqual([]);
});

describe('the endpoint wait', () => {
  // qy_wait_endpoints as deploy.sh and rollback.sh call it, `health=$(qy_wait_endpoints)`: the
  // verdicts on stdout, what it waits for on stderr. The pods become ready at the first pause.
  const waitEndpoints = () => {
    const facts = join(cluster.dir, 'facts.tsv');
    writeFileSync(facts, spawnSync('node', [join(ROOT, 'scripts/lib/manifests.mjs'), 'facts', join(FIXTURE_RELEASE, 'dist')], { encoding: 'utf8' }).stdout);
    return cluster.bash(
      `QY_NAMESPACE=qingyu QY_FACTS='${facts}' QY_STEP_START=$(qy_now) QY_DEADLINE=$(($(date +%s) + 60))
      sleep() { printf 'mongodb\tRRR\ngo-backend\tRRR\nprometheus\tRR\n' >"$FAKE_KUBE/endpoints"; }
      qy_wait_endpoints`,
      { QINGYU_ENDPOINT_WAIT: '60' },
    );
  };
  const passes = ['PASS\tendpoints\tService mongodb: 3 ready endpoint(s)\t', 'PASS\tendpoints\tService go-backend: 3 ready endpoint(s)\t', 'PASS\tendpoints\tService prometheus: 2 ready endpoint(s)\t'];

  test('shows on stderr which Services it is still waiting for, and returns only the verdicts', () => {
    cluster.set('endpoints', 'mongodb\tRRR\ngo-backend\tNNN\nprometheus\tNR\n');
    const r = waitEndpoints();
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^ {2}\[\+\d+\.\ds\] waiting for ready endpoints of go-backend \(up to \d+s more\)\n$/);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual([...passes].sort());
  });

  test('prints nothing while waiting when the endpoints are ready at once', () => {
    const r = waitEndpoints();
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual([...passes].sort());
  });
});
