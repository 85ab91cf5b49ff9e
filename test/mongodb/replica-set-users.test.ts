import * as fs from 'node:fs';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContext, runInContext } from 'node:vm';

/*
 * replica-set.js's users, end to end through the code that talks to MongoDB (observe and act),
 * run as mongosh runs it (a script with the globals Mongo, print and quit) against a fake
 * single-member primary. The fake keeps what the script relies on: users of the admin database
 * with their passwords and roles, the localhost exception (unauthenticated commands while no
 * user exists), logins refused with a wrong password, and user administration for root only.
 */

const SCRIPT = readFileSync(join(__dirname, '..', '..', 'charts', 'mongodb', 'assets', 'replica-set.js'), 'utf8');
const HOST = 'mongodb-0.mongodb-headless.qingyu.svc.cluster.local:27017';
const USERS = 'backup:backup,go-backend:app,metrics:metrics,python-ai:app';

interface Role { role: string; db: string }
interface User { pwd: string; roles: Role[] }

class CommandError extends Error {
  constructor(public readonly code: number, public readonly codeName: string) {
    super(codeName);
  }
}

/** One mongod, primary of the set rs0 with itself as its only member. */
class FakeMongod {
  public readonly users = new Map<string, User>();
  /** The commands that changed users, as `command user`. */
  public readonly changes: string[] = [];

  /** The `Mongo` class the script sees: a connection, unauthenticated or as the URI's user. */
  public mongoClass(): unknown {
    const run = (command: Record<string, any>, user: string | undefined) => this.run(command, user);
    const users = this.users;
    return class {
      private readonly user?: string;
      constructor(uri: string) {
        const match = /^mongodb:\/\/(?:([^:@]+):([^@]+)@)?([^/]+)\//.exec(uri);
        if (!match) throw new Error(`bad URI ${uri}`);
        const [, user, password] = match;
        if (user !== undefined) {
          const known = users.get(decodeURIComponent(user));
          if (!known || known.pwd !== decodeURIComponent(password)) throw new CommandError(18, 'AuthenticationFailed');
          this.user = decodeURIComponent(user);
        }
      }
      getDB() {
        return { runCommand: (command: Record<string, any>) => run(command, this.user) };
      }
    };
  }

  public login(user: string, password: string): boolean {
    return this.users.get(user)?.pwd === password;
  }

  private run(command: Record<string, any>, user: string | undefined): Record<string, unknown> {
    const name = Object.keys(command)[0];
    const isRoot = user !== undefined && this.users.get(user)!.roles.some((r) => r.role === 'root');
    const allowed = isRoot || this.users.size === 0;
    const administer = () => {
      if (!allowed) throw new CommandError(13, 'Unauthorized');
    };
    switch (name) {
      case 'hello':
        return { ok: 1, setName: 'rs0', isWritablePrimary: true, hosts: [HOST] };
      case 'ping':
        return { ok: 1 };
      case 'replSetGetStatus':
        administer();
        return { ok: 1 };
      case 'replSetGetConfig':
        administer();
        return { ok: 1, config: { _id: 'rs0', version: 1, term: 1, members: [{ _id: 0, host: HOST }] } };
      case 'usersInfo':
        administer();
        return { ok: 1, users: [...this.users].map(([u, { roles }]) => ({ user: u, db: 'admin', roles })) };
      case 'createUser':
        administer();
        if (this.users.has(command.createUser)) throw new CommandError(51003, 'Location51003');
        this.users.set(command.createUser, { pwd: command.pwd, roles: command.roles });
        this.changes.push(`createUser ${command.createUser}`);
        return { ok: 1 };
      case 'updateUser':
        administer();
        if (!this.users.has(command.updateUser)) throw new CommandError(11, 'UserNotFound');
        this.users.set(command.updateUser, { pwd: command.pwd, roles: command.roles });
        this.changes.push(`updateUser ${command.updateUser}`);
        return { ok: 1 };
      default:
        throw new Error(`the fake has no ${name}`);
    }
  }
}

let dir: string;
let mongod: FakeMongod;

/** Writes a user's Secret files: root/ or users/<client>/. */
function secret(path: string, username: string, password: string): void {
  mkdirSync(join(dir, path), { recursive: true });
  writeFileSync(join(dir, path, 'username'), username);
  writeFileSync(join(dir, path, 'password'), password);
}

