import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { FakeCluster, FIXTURE_RELEASE, lib, verdicts } from './fixtures/fake-cluster';

// Which rollback runs and when it is refused: the decisions as pure functions, then
// scripts/rollback.sh end to end against the fake kubectl.

describe('version comparison of data-store images', () => {
  test.each([
    ['7.0.14', '7.0.12', 'gt'],
    ['7.0.12', '7.0.14', 'lt'],
    ['6.0.16', '7.0.14', 'lt'],
    ['v2.3.4', '2.3.4', 'eq'],
    ['v2.3.10', 'v2.3.9', 'gt'],
    ['3.5.5-r2', '3.5.5-r1', 'eq'],
    ['RELEASE.2023-03-21T10-00-00Z', 'RELEASE.2024-01-01T00-00-00Z', 'lt'],
    ['latest-build', '7.0.14', 'unknown'],
  ])('%s vs %s is %s', (a, b, expected) => {
    expect(lib(`qy_compare_versions '${a}' '${b}'`).stdout).toBe(expected);
  });
});

describe('data-store downgrade guard', () => {
  const check = (live: string, target: string, force = false) =>
    verdicts(lib(`qy_datastore_verdicts $'${live}' $'${target}' ${force}`).stdout);

  test('refuses a data store whose version would go down, naming it and the way out', () => {
    const [v] = check('mongodb\\tmongodb=mongo:7.0.14\\texporter=percona/mongodb_exporter:0.40.0', 'mongodb\\tmongodb\\tmongo:6.0.16');
    expect(v.status).toBe('FAIL');
    expect(v.message).toBe('mongodb: mongo:7.0.14 -> mongo:6.0.16 would DOWNGRADE the data store: its files were written by the newer version');
    expect(v.fix).toContain('featureCompatibilityVersion');
    expect(v.fix).toContain('--force-data-downgrade');
  });

  test('allows upgrades, unchanged images and stores not yet running', () => {
    const v = check('redis\\tredis=redis:7.2.4\\nmongodb\\tmongodb=mongo:7.0.14', 'redis\\tredis\\tredis:7.2.5\\nmongodb\\tmongodb\\tmongo:7.0.14\\netcd\\tetcd\\tquay.io/coreos/etcd:v3.5.5');
    expect(v.map((x) => x.status)).toEqual(['PASS', 'PASS', 'PASS']);
  });

  test('refuses what it cannot compare (another repository), unless forced', () => {
    expect(check('mongodb\\tmongodb=mongo:7.0.14', 'mongodb\\tmongodb\\tbitnami/mongodb:7.0.14')[0].status).toBe('FAIL');
    expect(check('mongodb\\tmongodb=mongo:7.0.14', 'mongodb\\tmongodb\\tmongo:6.0.16', true)[0].status).toBe('WARN');
  });
});

describe('rollback choice', () => {
  test('re-applies a release by default and undoes the app rollout with --apps-only', () => {
    expect(lib('qy_rollback_mode false ""').stdout).toBe('reapply');
    expect(lib('qy_rollback_mode false 4').stdout).toBe('reapply');
    expect(lib('qy_rollback_mode true ""').stdout).toBe('undo');
  });

  test('refuses --apps-only together with --to', () => {
    const r = lib('qy_rollback_mode true 4');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--apps-only undoes the last rollout');
  });

  test('goes back to the newest successful release before the live one', () => {
    const records = '1\\tsucceeded\\n2\\tsucceeded\\n3\\tfailed\\n4\\tsucceeded\\n5\\trolled-back';
    expect(lib(`qy_previous_release 4 $'${records}'`).stdout.trim()).toBe('2');
    expect(lib(`qy_previous_release 1 $'${records}'`).stdout.trim()).toBe('');
  });
});

