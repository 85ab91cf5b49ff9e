/*
 * Forms and heals the MongoDB replica set, one member's view at a time.
 *
 * Run by replica-set-bootstrap.sh in the `bootstrap` sidecar of every member:
 *
 *   mongosh --nodb --quiet --norc --file replica-set.js
 *
 * Each pass observes this member, its peers and (on the primary) the replica-set config and
 * users, asks the pure function `decide(state)` what to do, does it, and observes again, until
 * there is nothing left to do or it has to wait. It never removes members and never forces a
 * reconfiguration: a set without a primary is left alone.
 *
 * With RS_MODE=step-down (pre-stop.sh, the mongod container's preStop hook) it hands the primary
 * role over to a secondary before the member shuts down.
 *
 * Exit status: 0 when the set is as desired, 10 when it is waiting or made progress (check again
 * soon), anything else on an error.
 *
 * Environment:
 *   REPLICA_SET_NAME   the set's name (rs0)
 *   MEMBER_HOSTS       every desired member's host:port, comma separated, in ordinal order
 *   RESOLVABLE_HOSTS   those of MEMBER_HOSTS that resolve in DNS right now (set by the bash loop)
 *   POD_NAME           this pod (`mongodb-2`): its ordinal picks this member's host
 *   APP_DATABASE       the database the application users may read and write
 *   USERS              every client's user as `client:role`, comma separated; role is app
 *                      (readWrite on APP_DATABASE), metrics or backup
 *   CREDENTIALS_DIR    holds root/ and users/<client>/, each with `username` and `password`
 *                      (default /secrets; step-down needs only root/)
 *   MONGODB_PORT       the local mongod's port (default 27017)
 *   RS_MODE            `reconcile` (default) or `step-down`
 *
 * `decide` and `shouldStepDown` are pure and exported when `module` exists, so the decisions are
 * tested with Node (test/mongodb-init.test.ts) without a server.
 */

/** What a pass ends with, and what the bash loop makes of it. */
const EXIT_SETTLED = 0;
const EXIT_AGAIN = 10;

/**
 * The action for this member, given what it observes. `state`:
 *   ordinal            this pod's ordinal
 *   self               this member's host:port
 *   desiredMembers     every member's host:port, in ordinal order
 *   resolvableMembers  those that resolve in DNS now
 *   local              { reachable, initialized, isPrimary, stateName }
 *   localhostException true when this mongod has no users yet (the localhost exception applies)
 *   rootAuthenticated  true when the root credentials from the Secret were accepted
 *   peers              [{ host, reachable, hasConfig }] (observed only where it matters)
 *   configMembers      hosts in the replica-set config (read on the primary only)
 *   desiredUsers       every client whose user should exist (from USERS)
 *   users              { client: 'ok' | 'missing' | 'password' | 'roles' } (read on the primary
 *                      only): the user exists and logs in with its Secret's password, holding the
 *                      roles of its role; or is missing; or its password or its roles differ
 *   otherUsers         users of the admin database that are neither root nor desired
 *
 * Returns { action, reason } plus `members` for initiate and add-members, `users` for
 * create-users and update-users, and `extras` (config members nobody wants any more) and
 * `otherUsers`, both never removed automatically: a rollback may still need them.
 */
