import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { RedisConfig } from '../../config';
import { contentChecksum, readAsset } from '../../lib/assets';
import { httpProbe, imageName, imageVersion, resourceRequirements, restrictedContainerSecurity, scratchVolume, tcpLiveness } from '../../lib/pod';
import { addServiceMonitor, MetricsScraper } from '../../lib/metrics';
import { SECRETS, secretKeyRef } from '../../lib/secrets';
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

export interface RedisStoreProps {
  /** Image, storage, resources, maxmemory and exporter of this environment. */
  readonly config: RedisConfig;
  readonly scraper: MetricsScraper;
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
    const { config } = props;
    const name = props.name ?? 'redis';
    const maxMemoryPolicy = props.maxMemoryPolicy ?? 'volatile-lru';
    validate(name, config, maxMemoryPolicy);

    const redisConf = [
      readAsset('charts/redis/assets/redis.conf').trimEnd(),
      '',
      '# Set per environment by RedisStore (lib/redis-store.ts); later lines win.',
      `maxmemory ${config.maxMemoryMiB}mb`,
      `maxmemory-policy ${maxMemoryPolicy}`,
      '',
    ].join('\n');
    const scripts: Record<string, string> = {
      'start-redis.sh': readAsset('charts/redis/assets/start-redis.sh'),
      'ping-liveness.sh': readAsset('charts/redis/assets/ping-liveness.sh'),
      'ping-readiness.sh': readAsset('charts/redis/assets/ping-readiness.sh'),
    };
    const configMapName = `${name}-config`;
    const scriptsConfigMapName = `${name}-scripts`;
    const auth = SECRETS.redis;
    const password = secretKeyRef(auth, auth.keys.password);

    const ping = (script: string, timeoutSeconds: number, periodSeconds: number, failureThreshold: number): kplus.k8s.Probe => ({
      // The script's own timeout is one second shorter than the probe's, so it reports why.
      exec: { command: ['sh', `/scripts/${script}`, String(timeoutSeconds - 1)] },
      timeoutSeconds,
      periodSeconds,
      failureThreshold,
      successThreshold: 1,
    });
    const exporterHealth = (periodSeconds: number, failureThreshold: number) => httpProbe('/health', 'metrics', periodSeconds, failureThreshold);

    super(scope, id, {
      name,
      component: 'cache',
      version: imageVersion(config.image),
      replicas: 1,
      ports: [
        { name: 'redis', port: REDIS_PORTS.redis },
        { name: 'metrics', port: REDIS_PORTS.metrics },
      ],
      resources: config.resources,
      storage: config.storage,
      runAs: { uid: REDIS_UID, gid: REDIS_UID },
      metricsPortName: 'metrics',
      terminationGracePeriodSeconds: props.terminationGracePeriodSeconds ?? 60,
      podAnnotations: { 'qingyu.io/config-checksum': contentChecksum({ 'redis.conf': redisConf, ...scripts }) },
      containers: [
        {
          name: 'redis',
          image: imageName(config.image),
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '/scripts/start-redis.sh'],
          env: [
            { name: 'REDIS_PASSWORD', valueFrom: password },
            // redis-cli (probes, `kubectl exec`) reads the password from here.
            { name: 'REDISCLI_AUTH', valueFrom: password },
            { name: 'REDISCLI_HISTFILE', value: '/dev/null' },
          ],
          ports: [{ name: 'redis', containerPort: REDIS_PORTS.redis, protocol: 'TCP' }],
          resources: resourceRequirements(config.resources),
          securityContext: restrictedContainerSecurity(),
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
        },
        {
          name: 'exporter',
          image: imageName(config.exporter.image),
          imagePullPolicy: 'IfNotPresent',
          env: [
            { name: 'REDIS_ADDR', value: `redis://127.0.0.1:${REDIS_PORTS.redis}` },
            { name: 'REDIS_PASSWORD', valueFrom: password },
            { name: 'REDIS_EXPORTER_WEB_LISTEN_ADDRESS', value: `:${REDIS_PORTS.metrics}` },
          ],
          ports: [{ name: 'metrics', containerPort: REDIS_PORTS.metrics, protocol: 'TCP' }],
          resources: resourceRequirements(config.exporter.resources),
          securityContext: restrictedContainerSecurity(),
          livenessProbe: tcpLiveness('metrics', 20, 3),
          readinessProbe: exporterHealth(10, 2),
        },
      ],
      volumes: [
        { name: 'config', configMap: { name: configMapName, defaultMode: 0o444 } },
        { name: 'scripts', configMap: { name: scriptsConfigMapName, defaultMode: 0o555 } },
        scratchVolume('tmp', 64),
      ],
    });

    this.maxMemoryMiB = config.maxMemoryMiB;
    this.maxMemoryPolicy = maxMemoryPolicy;

    this.configMap = new k8s.KubeConfigMap(this, 'config', {
      metadata: { name: configMapName },
      data: { 'redis.conf': redisConf },
    });
    this.scriptsConfigMap = new k8s.KubeConfigMap(this, 'scripts', {
      metadata: { name: scriptsConfigMapName },
      data: scripts,
    });

    addServiceMonitor(this, 'service-monitor', {
      target: this,
      portName: 'metrics',
      port: REDIS_PORTS.metrics,
      scraper: props.scraper,
    });
  }
}

function validate(name: string, config: RedisConfig, policy: string): void {
  if (!(MAXMEMORY_POLICIES as readonly string[]).includes(policy)) {
    throw new Error(`'maxMemoryPolicy' of ${name} must be one of ${MAXMEMORY_POLICIES.join(', ')}, got '${policy}'`);
  }
  const limit = config.resources.memoryMiB.limit;
  const ceiling = Math.floor(limit * MAX_MEMORY_SHARE_OF_LIMIT);
  if (!Number.isInteger(config.maxMemoryMiB) || config.maxMemoryMiB < 1 || config.maxMemoryMiB > ceiling) {
    throw new Error(`'maxMemoryMiB' of ${name} must be a whole number between 1 and ${ceiling} (${MAX_MEMORY_SHARE_OF_LIMIT * 100}% of the ${limit}Mi memory limit, leaving room for copy-on-write during AOF rewrites), got ${config.maxMemoryMiB}`);
  }
}


