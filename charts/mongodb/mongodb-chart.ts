import { Construct } from 'constructs';

import { PlatformConfig } from '../../config';
import { fromSettings } from '../../lib/errors';
import { PlatformChart } from '../../lib/platform-chart';
import { MongoReplicaSet } from './mongo-replica-set';

export interface MongoDbChartProps {
  readonly config: PlatformConfig;
}

/**
 * MongoDB 7.0, the document store of go-backend and python-ai: the replica set `rs0` as a
 * StatefulSet that initiates itself, heals itself and steps its primary down before it stops.
 * Three members in production and staging, one in development (still a replica set, so the
 * connection string has the same shape everywhere). Settings: `mongodb` in config/environments.ts.
 */
export class MongoDbChart extends PlatformChart {
  /** Applications connect to every member: `replicaSet.memberEndpoint('mongodb')`. */
  public readonly replicaSet: MongoReplicaSet;

  constructor(scope: Construct, id: string, props: MongoDbChartProps) {
    super(scope, id, { platform: props.config });
    const { config } = props;
    this.replicaSet = fromSettings(`config ${config.environment}.mongodb`, () => new MongoReplicaSet(this, 'mongodb', config.mongodb));
  }
}
