import { Construct } from 'constructs';
import { MetricsScraper } from '../../lib/metrics';
import { MongoReplicaSet } from './mongo-replica-set';
import { PlatformChart, PlatformChartProps } from '../../lib/platform-chart';

export interface MongoDbChartProps extends PlatformChartProps {
  readonly scraper: MetricsScraper;
}

/**
 * MongoDB 7.0, the document store of go-backend and python-ai: the replica set `rs0` as a
 * StatefulSet that initiates itself, heals itself and steps its primary down before it stops.
 * Three members in production and staging, one in development (still a replica set, so the
 * connection string has the same shape everywhere).
 */
export class MongoDbChart extends PlatformChart {
  /** Applications connect to every member: `replicaSet.memberEndpoint('mongodb')`. */
  public readonly replicaSet: MongoReplicaSet;

  constructor(scope: Construct, id: string, props: MongoDbChartProps) {
    super(scope, id, props);
    const c = this.config.mongodb;
    this.replicaSet = new MongoReplicaSet(this, 'mongodb', {
      image: c.image,
      replicas: c.replicas,
      replicaSetName: c.replicaSetName,
      database: c.database,
      storage: c.storage,
      resources: c.resources,
      exporter: c.exporter,
      scraper: props.scraper,
    });
  }
}
