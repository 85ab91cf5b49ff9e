import { Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

import { contentChecksum, readAsset } from '../../lib/assets';
import { PropError } from '../../lib/errors';
import { httpProbe, ImageRef, imageVersion, ResourceSpec, scratchVolume, StorageSpec, tcpLiveness } from '../../lib/pod';
import { ClientSecret, secretKeyRef, StoreUsers } from '../../lib/secrets';
import { StatefulStore } from '../../lib/stateful-store';

const k8s = kplus.k8s;

export const REDIS_PORTS = { redis: 6379, metrics: 9121 } as const;
/** The official image's `redis` user and group (docker-library: `useradd -r -u 999 redis`). */
const REDIS_UID = 999;

/** `maxmemory-policy` values Redis accepts. */
export const MAXMEMORY_POLICIES = [
  'volatile-lru', 'allkeys-lru', 'volatile-lfu', 'allkeys-lfu',
  'volatile-random', 'allkeys-random', 'volatile-ttl', 'noeviction',
] as const;
export type MaxMemoryPolicy = (typeof MAXMEMORY_POLICIES)[number];

/** `maxmemory` may use at most this share of the memory limit: AOF rewrites fork, and copy-on-write needs the rest. */
const MAX_MEMORY_SHARE_OF_LIMIT = 0.8;
/** Below this Redis cannot hold the sessions of even a development environment. */
const MIN_MAX_MEMORY_MIB = 16;

/** What a Redis user may do, by the kind of client it is. */
export type RedisRole = 'admin' | 'app' | 'exporter' | 'probe' | 'backup';

/**
 * The ACL rules of each kind of user. Applications get every key and command but the
 * administrative and dangerous ones (CONFIG, FLUSHALL, KEYS, DEBUG, ...); scripting stays unless
 * `denyScripting`. The exporter gets what redis_exporter's README grants for monitoring (without
 * `+arcount`, a command 7.2 does not know, which would make the ACL file fail to load). The
 * probes PING; the backup only replicates (redis-cli --rdb: REPLCONF, then SYNC). `admin` is for
 * people (`kubectl exec`), never a program.
 */
const RULES: Readonly<Record<RedisRole, string>> = {
  admin: '~* &* +@all',
  app: '~* &* +@all -@admin -@dangerous',
  exporter: '-@all +@connection +memory -readonly +strlen +config|get +xinfo +pfcount -quit +zcard +type +xlen -readwrite -command '
    + '+client -wait +scard +llen +hlen +get +eval +slowlog +cluster|info +cluster|slots +cluster|nodes -hello -echo +info +latency '
    + '+scan -reset -auth -asking',
  probe: '-@all +ping',
  backup: '-@all +ping +sync +psync +replconf',
};

export interface RedisStoreProps {
  /** The redis image (the official `redis` image, BSD-licensed 7.2 line). */
  readonly image: ImageRef;
  /** The volume the append-only file lives on (`/data`). */
  readonly storage: StorageSpec;
  /** Requests and limits of the server; `maxMemoryMiB` must leave room below the memory limit. */
  readonly resources: ResourceSpec;
  /**
   * `maxmemory`, in MiB: from 16 to 80% of the memory limit, so copy-on-write during AOF rewrites fits.
   * @see https://redis.io/docs/latest/operate/oss_and_stack/management/optimization/memory-optimization/
   */
  readonly maxMemoryMiB: number;
  /** The redis_exporter sidecar. */
  readonly exporter: { readonly image: ImageRef; readonly resources: ResourceSpec };
  /**
   * Name of the StatefulSet and its Services; applications connect to `<name>:6379`.
   * @default 'redis'
   */
  readonly name?: string;
  /**
   * What Redis evicts at `maxmemory`. `volatile-lru` evicts only keys with a TTL, least recently
   * used first; keys without one are never evicted, and writes fail loudly (OOM) rather than
   * dropping them.
   * @default 'volatile-lru'
   * @see https://redis.io/docs/latest/develop/reference/eviction/
   */
  readonly maxMemoryPolicy?: MaxMemoryPolicy;
  /**
   * Seconds between SIGTERM and SIGKILL: SHUTDOWN flushes and fsyncs the AOF.
   * @default 60
   */
  readonly terminationGracePeriodSeconds?: number;
  /**
   * Take scripting (EVAL, FUNCTION) from the applications' users. The apps may use EVAL, so it
   * stays allowed unless this is set.
   * @default false
   */
  readonly denyScripting?: boolean;
}

/**
 * Redis (official image) as the platform's cache and session store: one member with an
 * append-only file on its volume, ACL users (one per client) and a redis_exporter sidecar.
 *
 * - Configuration is charts/redis/assets/redis.conf (AOF `everysec`, no RDB snapshots) plus the
 *   per-environment `maxmemory` and `maxmemory-policy`, from a ConfigMap; a changed file rolls
 *   the pod (checksum annotation).
 * - Every client has its own ACL user and Secret (`redis-<client>`: `user(client, role)`); the
 *   default user is off. The server reads the users' password files at start and loads an ACL
 *   file of their SHA-256 hashes (start-redis.sh); no password reaches an argument or a file
 *   other than the Secrets' own.
 * - Probes run `redis-cli ping` as Bitnami's chart does: liveness accepts PONG, LOADING and
 *   MASTERDOWN; readiness requires PONG.
 * - Runs as the image's `redis` user (999) with a read-only root filesystem: it writes only to
 *   `/data` (the volume) and `/tmp`.
 *
 * A single member: the applications use one address and reconnect, and the AOF restores the
 * data after a restart. Replication with Sentinel would need client support for Sentinel.
 */
/** What each kind of user is for, in its Secret's description. */
const RULE_PURPOSE: Readonly<Record<RedisRole, string>> = {
  admin: 'administration by people (every command)',
  app: 'an application (every key; no admin or dangerous command)',
  exporter: 'redis_exporter (monitoring commands only)',
  probe: 'the probes (PING only)',
  backup: 'the backup (replication: SYNC only)',
};

export class RedisStore extends StatefulStore {
  public readonly maxMemoryMiB: number;
  public readonly maxMemoryPolicy: MaxMemoryPolicy;
  public readonly denyScripting: boolean;
  public readonly configMap: kplus.k8s.KubeConfigMap;
  public readonly scriptsConfigMap: kplus.k8s.KubeConfigMap;
  private readonly users: StoreUsers<RedisRole>;

  constructor(scope: Construct, id: string, props: RedisStoreProps) {
    const name = props.name ?? 'redis';
    super(scope, id, {
      name,
      component: 'cache',
      version: imageVersion(props.image),
      replicas: 1,
      ports: REDIS_PORTS,
      storage: props.storage,
      runAs: { uid: REDIS_UID, gid: REDIS_UID },
      metrics: { port: 'metrics' },
      terminationGracePeriodSeconds: props.terminationGracePeriodSeconds ?? 60,
    });
    this.maxMemoryMiB = props.maxMemoryMiB;
    this.maxMemoryPolicy = props.maxMemoryPolicy ?? 'volatile-lru';
    this.denyScripting = props.denyScripting ?? false;
    this.users = new StoreUsers(name, {
      title: 'Redis',
      maxLength: 63,
      purpose: (role) => RULE_PURPOSE[role],
      // The admin user's password reaches only the server (which hashes every user's).
      adminOnly: (role) => (role === 'admin' ? [`StatefulSet/${name}/redis`] : undefined),
    });
    const probe = this.user('probe', 'probe');
    const exporter = this.user('exporter', 'exporter');
    this.user('admin', 'admin');
    validate(name, props, this.maxMemoryPolicy);

    const redisConf = [
      readAsset('charts/redis/assets/redis.conf').trimEnd(),
      '',
      '# Set per environment by RedisStore (charts/redis/redis-store.ts); later lines win.',
      `maxmemory ${this.maxMemoryMiB}mb`,
      `maxmemory-policy ${this.maxMemoryPolicy}`,
      '',
    ].join('\n');
    const scripts: Record<string, string> = {
      'start-redis.sh': readAsset('charts/redis/assets/start-redis.sh'),
      'ping-liveness.sh': readAsset('charts/redis/assets/ping-liveness.sh'),
      'ping-readiness.sh': readAsset('charts/redis/assets/ping-readiness.sh'),
    };
    const ping = (script: string, timeoutSeconds: number, periodSeconds: number, failureThreshold: number): kplus.k8s.Probe => ({
      // The script's own timeout is one second shorter than the probe's, so it reports why.
      exec: { command: ['sh', `/scripts/${script}`, String(timeoutSeconds - 1)] },
      timeoutSeconds,
      periodSeconds,
      failureThreshold,
      successThreshold: 1,
    });

    const users = () => this.aclRules();
    // The users and their rules roll the pod too; their passwords are read at start.
    this.addPodAnnotation('qingyu.io/config-checksum', Lazy.any({ produce: () => contentChecksum({ 'redis.conf': redisConf, 'users.rules': users(), ...scripts }) }) as any);
    this.addContainer({
      name: 'redis',
      image: props.image,
      command: ['sh', '/scripts/start-redis.sh'],
      env: [
        // The probes log in as the probe user (`kubectl exec` users: --user admin).
        { name: 'REDIS_PROBE_USER', value: probe.keys.username.value! },
        { name: 'REDISCLI_HISTFILE', value: '/dev/null' },
      ],
      ports: this.containerPorts('redis'),
      resources: props.resources,
      // Loading a large AOF can take minutes; liveness accepts LOADING, so the startup probe
      // only has to cover the process coming up.
      startupProbe: ping('ping-liveness.sh', 5, 5, 24),
      livenessProbe: ping('ping-liveness.sh', 5, 10, 5),
      readinessProbe: ping('ping-readiness.sh', 3, 5, 3),
      volumeMounts: [
        { name: 'data', mountPath: '/data' },
        { name: 'config', mountPath: '/etc/redis', readOnly: true },
        { name: 'scripts', mountPath: '/scripts', readOnly: true },
        { name: 'tmp', mountPath: '/tmp' },
        { name: 'users', mountPath: '/secrets/users', readOnly: true },
      ],
    });
    this.addContainer({
      name: 'exporter',
      image: props.exporter.image,
      env: [
        { name: 'REDIS_ADDR', value: `redis://127.0.0.1:${REDIS_PORTS.redis}` },
        { name: 'REDIS_USER', value: exporter.keys.username.value! },
        // redis_exporter reads one target's password from the environment only.
        { name: 'REDIS_PASSWORD', valueFrom: secretKeyRef(exporter, exporter.keys.password) },
        { name: 'REDIS_EXPORTER_WEB_LISTEN_ADDRESS', value: `:${REDIS_PORTS.metrics}` },
      ],
      ports: this.containerPorts('metrics'),
      resources: props.exporter.resources,
      livenessProbe: tcpLiveness('metrics', 20, 3),
      readinessProbe: httpProbe('/health', 'metrics', 10, 2),
    }, 'exporter.resources');
    this.addVolume(
      { name: 'config', configMap: { name: `${name}-config`, defaultMode: 0o444 } },
      { name: 'scripts', configMap: { name: `${name}-scripts`, defaultMode: 0o555 } },
      scratchVolume('tmp', 64),
      // Every user's password, at /secrets/users/<user>/password: the server hashes them at start.
      {
        name: 'users',
        projected: {
          defaultMode: 0o440,
          sources: Lazy.any({
            produce: () => this.users.entries().map(([, { secret }]) => ({
              secret: { name: secret.name, items: [{ key: secret.keys.password.key, path: `${secret.keys.username.value}/password` }] },
            })),
          }) as any,
        },
      },
    );

    this.configMap = new k8s.KubeConfigMap(this, 'config', {
      metadata: { name: `${name}-config` },
      data: { 'redis.conf': redisConf, 'users.rules': Lazy.any({ produce: users }) as any },
    });
    this.scriptsConfigMap = new k8s.KubeConfigMap(this, 'scripts', {
      metadata: { name: `${name}-scripts` },
      data: scripts,
    });
  }

  /**
   * The ACL user of one client (`role` says what it may do), and the Secret `redis-<client>`
   * with its name and password. Asking again returns the same user.
   */
  public user(client: string, role: RedisRole): ClientSecret {
    return this.users.user(client, role);
  }

  /** `<user> <rules>` lines, one per user, in a stable order (start-redis.sh turns them into the ACL file). */
  private aclRules(): string {
    const rules = (role: RedisRole) => (role === 'app' && this.denyScripting ? `${RULES.app} -@scripting` : RULES[role]);
    return this.users.sorted().map(([user, { role }]) => `${user} ${rules(role)}`).join('\n') + '\n';
  }
}

function validate(name: string, props: RedisStoreProps, policy: string): void {
  if (!(MAXMEMORY_POLICIES as readonly string[]).includes(policy)) {
    throw new PropError(`'maxMemoryPolicy' of ${name} must be one of ${MAXMEMORY_POLICIES.join(', ')}, got '${policy}'`);
  }
  const limit = props.resources.memoryMiB.limit;
  const ceiling = Math.floor(limit * MAX_MEMORY_SHARE_OF_LIMIT);
  if (!Number.isInteger(props.maxMemoryMiB) || props.maxMemoryMiB < MIN_MAX_MEMORY_MIB || props.maxMemoryMiB > ceiling) {
    throw new PropError(`'maxMemoryMiB' of ${name} must be a whole number from ${MIN_MAX_MEMORY_MIB} to ${ceiling} `
      + `(${MAX_MEMORY_SHARE_OF_LIMIT * 100}% of the ${limit}Mi memory limit, leaving room for copy-on-write during AOF rewrites), got ${props.maxMemoryMiB}`);
  }
}