describe('scripts/rollback.sh', () => {
  let cluster: FakeCluster;

  /** Release `id` of production on disk: the fixture, with MongoDB at `mongo`. */
  function release(id: number, status: string, mongo: string) {
    const dir = join(cluster.releases, 'production', String(id));
    mkdirSync(dir, { recursive: true });
    cpSync(join(FIXTURE_RELEASE, 'dist'), join(dir, 'dist'), { recursive: true });
    const sts = join(dir, 'dist', '0002-mongodb.k8s.yaml');
    writeFileSync(sts, readFileSync(sts, 'utf8').replace(/mongo:7\.0\.14/g, mongo));
    writeFileSync(join(dir, 'release.env'), `env=production\ntag=v1.${id}.0\ngit_commit=abc${id}\nnamespace=qingyu\nrelease=${id}\nstatus=${status}\n`);
  }

  beforeEach(() => {
    cluster = new FakeCluster().healthy();
    release(1, 'succeeded', 'mongo:6.0.16');
    release(2, 'succeeded', 'mongo:7.0.14');
    release(3, 'failed', 'mongo:7.0.14');
    cluster.set('live-release', '3').set('statefulsets', 'mongodb\tmongodb=mongo:7.0.14\texporter=percona/mongodb_exporter:0.40.0\n');
  });
  afterEach(() => cluster.cleanup());

  const applies = () => cluster.calls().filter((c) => / apply /.test(c) && !c.includes('--dry-run'));

  test('re-applies the previous good release, skipping the failed one', () => {
    const r = cluster.run('rollback.sh', ['--env', 'production', '--yes', '--no-public-check']);
    expect(r.stderr).toContain('release 2 (tag v1.2.0, commit abc2), live is 3');
    expect(r.status).toBe(0);
    expect(applies()).toHaveLength(2);
    expect(applies()[1]).toMatch(/^true\|.* apply --server-side --field-manager=qingyu-deploy -n qingyu --prune --applyset=configmaps\/qingyu-applyset -f /);
    expect(cluster.calls()).toContainEqual(expect.stringContaining('annotate namespace qingyu --overwrite qingyu.io/release=2'));
    expect(readFileSync(join(cluster.releases, 'production', '3', 'release.env'), 'utf8')).toContain('status=rolled-back');
  });

  test('refuses to re-apply a release whose MongoDB is older than the live one, and applies nothing', () => {
    const r = cluster.run('rollback.sh', ['--env', 'production', '--to', '1', '--yes', '--no-public-check']);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('mongodb: mongo:7.0.14 -> mongo:6.0.16 would DOWNGRADE the data store');
    expect(r.stderr).toContain('scripts/rollback.sh --env production --apps-only');
    expect(applies()).toEqual([]);
  });

  test('re-applies the older data store only with --force-data-downgrade', () => {
    const r = cluster.run('rollback.sh', ['--env', 'production', '--to', '1', '--yes', '--no-public-check', '--force-data-downgrade']);
    expect(r.status).toBe(0);
    expect(applies()).toHaveLength(2);
  });

  test('--apps-only undoes the app Deployments and applies no manifest', () => {
    cluster.set('replicasets', '4\tghcr.io/qingyu-platform/go-backend:v1.2.0 \n5\tghcr.io/qingyu-platform/go-backend:v1.3.0 \n');
    const r = cluster.run('rollback.sh', ['--env', 'production', '--apps-only', '--yes']);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('go-backend: revision 5 (ghcr.io/qingyu-platform/go-backend:v1.3.0 ) -> revision 4');
    expect(cluster.calls()).toContainEqual(expect.stringContaining('rollout undo deployment/go-backend -n qingyu'));
    expect(applies()).toEqual([]);
  });

  test('refuses --apps-only with --to before touching the cluster', () => {
    const r = cluster.run('rollback.sh', ['--env', 'production', '--apps-only', '--to', '2']);
    expect(r.status).toBe(2);
    expect(cluster.calls()).toEqual([]);
  });

  test('asks for confirmation, and refuses without a terminal unless --yes', () => {
    const r = cluster.run('rollback.sh', ['--env', 'production', '--no-public-check']);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('pass --yes');
    expect(applies()).toEqual([]);
  });
});