/** One pass of the script on the primary: its exit status and the decisions it logged. */
function pass(): { status: number; decisions: Array<{ action: string; reason: string }> } {
  const decisions: Array<{ action: string; reason: string }> = [];
  let status = -1;
  const env = {
    CREDENTIALS_DIR: dir, REPLICA_SET_NAME: 'rs0', MEMBER_HOSTS: HOST, RESOLVABLE_HOSTS: HOST,
    POD_NAME: 'mongodb-0', APP_DATABASE: 'qingyu', USERS,
  };
  const context = createContext({
    Mongo: mongod.mongoClass(),
    print: (line: string) => decisions.push(JSON.parse(line)),
    quit: (code: number) => { status = code; },
    process: { env },
    require: (module: string) => {
      if (module !== 'fs') throw new Error(`the script requires only fs, not ${module}`);
      return fs;
    },
  });
  runInContext(SCRIPT, context);
  return { status, decisions };
}

const ROOT = { role: 'root', db: 'admin' };
const APP = [{ role: 'readWrite', db: 'qingyu' }];
const METRICS = [{ role: 'clusterMonitor', db: 'admin' }, { role: 'read', db: 'local' }];
const BACKUP = [{ role: 'backup', db: 'admin' }];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'qingyu-rs-users-'));
  mongod = new FakeMongod();
  secret('root', 'root', 'root-secret');
  for (const client of ['backup', 'go-backend', 'metrics', 'python-ai']) secret(`users/${client}`, client, `${client}-secret`);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('a new set: root through the localhost exception, then every client user with its role, in one pass', () => {
  const first = pass();
  expect(first.decisions.map((d) => d.action)).toEqual(['create-root', 'create-users', 'none']);
  expect(first.status).toBe(10);
  expect(mongod.users.get('root')!.roles).toEqual([ROOT]);
  expect(mongod.users.get('go-backend')!.roles).toEqual(APP);
  expect(mongod.users.get('python-ai')!.roles).toEqual(APP);
  expect(mongod.users.get('metrics')!.roles).toEqual(METRICS);
  expect(mongod.users.get('backup')!.roles).toEqual(BACKUP);
  for (const client of ['backup', 'go-backend', 'metrics', 'python-ai']) expect(mongod.login(client, `${client}-secret`)).toBe(true);

  const again = pass();
  expect(again).toEqual({ status: 0, decisions: [expect.objectContaining({ action: 'none', reason: 'the replica set is as desired' })] });
  expect(mongod.changes).toHaveLength(5);
});

describe('an existing set', () => {
  beforeEach(() => {
    mongod.users.set('root', { pwd: 'root-secret', roles: [ROOT] });
    // Before each app had its own user, both logged in as `qingyu`.
    mongod.users.set('qingyu', { pwd: 'shared', roles: APP });
    mongod.users.set('metrics', { pwd: 'metrics-secret', roles: METRICS });
    mongod.users.set('backup', { pwd: 'backup-secret', roles: BACKUP });
  });

  test('the upgrade from the shared user: each app gets its own; the shared one is reported and left', () => {
    const first = pass();
    expect(first.decisions[0]).toMatchObject({ action: 'create-users', reason: 'users missing: go-backend, python-ai' });
    expect(mongod.changes).toEqual(['createUser go-backend', 'createUser python-ai']);
    const second = pass();
    expect(second.status).toBe(0);
    expect(second.decisions[0].reason).toMatch(/users nobody is given .*: qingyu$/);
    expect(mongod.login('qingyu', 'shared')).toBe(true);
  });

  test('a rotated password and drifted roles are put back from the Secrets; the old password is refused', () => {
    pass();
    secret('users/go-backend', 'go-backend', 'rotated');
    mongod.users.set('metrics', { pwd: 'metrics-secret', roles: [...METRICS, { role: 'readWrite', db: 'qingyu' }] });
    const rotated = pass();
    expect(rotated.decisions[0]).toMatchObject({ action: 'update-users', reason: 'users differ from their Secrets: go-backend (password), metrics (roles)' });
    expect(mongod.login('go-backend', 'rotated')).toBe(true);
    expect(mongod.login('go-backend', 'go-backend-secret')).toBe(false);
    expect(mongod.users.get('metrics')!.roles).toEqual(METRICS);
    expect(pass().status).toBe(0);
  });

  test('root credentials the database refuses: it waits and changes nothing', () => {
    secret('root', 'root', 'not-the-one');
    const result = pass();
    expect(result).toEqual({ status: 10, decisions: [expect.objectContaining({ action: 'wait', reason: expect.stringMatching(/root credentials .* rejected/) })] });
    expect(mongod.changes).toEqual([]);
  });
});
