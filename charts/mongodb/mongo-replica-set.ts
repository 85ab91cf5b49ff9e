import { dirname } from 'node:path';

import { Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

import { contentChecksum, readAsset } from '../../lib/assets';
import { PropError } from '../../lib/errors';
import { httpProbe, ImageRef, imageVersion, ResourceSpec, scratchVolume, StorageSpec, tcpLiveness } from '../../lib/pod';
import { ClientSecret, secretKeyRef, SECRETS, SecretSpec, StoreUsers } from '../../lib/secrets';
import { StatefulStore } from '../../lib/stateful-store';

const k8s = kplus.k8s;

export const MONGODB_PORTS = { mongodb: 27017, metrics: 9216 } as const;
/** The official image's `mongodb` user and group (docker-library/mongo: `useradd --uid 999`). */
export const MONGODB_UID = 999;
/** MongoDB elects with a majority of voting members, and a set has at most 7 of them. */
const MAX_VOTING_MEMBERS = 7;

const DATA_DIR = '/data/db';
const KEYFILE = '/keyfile/keyfile';
const SCRIPTS_DIR = '/scripts';
const CREDENTIALS_DIR = '/secrets';
/** Wire compressors mongod offers: the server default (`snappy,zstd,zlib`) without zlib. */
export const NETWORK_COMPRESSORS = 'snappy,zstd';
/** The longest the preStop step-down may take (pre-stop.sh's `timeout`). */
const STEP_DOWN_TIMEOUT_SECONDS = 45;
/** The longest one reconcile pass may take before the bootstrap loop stops it. */
const PASS_TIMEOUT_SECONDS = 300;

/**
 * What a MongoDB user of the platform may do; replica-set.js grants the roles:
 * - app: readWrite on the application database (one user per application);
 * - metrics: clusterMonitor, and read on local (the exporter);
 * - backup: the built-in backup role (mongodump: every database, the oplog, users and roles).
 */
export type MongoRole = 'app' | 'metrics' | 'backup';
const ROLE_PURPOSE: Readonly<Record<MongoRole, (database: string) => string>> = {
  app: (database) => `readWrite on the ${database} database`,
  metrics: () => 'the exporter: clusterMonitor, and read on local',
  backup: () => 'the backup Job: the built-in backup role (read everything, and the oplog)',
};

/** The scripts in charts/mongodb/assets/, mounted at /scripts from the `<name>-scripts` ConfigMap. */
const SCRIPT_FILES = ['replica-set-bootstrap.sh', 'replica-set.js', 'probe.sh', 'pre-stop.sh', 'install-keyfile.sh'] as const;

const DEFAULT_BOOTSTRAP_RESOURCES: ResourceSpec = {
  // mongosh is a Node.js program: a pass takes a second of CPU and up to about 200 MiB.
  cpuMillis: { request: 10, limit: 500 },
  memoryMiB: { request: 96, limit: 384 },
  ephemeralStorageMiB: { request: 16, limit: 64 },
};

export interface MongoReplicaSetProps {
  /** The mongod image (`mongo`, the 7.0 line); the bootstrap sidecar and init container use it too. */
  readonly image: ImageRef;
  /**
   * Members of the replica set: odd, so that a majority survives the loss of a member.
   * 1 is a single-member replica set (development), still named `replicaSetName`.
   * @default 3
   */
  readonly replicas?: number;
  /**
   * The replica set's name; clients name it in `replicaSet=`.
   * @default 'rs0'
   */
  readonly replicaSetName?: string;
  /** The application database: the application user may read and write it. */
  readonly database: string;
  /** The volume each member claims for `/data/db`. */
  readonly storage: StorageSpec;
  /** Requests and limits of mongod; its WiredTiger cache is sized from the memory limit. */
  readonly resources: ResourceSpec;
  /** The Percona mongodb_exporter sidecar. */
  readonly exporter: { readonly image: ImageRef; readonly resources: ResourceSpec };
  /**
   * Name of the StatefulSet, its Services (`<name>`, `<name>-headless`) and its members
   * (`<name>-0`...). Member host names are in the replica-set config, so it cannot change
   * after the set is initiated.
   * @default 'mongodb'
   */
  readonly name?: string;
  /**
   * Seconds between the start of a member's termination and SIGKILL: the preStop step-down
   * (up to 45 s) plus mongod's own shutdown (a final checkpoint).
   * @default 120
   */
  readonly terminationGracePeriodSeconds?: number;
  /**
   * Seconds between the bootstrap sidecar's passes once the set is as desired; passes repeat
   * every 5 s while it is forming.
   * @default 30
   */
  readonly reconcileIntervalSeconds?: number;
  /**
   * Requests and limits of the bootstrap sidecar and the keyFile init container (mongosh).
   * @default - 10m/500m CPU, 96/384 MiB memory, 16/64 MiB ephemeral storage
   */
  readonly bootstrapResources?: ResourceSpec;
}

/**
 * A MongoDB replica set run from the official image: a StatefulSet whose members find each
 * other by stable DNS names, form the set themselves and heal it.
 *
 * - Members are `<name>-N`, known to the set as `<name>-N.<name>-headless.<ns>.svc.<domain>:27017`;
 *   the headless Service publishes not-ready addresses, so members resolve before they are ready.
 * - Each member runs `mongod --replSet <name> --bind_ip_all` directly as the image's `mongodb`
 *   user (999), not through the image's root entrypoint, with a read-only root filesystem.
 * - A `bootstrap` sidecar (charts/mongodb/assets/replica-set-bootstrap.sh and replica-set.js) observes
 *   the set every 30 s and acts: member 0 initiates the set with every member once all of them
 *   resolve and none has a config; the primary adds desired members missing from the config
 *   (scale-up), creates the root user and every client's user (`user(client, role)`: one per
 *   application, the exporter's, the backup Job's) from their Secrets, and puts a user's password
 *   and roles back when they differ from its Secret. It never removes a member or a user (users
 *   nobody is given any more are reported). It never forces a reconfiguration. A member
 *   rescheduled with an empty volume rejoins by itself: its host is in the config, so the primary
 *   brings it back.
 * - Internal authentication uses the keyFile of the `mongodb-keyfile` Secret, copied by an init
 *   container to a memory-backed emptyDir with mode 0400 (mongod refuses group-readable keys,
 *   and fsGroup makes Secret volumes group-readable).
 * - Probes run mongosh without credentials (`ping` and `hello` need none): startup and liveness
 *   ping, readiness requires PRIMARY or SECONDARY (charts/mongodb/assets/probe.sh, which also bounds
 *   mongosh's run time and prunes the log file mongosh writes on every run).
 * - Termination: a preStop hook steps a primary down before SIGTERM; the grace period covers it
 *   and mongod's final checkpoint. The PodDisruptionBudget lets one member go at a time.
 * - The exporter sidecar authenticates as the `mongodb-metrics` user; a ServiceMonitor scrapes it.
 *
 * `podManagementPolicy` must stay `Parallel`: member 0 initiates only when every member is up,
 * and with `OrderedReady` member 1 would wait for member 0 to be ready, which needs the set.
 *
 * @see https://www.mongodb.com/docs/v7.0/tutorial/deploy-replica-set-with-keyfile-access-control/
 */
export class MongoReplicaSet extends StatefulStore {
  public readonly replicaSetName: string;
  public readonly database: string;
  public readonly reconcileIntervalSeconds: number;
  /** `--wiredTigerCacheSizeGB`: half of the memory limit less 1 GiB, at least 0.25 (MongoDB's default rule). */
  public readonly wiredTigerCacheSizeGB: number;
  public readonly scriptsConfigMap: kplus.k8s.KubeConfigMap;
  private readonly users: StoreUsers<MongoRole>;

  constructor(scope: Construct, id: string, props: MongoReplicaSetProps) {
    const name = props.name ?? 'mongodb';
    const replicas = props.replicas ?? 3;
    const replicaSetName = props.replicaSetName ?? 'rs0';
    const terminationGracePeriodSeconds = props.terminationGracePeriodSeconds ?? 120;
    const reconcileIntervalSeconds = props.reconcileIntervalSeconds ?? 30;
    const bootstrapResources = props.bootstrapResources ?? DEFAULT_BOOTSTRAP_RESOURCES;
    validate({ name, replicas, replicaSetName, database: props.database, terminationGracePeriodSeconds, reconcileIntervalSeconds });

    super(scope, id, {
      name,
      component: 'database',
      version: imageVersion(props.image),
      replicas,
      ports: MONGODB_PORTS,
      storage: props.storage,
      runAs: { uid: MONGODB_UID, gid: MONGODB_UID },
      metrics: { port: 'metrics' },
      podManagementPolicy: 'Parallel',
      terminationGracePeriodSeconds,
    });
    this.replicaSetName = replicaSetName;
    this.database = props.database;
    this.users = new StoreUsers(name, { title: 'MongoDB', maxLength: 63, purpose: (role) => ROLE_PURPOSE[role](props.database) });
    this.reconcileIntervalSeconds = reconcileIntervalSeconds;
    this.wiredTigerCacheSizeGB = cacheSizeGB(props.resources.memoryMiB.limit);

    const scripts = Object.fromEntries(SCRIPT_FILES.map((f) => [f, readAsset(`charts/mongodb/assets/${f}`)]));
    const scriptsConfigMapName = `${name}-scripts`;
    const exec = (command: string[], periodSeconds: number, failureThreshold: number, timeoutSeconds = 10): kplus.k8s.Probe => ({
      exec: { command }, periodSeconds, failureThreshold, timeoutSeconds, successThreshold: 1,
    });
    // probe.sh runs mongosh with `db.adminCommand('ping')` (live) or a `db.hello()` check (ready),
    // stopped after 8 s, inside the probe's 10 s.
    const probe = (check: 'live' | 'ready') => ['bash', `${SCRIPTS_DIR}/probe.sh`, check, '8'];
    // mongosh writes its logs and history under $HOME; the image's HOME is the data volume.
    const home = { name: 'HOME', value: '/tmp' };
    const credentialItems = (secret: SecretSpec, dir: string) => ({
      name: secret.name,
      items: Object.values(secret.keys).map((k) => ({ key: k.key, path: `${dir}${k.key}` })),
    });

    this.addPodAnnotation('qingyu.io/scripts-checksum', contentChecksum(scripts));
    this.addInitContainer({
      name: 'install-keyfile',
      image: props.image,
      command: ['bash', `${SCRIPTS_DIR}/install-keyfile.sh`],
      env: [
        { name: 'KEYFILE_SOURCE', value: '/secrets/keyfile/keyfile' },
        { name: 'KEYFILE_TARGET', value: KEYFILE },
      ],
      resources: bootstrapResources,
      volumeMounts: [
        { name: 'keyfile-secret', mountPath: '/secrets/keyfile', readOnly: true },
        { name: 'keyfile', mountPath: dirname(KEYFILE) },
        { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true },
      ],
    }, 'bootstrapResources');
    this.addContainer({
      name: 'mongod',
      image: props.image,
      // mongod itself, not the image's entrypoint (which starts as root and drops to 999 with gosu).
      command: ['mongod'],
      args: [
        '--replSet', replicaSetName,
        '--bind_ip_all',
        '--port', String(MONGODB_PORTS.mongodb),
        '--dbpath', DATA_DIR,
        '--keyFile', KEYFILE,
        '--wiredTigerCacheSizeGB', String(this.wiredTigerCacheSizeGB),
        // No zlib: MongoBleed (CVE-2025-14847) is a bug in zlib message decompression, before
        // authentication. snappy and zstd keep wire compression for the drivers that ask.
        '--networkMessageCompressors', NETWORK_COMPRESSORS,
      ],
      env: [home],
      ports: this.containerPorts('mongodb'),
      resources: props.resources,
      // Recovery after an unclean shutdown (journal replay) may take minutes: up to 10 here.
      startupProbe: exec(probe('live'), 10, 60),
      livenessProbe: exec(probe('live'), 20, 6),
      readinessProbe: exec(probe('ready'), 10, 3),
      lifecycle: { preStop: { exec: { command: ['bash', `${SCRIPTS_DIR}/pre-stop.sh`] } } },
      volumeMounts: [
        { name: 'data', mountPath: DATA_DIR },
        { name: 'keyfile', mountPath: dirname(KEYFILE), readOnly: true },
        { name: 'tmp', mountPath: '/tmp' },
        { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true },
        // For the preStop step-down, which needs the clusterManager privilege.
        { name: 'root-credentials', mountPath: `${CREDENTIALS_DIR}/root`, readOnly: true },
      ],
    });
    this.addContainer({
      name: 'bootstrap',
      image: props.image,
      command: ['bash', `${SCRIPTS_DIR}/replica-set-bootstrap.sh`],
      env: [
        { name: 'REPLICA_SET_NAME', value: replicaSetName },
        { name: 'MEMBER_HOSTS', value: this.memberEndpoint('mongodb').hostPorts },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'APP_DATABASE', value: props.database },
        { name: 'MONGODB_PORT', value: String(MONGODB_PORTS.mongodb) },
        { name: 'CREDENTIALS_DIR', value: CREDENTIALS_DIR },
        // Every user the primary keeps as its Secret says: `client:role`, comma separated.
        { name: 'USERS', value: Lazy.any({ produce: () => this.users.sorted().map(([client, { role }]) => `${client}:${role}`).join(',') }) as any },
        { name: 'RECONCILE_INTERVAL_SECONDS', value: String(reconcileIntervalSeconds) },
        { name: 'PASS_TIMEOUT_SECONDS', value: String(PASS_TIMEOUT_SECONDS) },
        home,
      ],
      resources: bootstrapResources,
      // Readiness only says the loop runs: a member serves whatever its bootstrap is doing.
      readinessProbe: exec(['bash', `${SCRIPTS_DIR}/replica-set-bootstrap.sh`, 'started'], 10, 3, 5),
      // A pass is stopped after 300 s; a heartbeat older than that plus a pause means a stuck loop.
      livenessProbe: exec(['bash', `${SCRIPTS_DIR}/replica-set-bootstrap.sh`, 'healthy', String(PASS_TIMEOUT_SECONDS + 2 * reconcileIntervalSeconds + 60)], 30, 3, 5),
      volumeMounts: [
        { name: 'bootstrap-tmp', mountPath: '/tmp' },
        { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true },
        { name: 'credentials', mountPath: CREDENTIALS_DIR, readOnly: true },
      ],
    }, 'bootstrapResources');
    const metrics = this.user('metrics', 'metrics');
    this.addContainer({
      name: 'exporter',
      image: props.exporter.image,
      // The exporter adds MONGODB_USER and MONGODB_PASSWORD to the URI itself (`buildURI`, which
      // escapes them; create-secrets.sh's random passwords are hex anyway), so no credential
      // appears in the manifest. Collectors: what the dashboards and alerts use, without
      // per-collection scans or the profiler.
      args: [
        `--mongodb.uri=mongodb://127.0.0.1:${MONGODB_PORTS.mongodb}/admin`,
        '--mongodb.direct-connect',
        `--web.listen-address=:${MONGODB_PORTS.metrics}`,
        '--compatible-mode',
        '--collector.diagnosticdata',
        '--collector.replicasetstatus',
        '--collector.dbstats',
        '--collector.topmetrics',
      ],
      env: [
        { name: 'MONGODB_USER', valueFrom: secretKeyRef(metrics, metrics.keys.username) },
        { name: 'MONGODB_PASSWORD', valueFrom: secretKeyRef(metrics, metrics.keys.password) },
      ],
      ports: this.containerPorts('metrics'),
      resources: props.exporter.resources,
      livenessProbe: tcpLiveness('metrics', 20, 3),
      readinessProbe: httpProbe('/', 'metrics', 10, 2),
    }, 'exporter.resources');
    this.addVolume(
      { name: 'scripts', configMap: { name: scriptsConfigMapName, defaultMode: 0o555 } },
      { name: 'keyfile-secret', secret: { ...secretVolume(SECRETS.mongodbKeyfile), defaultMode: 0o440 } },
      // Memory-backed: the key never reaches the node's disk.
      { name: 'keyfile', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('1Mi') } },
      // Files, not environment variables: only the scripts that need a password read it.
      { name: 'root-credentials', secret: { ...secretVolume(SECRETS.mongodbRoot), defaultMode: 0o440 } },
      {
        name: 'credentials',
        projected: {
          defaultMode: 0o440,
          // root/ and users/<client>/, each with `username` and `password`.
          sources: Lazy.any({
            produce: () => [
              { secret: credentialItems(SECRETS.mongodbRoot, 'root/') },
              ...this.users.sorted().map(([client, { secret }]) => ({ secret: credentialItems(secret, `users/${client}/`) })),
            ],
          }) as any,
        },
      },
      scratchVolume('tmp', 64),
      scratchVolume('bootstrap-tmp', 64),
    );

    this.scriptsConfigMap = new k8s.KubeConfigMap(this, 'scripts', {
      metadata: { name: scriptsConfigMapName },
      data: scripts,
    });

    // Members replicate from and vote with each other; member 0's bootstrap asks its peers
    // whether a set exists before initiating one.
    this.connect(this.memberEndpoint('mongodb'), 'replication, elections and replica-set bootstrap');
  }

  /**
   * The MongoDB user of one client, with `role`'s grants, and the Secret `<name>-<client>` with
   * its name and password: the primary's bootstrap creates the user, and puts its password and
   * roles back when they differ from the Secret's (a rotation). Asking again returns the same user.
   */
  public user(client: string, role: MongoRole = 'app'): ClientSecret {
    return this.users.user(client, role);
  }
}

