import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

import { contentChecksum, readAsset } from '../../lib/assets';
import { PropError } from '../../lib/errors';
import { httpProbe, ImageRef, imageVersion, ResourceSpec, scratchVolume, StorageSpec, tcpLiveness } from '../../lib/pod';
import { secretKeyRef, SECRETS } from '../../lib/secrets';
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
}

/**
 * Redis (official image) as the platform's cache and session store: one member with an
 * append-only file on its volume, password authentication and a redis_exporter sidecar.
 *
 * - Configuration is charts/redis/assets/redis.conf (AOF `everysec`, no RDB snapshots) plus the
 *   per-environment `maxmemory` and `maxmemory-policy`, from a ConfigMap; a changed file rolls
 *   the pod (checksum annotation).
 * - The password (Secret `redis-auth`) reaches the server on standard input (start-redis.sh) and
 *   redis-cli and the exporter through environment variables, never through arguments.
 * - Probes run `redis-cli ping` as Bitnami's chart does: liveness accepts PONG, LOADING and
 *   MASTERDOWN; readiness requires PONG.
 * - Runs as the image's `redis` user (999) with a read-only root filesystem: it writes only to
 *   `/data` (the volume) and `/tmp`.
 *
 * A single member: the applications use one address and reconnect, and the AOF restores the
 * data after a restart. Replication with Sentinel would need client support for Sentinel.
 */
export class RedisStore extends StatefulStore {
  public readonly maxMemoryMiB: number;
  public readonly maxMemoryPolicy: MaxMemoryPolicy;
  /** The Secret and key holding the password clients authenticate with. */
  public readonly auth = SECRETS.redis;
  public readonly configMap: kplus.k8s.KubeConfigMap;
  public readonly scriptsConfigMap: kplus.k8s.KubeConfigMap;

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
    const password = secretKeyRef(this.auth, this.auth.keys.password);
    const ping = (script: string, timeoutSeconds: number, periodSeconds: number, failureThreshold: number): kplus.k8s.Probe => ({
      // The script's own timeout is one second shorter than the probe's, so it reports why.
      exec: { command: ['sh', `/scripts/${script}`, String(timeoutSeconds - 1)] },
      timeoutSeconds,
      periodSeconds,
      failureThreshold,
      successThreshold: 1,
    });

    this.addPodAnnotation('qingyu.io/config-checksum', contentChecksum({ 'redis.conf': redisConf, ...scripts }));
    this.addContainer({
      name: 'redis',
      image: props.image,
      command: ['sh', '/scripts/start-redis.sh'],
      env: [
        { name: 'REDIS_PASSWORD', valueFrom: password },
        // redis-cli (probes, `kubectl exec`) reads the password from here.
        { name: 'REDISCLI_AUTH', valueFrom: password },
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
      ],
    });
    this.addContainer({
      name: 'exporter',
      image: props.exporter.image,
      env: [
        { name: 'REDIS_ADDR', value: `redis://127.0.0.1:${REDIS_PORTS.redis}` },
        { name: 'REDIS_PASSWORD', valueFrom: password },
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
    );

    this.configMap = new k8s.KubeConfigMap(this, 'config', {
      metadata: { name: `${name}-config` },
      data: { 'redis.conf': redisConf },
    });
    this.scriptsConfigMap = new k8s.KubeConfigMap(this, 'scripts', {
      metadata: { name: `${name}-scripts` },
      data: scripts,
    });
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
