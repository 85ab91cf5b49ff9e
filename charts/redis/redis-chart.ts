import { Construct } from 'constructs';
import { MetricsScraper } from '../../lib/metrics';
import { PlatformChart, PlatformChartProps } from '../../lib/platform-chart';
import { RedisStore } from './redis-store';

export interface RedisChartProps extends PlatformChartProps {
  readonly scraper: MetricsScraper;
}

/**
 * Redis, the cache and session store of go-backend and python-ai: append-only persistence,
 * password authentication from the `redis-auth` Secret, `volatile-lru` eviction at maxmemory
 * and a redis_exporter sidecar.
 */
export class RedisChart extends PlatformChart {
  /** Applications connect to `redis.endpoint('redis')`. */
  public readonly redis: RedisStore;

  constructor(scope: Construct, id: string, props: RedisChartProps) {
    super(scope, id, props);
    this.redis = new RedisStore(this, 'redis', { config: this.config.redis, scraper: props.scraper });
  }
}
