import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * The replica-set bootstrap without a server: the decisions of charts/mongodb/assets/replica-set.js
 * (required from Node, as mongosh loads it), and the bash scripts run against stubs.
 */

const ASSETS = join(__dirname, '..', '..', 'charts', 'mongodb', 'assets');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { decide, shouldStepDown, ordinalOf, listOf, usersOf, sameRoles } = require(join(ASSETS, 'replica-set.js'));

const host = (i: number) => `mongodb-${i}.mongodb-headless.qingyu.svc.cluster.local:27017`;
const THREE = [0, 1, 2].map(host);
const CLIENTS = ['backup', 'go-backend', 'metrics', 'python-ai'];
const usersWith = (changes: Record<string, string>) => ({ ...Object.fromEntries(CLIENTS.map((c) => [c, 'ok'])), ...changes });

/** A member's view of a healthy, complete three-member set from its primary. */
function primaryState(overrides: Record<string, unknown> = {}) {
  return {
    ordinal: 0,
    self: host(0),
    desiredMembers: THREE,
    resolvableMembers: THREE,
    local: { reachable: true, initialized: true, isPrimary: true, stateName: 'PRIMARY' },
    localhostException: false,
    rootAuthenticated: true,
    configMembers: THREE,
    desiredUsers: CLIENTS,
    users: Object.fromEntries(CLIENTS.map((c) => [c, 'ok'])),
    otherUsers: [],
    ...overrides,
  };
}

/** A member's view before any member has a replica-set config. */
function freshState(ordinal: number, overrides: Record<string, unknown> = {}) {
  return {
    ordinal,
    self: host(ordinal),
    desiredMembers: THREE,
    resolvableMembers: THREE,
    local: { reachable: true, initialized: false, isPrimary: false },
    peers: THREE.filter((_, i) => i !== ordinal).map((h) => ({ host: h, reachable: true, hasConfig: false })),
    ...overrides,
  };
}

describe('decide: forming the set', () => {
  test('member 0 initiates with every member once all resolve and no peer has a config', () => {
    expect(decide(freshState(0))).toMatchObject({ action: 'initiate', members: THREE });
  });

  test('a single-member set (development) initiates at once', () => {
    const state = freshState(0, { desiredMembers: [host(0)], resolvableMembers: [host(0)], peers: [] });
    expect(decide(state)).toMatchObject({ action: 'initiate', members: [host(0)] });
  });

  test('waits while members do not resolve yet, naming them', () => {
    const d = decide(freshState(0, { resolvableMembers: [host(0), host(1)] }));
    expect(d.action).toBe('wait');
    expect(d.reason).toContain(host(2));
  });

  test('members other than 0 never initiate', () => {
    expect(decide(freshState(1)).action).toBe('wait');
    expect(decide(freshState(2)).action).toBe('wait');
  });

  test('member 0 with an empty volume does not initiate a second set when a peer has a config: it rejoins', () => {
    const peers = [{ host: host(1), reachable: true, hasConfig: true }, { host: host(2), reachable: true, hasConfig: true }];
    const d = decide(freshState(0, { peers }));
    expect(d.action).toBe('wait');
    expect(d.reason).toMatch(/already belong to a replica set/);
  });

  test('member 0 does not initiate while a peer cannot be asked (it may hold a config)', () => {
    const peers = [{ host: host(1), reachable: false, hasConfig: false }, { host: host(2), reachable: true, hasConfig: false }];
    expect(decide(freshState(0, { peers }))).toMatchObject({ action: 'wait', reason: expect.stringContaining(host(1)) });
    expect(decide(freshState(0, { peers: undefined })).action).toBe('wait');
  });

  test('waits while the local mongod does not answer', () => {
    expect(decide(freshState(0, { local: { reachable: false } })).action).toBe('wait');
  });
});