function decide(state) {
  const missingFrom = (wanted, present) => wanted.filter((m) => !present.includes(m));
  const wait = (reason) => ({ action: 'wait', reason });

  if (!state.local || !state.local.reachable) return wait('the local mongod does not answer yet');
  if (state.ordinal < 0 || state.ordinal >= state.desiredMembers.length) {
    return wait(`ordinal ${state.ordinal} is not among the ${state.desiredMembers.length} desired members`);
  }

  if (!state.local.initialized) {
    const unresolvable = missingFrom(state.desiredMembers, state.resolvableMembers || []);
    if (unresolvable.length > 0) return wait(`members do not resolve yet: ${unresolvable.join(', ')}`);
    if (state.ordinal !== 0) {
      return wait('member 0 initiates the replica set; this member gets the config once it is a member');
    }
    const peers = state.peers;
    const expected = state.desiredMembers.filter((m) => m !== state.self);
    const seen = (peers || []).map((p) => p.host);
    const unobserved = missingFrom(expected, seen);
    const unreachable = (peers || []).filter((p) => !p.reachable).map((p) => p.host);
    if (unobserved.length + unreachable.length > 0) {
      // A peer we cannot ask may already hold a config: initiating now could fork the set.
      return wait(`cannot ask every peer whether a replica set exists: ${[...unobserved, ...unreachable].join(', ')}`);
    }
    const configured = peers.filter((p) => p.hasConfig).map((p) => p.host);
    if (configured.length > 0) {
      return wait(`peers already belong to a replica set (${configured.join(', ')}): this member rejoins when the primary reaches it`);
    }
    return { action: 'initiate', reason: 'no member has a replica-set config', members: [...state.desiredMembers] };
  }

  if (!state.local.isPrimary) {
    return { action: 'none', reason: `this member is ${state.local.stateName || 'not primary'}; the primary's bootstrap manages the set` };
  }

  if (state.localhostException) {
    return { action: 'create-root', reason: 'no users exist: creating root through the localhost exception' };
  }
  if (!state.rootAuthenticated) {
    return wait('the root credentials of the Secret were rejected: the Secret and the database disagree');
  }

  const configMembers = state.configMembers || [];
  const extras = missingFrom(configMembers, state.desiredMembers);
  const missing = missingFrom(state.desiredMembers, configMembers);
  const addable = missing.filter((m) => (state.resolvableMembers || []).includes(m));
  if (addable.length > 0) {
    return { action: 'add-members', reason: `members missing from the config: ${addable.join(', ')}`, members: addable, extras };
  }

  // A user not observed counts as missing: creating an existing one is refused and skipped.
  const status = (client) => (state.users || {})[client] || 'missing';
  const desiredUsers = state.desiredUsers || [];
  const otherUsers = state.otherUsers || [];
  const missingUsers = desiredUsers.filter((c) => status(c) === 'missing');
  if (missingUsers.length > 0) {
    return { action: 'create-users', reason: `users missing: ${missingUsers.join(', ')}`, users: missingUsers, extras, otherUsers };
  }
  const staleUsers = desiredUsers.filter((c) => status(c) !== 'ok');
  if (staleUsers.length > 0) {
    const what = staleUsers.map((c) => `${c} (${status(c) === 'roles' ? 'roles' : 'password'})`);
    return { action: 'update-users', reason: `users differ from their Secrets: ${what.join(', ')}`, users: staleUsers, extras, otherUsers };
  }

  const notes = [];
  if (missing.length > 0) notes.push(`members missing but not resolvable yet: ${missing.join(', ')}`);
  if (extras.length > 0) notes.push(`config members not desired (left in place; remove with rs.remove() on purpose): ${extras.join(', ')}`);
  if (otherUsers.length > 0) notes.push(`users nobody is given (left in place; drop with db.dropUser() once nothing logs in as them): ${otherUsers.join(', ')}`);
  return { action: 'none', reason: notes.length > 0 ? notes.join('; ') : 'the replica set is as desired', extras, otherUsers };
}

/** The roles of a user of `role` (USERS), on `appDatabase` for applications. */
function rolesOf(role, appDatabase) {
  const roles = {
    root: [{ role: 'root', db: 'admin' }],
    app: [{ role: 'readWrite', db: appDatabase }],
    metrics: [{ role: 'clusterMonitor', db: 'admin' }, { role: 'read', db: 'local' }],
    // The built-in role mongodump needs: find on every database, the oplog, the users and roles.
    backup: [{ role: 'backup', db: 'admin' }],
  }[role];
  if (!roles) throw new Error(`unknown role '${role}' (known: root, app, metrics, backup)`);
  return roles;
}