/** A Secret volume holding every key of `secret` under its own name. */
function secretVolume(secret: SecretSpec): { secretName: string; items: Array<{ key: string; path: string }> } {
  return { secretName: secret.name, items: Object.values(secret.keys).map((k) => ({ key: k.key, path: k.key })) };
}

function validate(p: {
  name: string; replicas: number; replicaSetName: string; database: string;
  terminationGracePeriodSeconds: number; reconcileIntervalSeconds: number;
}): void {
  if (!/^[a-z]([-a-z0-9]{0,40}[a-z0-9])?$/.test(p.name)) {
    throw new PropError(`'name' of a MongoDB replica set must be a DNS label of at most 42 characters (it prefixes member and Service names), got '${p.name}'`);
  }
  if (!Number.isInteger(p.replicas) || p.replicas < 1 || p.replicas > MAX_VOTING_MEMBERS || p.replicas % 2 === 0) {
    throw new PropError(`'replicas' must be odd (1, 3, 5 or 7) for a MongoDB replica set, so that a majority survives the loss of a member, got ${p.replicas}`);
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(p.replicaSetName)) {
    throw new PropError(`'replicaSetName' must be 1 to 64 letters, digits, '_' or '-', got '${p.replicaSetName}'`);
  }
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(p.database) || ['admin', 'local', 'config'].includes(p.database)) {
    throw new PropError(`'database' must be 1 to 63 letters, digits, '_' or '-' and not admin, local or config, got '${p.database}'`);
  }
  const minimumGrace = STEP_DOWN_TIMEOUT_SECONDS + 30;
  if (!Number.isInteger(p.terminationGracePeriodSeconds) || p.terminationGracePeriodSeconds < minimumGrace) {
    throw new PropError(`'terminationGracePeriodSeconds' must be at least ${minimumGrace} (the ${STEP_DOWN_TIMEOUT_SECONDS} s preStop step-down plus mongod's shutdown), got ${p.terminationGracePeriodSeconds}`);
  }
  if (!Number.isInteger(p.reconcileIntervalSeconds) || p.reconcileIntervalSeconds < 5 || p.reconcileIntervalSeconds > 600) {
    throw new PropError(`'reconcileIntervalSeconds' must be a whole number from 5 to 600, got ${p.reconcileIntervalSeconds}`);
  }
}

/** MongoDB's default WiredTiger cache for a memory limit: 50% of (limit - 1 GiB), at least 0.25 GB. */
export function cacheSizeGB(memoryLimitMiB: number): number {
  const gb = (memoryLimitMiB - 1024) / 2 / 1024;
  return Math.max(0.25, Math.floor(gb * 100) / 100);
}