describe('decide: an existing set', () => {
  test('does nothing when the set is as desired (running again is safe)', () => {
    const d = decide(primaryState());
    expect(d.action).toBe('none');
    expect(decide(primaryState())).toEqual(d);
  });

  test('secondaries leave membership and users to the primary', () => {
    const state = primaryState({ ordinal: 1, self: host(1), local: { reachable: true, initialized: true, isPrimary: false, stateName: 'SECONDARY' } });
    expect(decide(state)).toMatchObject({ action: 'none', reason: expect.stringContaining('SECONDARY') });
  });

  test('a restarted member that is already in the set does nothing', () => {
    const state = primaryState({ ordinal: 2, self: host(2), local: { reachable: true, initialized: true, isPrimary: false, stateName: 'not PRIMARY or SECONDARY' } });
    expect(decide(state).action).toBe('none');
  });

  test('scale-up: the primary adds the desired members missing from the config', () => {
    const five = [0, 1, 2, 3, 4].map(host);
    const d = decide(primaryState({ desiredMembers: five, resolvableMembers: five }));
    expect(d).toMatchObject({ action: 'add-members', members: [host(3), host(4)] });
  });

  test('scale-up waits for a new member to resolve before adding it', () => {
    const five = [0, 1, 2, 3, 4].map(host);
    const d = decide(primaryState({ desiredMembers: five, resolvableMembers: [...THREE, host(3)] }));
    expect(d).toMatchObject({ action: 'add-members', members: [host(3)] });
    const none = decide(primaryState({ desiredMembers: five, resolvableMembers: THREE }));
    expect(none.action).toBe('none');
    expect(none.reason).toContain(host(4));
  });

  test('never removes members: extras in the config are reported, not removed', () => {
    const d = decide(primaryState({ desiredMembers: [host(0)], resolvableMembers: [host(0)] }));
    expect(d.action).toBe('none');
    expect(d.extras).toEqual([host(1), host(2)]);
    expect(d.reason).toMatch(/rs\.remove\(\)/);
  });
});

describe('decide: users', () => {
  test('creates the root user first, through the localhost exception, right after initiation', () => {
    expect(decide(primaryState({ localhostException: true, rootAuthenticated: false, configMembers: undefined, users: undefined })))
      .toMatchObject({ action: 'create-root' });
  });

  test('then every client user that is missing, as root; one not observed counts as missing', () => {
    expect(decide(primaryState({ users: {} }))).toMatchObject({ action: 'create-users', users: CLIENTS });
    expect(decide(primaryState({ users: usersWith({ 'python-ai': 'missing' }) }))).toMatchObject({ action: 'create-users', users: ['python-ai'] });
    expect(decide(primaryState({ users: usersWith({ metrics: 'missing', 'go-backend': 'password' }) }))).toMatchObject({ action: 'create-users', users: ['metrics'] });
  });

  test('puts back the password or roles of a user that differs from its Secret (a rotation)', () => {
    const d = decide(primaryState({ users: usersWith({ 'go-backend': 'password', backup: 'roles' }) }));
    expect(d).toMatchObject({ action: 'update-users', users: ['backup', 'go-backend'] });
    expect(d.reason).toBe('users differ from their Secrets: backup (roles), go-backend (password)');
  });

  test('reports users nobody is given any more and leaves them (a rollback may still log in as them)', () => {
    const d = decide(primaryState({ otherUsers: ['qingyu'] }));
    expect(d).toMatchObject({ action: 'none', otherUsers: ['qingyu'] });
    expect(d.reason).toMatch(/users nobody is given .*db\.dropUser\(\).*: qingyu$/);
  });

  test('waits, saying why, when the root credentials of the Secret are rejected', () => {
    expect(decide(primaryState({ rootAuthenticated: false }))).toMatchObject({ action: 'wait', reason: expect.stringMatching(/rejected/) });
  });

  test('adds missing members before creating missing users', () => {
    const five = [0, 1, 2, 3, 4].map(host);
    expect(decide(primaryState({ desiredMembers: five, resolvableMembers: five, users: {} })).action).toBe('add-members');
  });

  test('reads USERS as client:role pairs, refusing unknown roles and malformed entries', () => {
    expect(usersOf('backup:backup, go-backend:app')).toEqual([{ client: 'backup', role: 'backup' }, { client: 'go-backend', role: 'app' }]);
    expect(() => usersOf('go-backend:admin')).toThrow("unknown role 'admin' (known: root, app, metrics, backup)");
    expect(() => usersOf('go-backend')).toThrow("USERS entries are client:role, got 'go-backend'");
    expect(sameRoles([{ role: 'read', db: 'local' }, { role: 'clusterMonitor', db: 'admin' }], [{ role: 'clusterMonitor', db: 'admin' }, { role: 'read', db: 'local' }])).toBe(true);
    expect(sameRoles([{ role: 'readWrite', db: 'qingyu' }], [{ role: 'readWrite', db: 'other' }])).toBe(false);
  });
});

