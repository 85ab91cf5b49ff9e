import { FakeCluster } from './fixtures/fake-cluster';

// The options the operations scripts share are parsed in one place (scripts/lib/common.sh,
// scripts/lib/apply.sh): every script refuses the same way, before touching the cluster.

let cluster: FakeCluster;
beforeEach(() => {
  cluster = new FakeCluster().healthy();
});
afterEach(() => cluster.cleanup());

describe.each(['deploy.sh', 'rollback.sh', 'create-secrets.sh'])('%s', (script) => {
  test.each([
    [['--bogus'], "unknown argument '--bogus'"],
    [['--env'], '--env needs a value'],
    [['--context', '--yes'], '--context needs a value'],
  ])('refuses %j with exit 2 and calls no kubectl', (args, message) => {
    const r = cluster.run(script, args);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(cluster.calls()).toEqual([]);
  });
});

describe.each(['deploy.sh', 'rollback.sh'])('%s', (script) => {
  test.each([['--timeout', '5x'], ['--timeout=5x']])('refuses the malformed duration %s', (...args) => {
    const r = cluster.run(script, ['--env', 'production', ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--timeout: expected a duration like 600s, 10m or 1h, got '5x'");
    expect(cluster.calls()).toEqual([]);
  });
});
