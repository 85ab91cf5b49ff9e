import { Construct } from 'constructs';

import { PlatformConfig } from '../../config';
import { readAsset } from '../../lib/assets';
import { BackupJob, BackupTarget } from '../../lib/backup';
import { fromSettings } from '../../lib/errors';
import { PlatformChart } from '../../lib/platform-chart';
import { RedisStore } from './redis-store';

export interface RedisChartProps {
  readonly config: PlatformConfig;
}

/**
 * Redis, the cache and session store of go-backend and python-ai: append-only persistence,
 * ACL users (one per client, each from its own Secret `redis-<client>`), `volatile-lru` eviction at maxmemory
 * and a redis_exporter sidecar. Settings: `redis` in config/environments.ts.
 */
export class RedisChart extends PlatformChart {
  /** Applications connect to `redis.endpoint('redis')`. */
  public readonly redis: RedisStore;

  private readonly config: PlatformConfig;

  constructor(scope: Construct, id: string, props: RedisChartProps) {
    super(scope, id, { platform: props.config });
    const { config } = props;
    this.config = config;
    this.redis = fromSettings(`config ${config.environment}.redis`, () => new RedisStore(this, 'redis', config.redis));
  }

  /**
   * The scheduled backup: `redis-cli --rdb` (an RDB of every key, consistent at one instant)
   * uploaded to `target`. A restore installs it as the base of a fresh AOF, with Redis stopped.
   */
  public backUp(target: BackupTarget): BackupJob {
    const c = this.config;
    const redis = this.redis.endpoint('redis');
    const user = this.redis.user('backup', 'backup');
    const job = fromSettings(`config ${c.environment}.redis.backup`, () => new BackupJob(this, 'backup', {
      store: 'redis',
      schedule: c.redis.backup,
      timeZone: c.timeZone,
      settings: c.backup,
      target,
      steps: [{
        name: 'dump',
        image: c.redis.image,
        resources: c.backup.resources,
        command: ['/bin/sh', '/scripts/backup-dump.sh'],
        env: [
          { name: 'REDIS_HOST', value: redis.hosts[0] },
          { name: 'REDIS_PORT', value: String(redis.port) },
          { name: 'REDISCLI_USER', value: user.keys.username.value! },
        ],
        volumeMounts: [{ name: 'redis-credentials', mountPath: '/secrets/redis', readOnly: true }],
      }],
      volumes: [{
        name: 'redis-credentials',
        secret: { secretName: user.name, items: [{ key: user.keys.password.key, path: 'password' }], defaultMode: 0o440 },
      }],
      scripts: { 'backup-dump.sh': readAsset('charts/redis/assets/backup-dump.sh'), 'restore-dump.sh': readAsset('charts/redis/assets/restore-dump.sh') },
      scratchGiB: c.redis.storage.sizeGiB,
      storageClassName: c.redis.storage.storageClassName,
      // Redis stopped (and its clients), its volume mounted: the RDB becomes the AOF's base.
      restore: {
        stops: ['tier=app', `statefulset/${this.redis.statefulSet.name}`],
        claims: { [`data-${this.redis.statefulSet.name}-0`]: '/data' },
        runAs: this.redis.runAs,
        steps: [{ name: 'install', like: 'dump', command: ['/bin/sh', '/scripts/restore-dump.sh'] }],
      },
    }));
    job.connect(redis, 'backup dump');
    return job;
  }
}