describe('helpers', () => {
  test('a primary of a multi-member set steps down before stopping; a single member or a secondary does not', () => {
    expect(shouldStepDown({ isWritablePrimary: true, hosts: THREE })).toBe(true);
    expect(shouldStepDown({ isWritablePrimary: true, hosts: [host(0)] })).toBe(false);
    expect(shouldStepDown({ isWritablePrimary: false, secondary: true, hosts: THREE })).toBe(false);
    expect(shouldStepDown(undefined)).toBe(false);
  });

  test('reads the ordinal from the pod name and lists from comma-separated values', () => {
    expect(ordinalOf('mongodb-12')).toBe(12);
    expect(ordinalOf('mongodb')).toBe(-1);
    expect(listOf(` ${host(0)},${host(1)} ,`)).toEqual([host(0), host(1)]);
  });
});

describe('scripts', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'qingyu-mongodb-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** An executable stub on PATH. */
  function stub(name: string, body: string): void {
    writeFileSync(join(dir, name), `#!/usr/bin/env bash\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
  const PATH = () => `${dir}:${process.env.PATH}`;

  test('install-keyfile.sh writes the key with mode 0400, replacing an earlier copy', () => {
    writeFileSync(join(dir, 'source'), 'c2VjcmV0a2V5IGZvciB0ZXN0cw==\n');
    chmodSync(join(dir, 'source'), 0o440);
    const env = { ...process.env, KEYFILE_SOURCE: join(dir, 'source'), KEYFILE_TARGET: join(dir, 'keyfile') };
    for (let run = 0; run < 2; run++) {
      const result = spawnSync('bash', [join(ASSETS, 'install-keyfile.sh')], { env, encoding: 'utf8' });
      expect(result.status).toBe(0);
    }
    expect(statSync(join(dir, 'keyfile')).mode & 0o777).toBe(0o400);
    expect(readFileSync(join(dir, 'keyfile'), 'utf8')).toBe('c2VjcmV0a2V5IGZvciB0ZXN0cw==');
  });

  test.each([
    ['too short', 'abc', /6 to 1024/],
    ['not base64', 'not a key!', /base64 alphabet/],
  ])('install-keyfile.sh refuses a key that is %s', (_what, key, message) => {
    writeFileSync(join(dir, 'source'), key);
    const env = { ...process.env, KEYFILE_SOURCE: join(dir, 'source'), KEYFILE_TARGET: join(dir, 'keyfile') };
    const result = spawnSync('bash', [join(ASSETS, 'install-keyfile.sh')], { env, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(existsSync(join(dir, 'keyfile'))).toBe(false);
  });

  test('probe.sh live pings and probe.sh ready checks hello, both without credentials and bounded in time', () => {
    stub('mongosh', `printf '%s\\n' "$@" >"${dir}/args"; exit 0`);
    stub('timeout', `echo "$1" >"${dir}/timeout-seconds"; shift; exec "$@"`);
    const env = { ...process.env, PATH: PATH(), HOME: dir };
    expect(spawnSync('bash', [join(ASSETS, 'probe.sh'), 'live', '7'], { env }).status).toBe(0);
    const live = readFileSync(join(dir, 'args'), 'utf8').trim().split('\n');
    expect(live).toEqual(['--quiet', '--norc', '--host', '127.0.0.1', '--port', '27017', '--eval', "db.adminCommand('ping')"]);
    expect(readFileSync(join(dir, 'timeout-seconds'), 'utf8').trim()).toBe('7');

    expect(spawnSync('bash', [join(ASSETS, 'probe.sh'), 'ready'], { env }).status).toBe(0);
    const ready = readFileSync(join(dir, 'args'), 'utf8').trim().split('\n');
    expect(ready.at(-1)).toMatch(/db\.hello\(\); if \(!\(h\.isWritablePrimary \|\| h\.secondary\)\) \{.*quit\(1\)/);
    expect(ready).not.toContain('--username');
    expect(spawnSync('bash', [join(ASSETS, 'probe.sh'), 'other'], { env }).status).toBe(2);
  });

  test('probe.sh fails when mongosh fails, and prunes mongosh log files older than an hour', () => {
    stub('mongosh', 'exit 1');
    const logs = join(dir, '.mongodb', 'mongosh');
    spawnSync('mkdir', ['-p', logs]);
    writeFileSync(join(logs, 'old_log'), '');
    writeFileSync(join(logs, 'new_log'), '');
    spawnSync('touch', ['-d', '2 hours ago', join(logs, 'old_log')]);
    expect(spawnSync('bash', [join(ASSETS, 'probe.sh'), 'live'], { env: { ...process.env, PATH: PATH(), HOME: dir } }).status).toBe(1);
    expect(existsSync(join(logs, 'old_log'))).toBe(false);
    expect(existsSync(join(logs, 'new_log'))).toBe(true);
  });

  test('pre-stop.sh runs replica-set.js in step-down mode and never fails the hook', () => {
    stub('mongosh', `echo "$RS_MODE $*" >>"${dir}/calls"; exit 3`);
    const result = spawnSync('bash', [join(ASSETS, 'pre-stop.sh')], { env: { ...process.env, PATH: PATH() }, encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(readFileSync(join(dir, 'calls'), 'utf8')).toBe('step-down --nodb --quiet --norc --file /scripts/replica-set.js\n');
  });

  test('the bootstrap loop hands mongosh the members that resolve, retries soon while unsettled, and stops on SIGTERM', async () => {
    stub('getent', `[[ $2 == *-1.* ]] && exit 2; echo "10.0.0.1 $2"`);
    stub('mongosh', `echo "$RESOLVABLE_HOSTS" >>"${dir}/calls"; exit 10`);
    const env = {
      ...process.env, PATH: PATH(), MEMBER_HOSTS: THREE.join(','), POD_NAME: 'mongodb-0', REPLICA_SET_NAME: 'rs0',
      RETRY_INTERVAL_SECONDS: '0', RECONCILE_INTERVAL_SECONDS: '60', HEARTBEAT_FILE: join(dir, 'heartbeat'),
    };
    const loop = spawn('bash', [join(ASSETS, 'replica-set-bootstrap.sh')], { env });
    const deadline = Date.now() + 5000;
    const passes = () => (existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n') : []);
    while (passes().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const exited = new Promise<number | null>((resolve) => loop.on('exit', (code) => resolve(code)));
    loop.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(passes().length).toBeGreaterThanOrEqual(2);
    expect(passes()[0]).toBe(`${host(0)},${host(2)}`);

    const probe = (...args: string[]) => spawnSync('bash', [join(ASSETS, 'replica-set-bootstrap.sh'), ...args], { env }).status;
    expect(probe('started')).toBe(0);
    expect(probe('healthy', '60')).toBe(0);
  });

  test('the bootstrap probes fail before the loop has started', () => {
    const env = { ...process.env, HEARTBEAT_FILE: join(dir, 'none') };
    expect(spawnSync('bash', [join(ASSETS, 'replica-set-bootstrap.sh'), 'started'], { env }).status).toBe(1);
    expect(spawnSync('bash', [join(ASSETS, 'replica-set-bootstrap.sh'), 'healthy', '60'], { env }).status).toBe(1);
  });
});
