import { Construct } from 'constructs';

import { PlatformConfig } from '../../config';
import { readAsset } from '../../lib/assets';
import { BackupJob, BackupTarget } from '../../lib/backup';
import { fromSettings } from '../../lib/errors';
import { PlatformChart } from '../../lib/platform-chart';
import { SECRETS } from '../../lib/secrets';
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

  private readonly config: PlatformConfig;

  constructor(scope: Construct, id: string, props: MongoDbChartProps) {
    super(scope, id, { platform: props.config });
    const { config } = props;
    this.config = config;
    this.replicaSet = fromSettings(`config ${config.environment}.mongodb`, () => new MongoReplicaSet(this, 'mongodb', config.mongodb));
  }

  /**
   * The scheduled backup: `mongodump --oplog` from a secondary as the `backup` user, uploaded to
   * `target`. Chosen over Percona Backup for MongoDB (PBM): a dump with its oplog is consistent
   * at one point in time, needs no agent beside every member and no second storage
   * configuration, and restores with the stock mongorestore; PBM's continuous point-in-time
   * recovery is worth its agents only when the RPO must go below the dump interval (README).
   */
  public backUp(target: BackupTarget): BackupJob {
    const c = this.config;
    const members = this.replicaSet.memberEndpoint('mongodb');
    const user = this.replicaSet.user('backup', 'backup');
    const job = fromSettings(`config ${c.environment}.mongodb.backup`, () => new BackupJob(this, 'backup', {
      store: 'mongodb',
      schedule: c.mongodb.backup,
      timeZone: c.timeZone,
      settings: c.backup,
      target,
      steps: [{
        name: 'dump',
        image: c.mongodb.image,
        resources: c.backup.resources,
        command: ['/bin/sh', '/scripts/backup-dump.sh'],
        env: [
          { name: 'MEMBER_HOSTS', value: members.hostPorts },
          { name: 'REPLICA_SET_NAME', value: this.replicaSet.replicaSetName },
        ],
        volumeMounts: [{ name: 'mongodb-credentials', mountPath: '/secrets/mongodb', readOnly: true }],
      }],
      volumes: [{ name: 'mongodb-credentials', secret: { secretName: user.name, defaultMode: 0o440 } }],
      scripts: {
        'backup-dump.sh': readAsset('charts/mongodb/assets/backup-dump.sh'),
        'restore-dump.sh': readAsset('charts/mongodb/assets/restore-dump.sh'),
      },
      // A compressed dump is smaller than the data it comes from.
      scratchGiB: c.mongodb.storage.sizeGiB,
      storageClassName: c.mongodb.storage.storageClassName,
      // Online, through the primary, with the applications stopped; root only here.
      restore: {
        stops: ['tier=app'],
        secret: SECRETS.mongodbRoot.name,
        steps: [{ name: 'replay', like: 'dump', command: ['/bin/sh', '/scripts/restore-dump.sh'] }],
      },
    }));
    job.connect(members, 'backup dump');
    return job;
  }
}