/** Whether two role lists grant the same roles, in any order. */
function sameRoles(a, b) {
  const key = (roles) => (roles || []).map((r) => `${r.role}@${r.db}`).sort().join(',');
  return key(a) === key(b);
}

/** USERS (`client:role,...`) as [{ client, role }]. */
function usersOf(value) {
  return listOf(value).map((entry) => {
    const [client, role, ...rest] = entry.split(':');
    if (!client || !role || rest.length > 0) throw new Error(`USERS entries are client:role, got '${entry}'`);
    rolesOf(role, 'x');
    return { client, role };
  });
}

/** Whether a member about to stop should first hand the primary role to another member. */
function shouldStepDown(hello) {
  return !!hello && hello.isWritablePrimary === true && Array.isArray(hello.hosts) && hello.hosts.length > 1;
}

/** The ordinal of a StatefulSet pod (`mongodb-2` -> 2), or -1. */
function ordinalOf(podName) {
  const match = /-(\d+)$/.exec(podName || '');
  return match ? Number(match[1]) : -1;
}

/** A comma-separated list as an array, without blanks. */
function listOf(value) {
  return (value || '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

// ---------------------------------------------------------------------------------------------
// Everything below talks to MongoDB and runs only inside mongosh.

/* global Mongo, quit, print */

function env(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    if (fallback !== undefined) return fallback;
    throw new Error(`${name} must be set`);
  }
  return value;
}

/** The user name and password in CREDENTIALS_DIR/`path` (`root`, `users/<client>`). */
function credentials(path) {
  // mongosh scripts load Node.js built-ins with require().
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('fs');
  const dir = `${env('CREDENTIALS_DIR', '/secrets')}/${path}`;
  return { username: fs.readFileSync(`${dir}/username`, 'utf8'), password: fs.readFileSync(`${dir}/password`, 'utf8') };
}

function log(fields) {
  print(JSON.stringify({ time: new Date().toISOString(), component: 'replica-set-bootstrap', ...fields }));
}

const TIMEOUTS = 'serverSelectionTimeoutMS=5000&connectTimeoutMS=5000';

/** A direct connection to one member, unauthenticated or as `user`; undefined when unreachable. */
function connect(host, user) {
  const auth = user ? encodeURIComponent(user.username) + ':' + encodeURIComponent(user.password) + '@' : '';
  const query = user ? `directConnection=true&authSource=admin&${TIMEOUTS}` : `directConnection=true&${TIMEOUTS}`;
  try {
    const conn = new Mongo('mongodb://' + auth + host + '/?' + query);
    return conn.getDB('admin');
  } catch {
    return undefined;
  }
}

/**
 * Runs a command and returns its reply; mongosh throws on `ok: 0`, this returns the error as a
 * reply document (`ok: 0`, `code`, `codeName`, `errmsg`) so that callers can tell errors apart.
 */
function run(db, command) {
  try {
    return db.runCommand(command);
  } catch (error) {
    return { ok: 0, code: error && error.code, codeName: error && error.codeName, errmsg: String(error && error.message) };
  }
}

function hello(admin) {
  return admin ? run(admin, { hello: 1 }) : undefined;
}

function observe(settings) {
  const state = {
    ordinal: settings.ordinal,
    self: settings.desiredMembers[settings.ordinal],
    desiredMembers: settings.desiredMembers,
    resolvableMembers: listOf(process.env.RESOLVABLE_HOSTS),
  };
  const local = connect(settings.localHost);
  const h = hello(local);
  if (!h || h.ok !== 1) {
    state.local = { reachable: false };
    return { state };
  }
  state.local = {
    reachable: true,
    initialized: typeof h.setName === 'string',
    isPrimary: h.isWritablePrimary === true,
    stateName: h.isWritablePrimary ? 'PRIMARY' : h.secondary ? 'SECONDARY' : h.arbiterOnly ? 'ARBITER' : 'not PRIMARY or SECONDARY',
  };

  if (!state.local.initialized) {
    if (state.ordinal === 0) {
      state.peers = settings.desiredMembers.filter((m) => m !== state.self).map((host) => {
        const peer = hello(connect(host));
        return peer && peer.ok === 1
          ? { host, reachable: true, hasConfig: typeof peer.setName === 'string' }
          : { host, reachable: false, hasConfig: false };
      });
    }
    return { state, local };
  }
  if (!state.local.isPrimary) return { state, local };

  // Unauthenticated replSetGetStatus is refused (Unauthorized, 13) once any user exists; under
  // the localhost exception it is allowed.
  const status = run(local, { replSetGetStatus: 1 });
  if (status.ok !== 1 && status.code !== 13) check(status, 'replSetGetStatus');
  state.localhostException = status.ok === 1;
  if (state.localhostException) return { state, local };

  const root = credentials('root');
  const admin = connect(settings.localHost, root);
  const ping = admin ? run(admin, { ping: 1 }) : undefined;
  state.rootAuthenticated = !!ping && ping.ok === 1;
  if (!state.rootAuthenticated) return { state, local };

  const config = check(run(admin, { replSetGetConfig: 1 }), 'replSetGetConfig');
  state.configMembers = config.config.members.map((m) => m.host);
  const present = check(run(admin, { usersInfo: 1 }), 'usersInfo').users;
  state.desiredUsers = settings.users.map((u) => u.client);
  state.users = {};
  const desiredNames = [root.username];
  for (const { client, role } of settings.users) {
    const c = credentials(`users/${client}`);
    desiredNames.push(c.username);
    const found = present.find((u) => u.user === c.username);
    if (!found) state.users[client] = 'missing';
    else if (!sameRoles(found.roles, rolesOf(role, settings.appDatabase))) state.users[client] = 'roles';
    else {
      // The local mongod answers (root just logged in): a refused login is a password that differs.
      const own = connect(settings.localHost, c);
      const login = own ? run(own, { ping: 1 }) : undefined;
      state.users[client] = login && login.ok === 1 ? 'ok' : 'password';
    }
  }
  state.otherUsers = present.map((u) => u.user).filter((name) => !desiredNames.includes(name)).sort();
  return { state, local, admin, config: config.config };
}

function check(result, what) {
  if (result.ok !== 1) throw new Error(`${what} failed: ${result.codeName || ''} ${result.errmsg || ''}`.trim());
  return result;
}

const MAJORITY = { w: 'majority', wtimeout: 30000 };

/**
 * The `createUser` or `updateUser` command that gives `user` (credentials and roles) its password
 * and roles, acknowledged by a majority. In one place, and with no equals sign on the line that
 * sets the password field: Trivy's KSV-0109 fails to evaluate on such a line, and then judges no
 * ConfigMap at all (verify/validators.sh).
 */
function userCommand(verb, user) {
  return { [verb]: user.username, pwd: user.password, roles: user.roles, writeConcern: MAJORITY };
}

/** The user `client` of USERS: its credentials and roles. */
function desiredUser(client, settings) {
  const entry = settings.users.find((u) => u.client === client);
  if (!entry) throw new Error(`'${client}' is not in USERS`);
  return { ...credentials(`users/${client}`), roles: rolesOf(entry.role, settings.appDatabase) };
}

function act(decision, observed, settings) {
  switch (decision.action) {
    case 'initiate': {
      const result = run(observed.local, {
        replSetInitiate: { _id: settings.replicaSetName, members: decision.members.map((host, i) => ({ _id: i, host })) },
      });
      // AlreadyInitialized (23): another pass got there first, which is what we wanted.
      if (result.ok !== 1 && result.code !== 23) check(result, 'replSetInitiate');
      return;
    }
    case 'add-members': {
      // MongoDB changes at most one voting member per reconfiguration: add the first, observe again.
      // `term` belongs to the primary; the new version supersedes the current one.
      const config = { ...observed.config };
      delete config.term;
      const host = decision.members[0];
      const nextId = Math.max(-1, ...config.members.map((m) => m._id)) + 1;
      const next = { ...config, version: config.version + 1, members: [...config.members, { _id: nextId, host }] };
      check(run(observed.admin, { replSetReconfig: next, maxTimeMS: 60000 }), `adding ${host}`);
      return;
    }
    case 'create-root': {
      const root = credentials('root');
      const result = run(observed.local, userCommand('createUser', { ...root, roles: rolesOf('root') }));
      // DuplicateKey/UserAlreadyExists (51003): created by an earlier pass whose write concern timed out.
      if (result.ok !== 1 && result.code !== 51003) check(result, 'creating the root user');
      return;
    }
    case 'create-users': {
      for (const client of decision.users) {
        const u = desiredUser(client, settings);
        const result = run(observed.admin, userCommand('createUser', u));
        if (result.ok !== 1 && result.code !== 51003) check(result, `creating the user of ${client}`);
      }
      return;
    }
    case 'update-users': {
      // The Secret is the truth: a rotated password (create-secrets.sh --overwrite) or changed
      // roles are put back. Clients holding the old password fail until they restart.
      for (const client of decision.users) {
        const u = desiredUser(client, settings);
        check(run(observed.admin, userCommand('updateUser', u)), `updating the user of ${client}`);
      }
      return;
    }
    default:
      throw new Error(`unknown action ${decision.action}`);
  }
}

function reconcile(settings) {
  let acted = false;
  for (let step = 0; step < 8; step++) {
    const observed = observe(settings);
    const decision = decide(observed.state);
    log({ member: observed.state.self, action: decision.action, reason: decision.reason });
    // After an action, look again soon: an initiated set elects its primary, which creates the users.
    if (decision.action === 'none') return acted ? EXIT_AGAIN : EXIT_SETTLED;
    if (decision.action === 'wait') return EXIT_AGAIN;
    act(decision, observed, settings);
    acted = true;
  }
  return EXIT_AGAIN;
}

function stepDown(settings) {
  const local = connect(settings.localHost);
  const h = hello(local);
  if (!shouldStepDown(h)) {
    log({ action: 'step-down', reason: 'not the primary of a multi-member set: nothing to hand over' });
    return EXIT_SETTLED;
  }
  const admin = connect(settings.localHost, credentials('root'));
  // Wait up to 30 s for a secondary to catch up, then stay ineligible for 60 s.
  const result = admin ? run(admin, { replSetStepDown: 60, secondaryCatchUpPeriodSecs: 30 }) : { ok: 0, errmsg: 'cannot connect as root' };
  // The step-down may close this connection; what counts is that the member is no longer primary.
  const after = hello(connect(settings.localHost));
  const handedOver = result.ok === 1 || (!!after && after.ok === 1 && after.isWritablePrimary !== true);
  log({ action: 'step-down', reason: handedOver ? 'handed the primary role over' : `step-down failed (mongod still steps down on SIGTERM): ${result.errmsg}` });
  return EXIT_SETTLED;
}

function main() {
  let status;
  try {
    const localHost = `127.0.0.1:${env('MONGODB_PORT', '27017')}`;
    if (env('RS_MODE', 'reconcile') === 'step-down') {
      status = stepDown({ localHost });
    } else {
      status = reconcile({
        localHost,
        replicaSetName: env('REPLICA_SET_NAME'),
        appDatabase: env('APP_DATABASE'),
        users: usersOf(env('USERS')),
        desiredMembers: listOf(env('MEMBER_HOSTS')),
        ordinal: ordinalOf(env('POD_NAME')),
      });
    }
  } catch (error) {
    log({ action: 'error', reason: String(error && error.message) });
    status = 1;
  }
  quit(status);
}

if (typeof module !== 'undefined' && module.exports) {
  module.exports = { decide, shouldStepDown, ordinalOf, listOf, usersOf, sameRoles };
}
if (typeof Mongo === 'function' && typeof quit === 'function') {
  main();
}
