import { Construct } from 'constructs';

import { PlatformConfig } from '../../config';
import { fromSettings } from '../../lib/errors';
import { PlatformChart } from '../../lib/platform-chart';
import { RedisStore } from './redis-store';

export interface RedisChartProps {
  readonly config: PlatformConfig;
}

/**
 * Redis, the cache and session store of go-backend and python-ai: append-only persistence,
 * password authentication from the `redis-auth` Secret, `volatile-lru` eviction at maxmemory
 * and a redis_exporter sidecar. Settings: `redis` in config/environments.ts.
 */
export class RedisChart extends PlatformChart {
  /** Applications connect to `redis.endpoint('redis')`. */
  public readonly redis: RedisStore;

  constructor(scope: Construct, id: string, props: RedisChartProps) {
    super(scope, id, { platform: props.config });
    const { config } = props;
    this.redis = fromSettings(`config ${config.environment}.redis`, () => new RedisStore(this, 'redis', config.redis));
  }
}
