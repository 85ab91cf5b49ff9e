import { Construct } from 'constructs';

import { PlatformConfig } from '../../config';
import { readAsset } from '../../lib/assets';
import { BackupJob, BackupStep, BackupTarget, RestorePlan } from '../../lib/backup';
import { Endpoint } from '../../lib/component';
import { fromSettings } from '../../lib/errors';
import { FlowTable } from '../../lib/flows';
import { PlatformChart } from '../../lib/platform-chart';
import { SecretKey, SECRETS, SecretSpec } from '../../lib/secrets';
import { EtcdCluster } from './etcd-cluster';
import { EtcdDefrag } from './etcd-defrag';
import { MilvusAuth } from './milvus-auth';
import { MilvusStandalone } from './milvus-standalone';
import { MinioStore } from './minio-store';

export interface MilvusChartProps {
  readonly config: PlatformConfig;
}

/**
 * The vector database stack: Milvus standalone with its metadata in etcd and its segments and
 * indexes in MinIO (or an external S3 store), each a StatefulSet with its own volume and probes.
 * Settings: `milvus` in config/environments.ts.
 *
 *   python-ai --grpc--> milvus --client--> etcd
 *                              --api-----> minio (bucket created by milvus's init container)
 *   milvus-auth (Job) --grpc--> milvus (root: every client's user, role and grants)
 */
export class MilvusChart extends PlatformChart {
  public readonly etcd: EtcdCluster;
  /** The in-cluster object store, when `milvus.objectStorage.type` is `minio`. */
  public readonly minio?: MinioStore;
  /** Milvus; python-ai connects to `milvus.endpoint('grpc')`. */
  public readonly milvus: MilvusStandalone;
  /** Milvus's users and grants; clients get theirs with `auth.user(client)`. */
  public readonly auth: MilvusAuth;
  /** The scheduled defragmentation of etcd. */
  public readonly etcdDefrag: EtcdDefrag;
  private readonly config: PlatformConfig;

  constructor(scope: Construct, id: string, props: MilvusChartProps) {
    super(scope, id, { platform: props.config });
    this.config = props.config;
    const settings = `config ${props.config.environment}.milvus`;
    const config = props.config.milvus;
    const os = config.objectStorage;

    this.etcd = fromSettings(`${settings}.etcd`, () => new EtcdCluster(this, 'etcd', config.etcd));
    if (os.type === 'minio') {
      this.minio = fromSettings(`${settings}.objectStorage`, () => new MinioStore(this, 'minio', os));
    }
    this.milvus = fromSettings(settings, () => new MilvusStandalone(this, 'milvus', {
      image: config.image,
      storage: config.storage,
      resources: config.resources,
      etcd: this.etcd,
      objectStore: os.type === 'minio'
        ? { kind: 'minio', minio: this.minio!, clientImage: os.clientImage }
        : { kind: 's3', ...os, credentials: SECRETS.objectStore },
    }));
    this.auth = fromSettings(`${settings}.authImage`, () => new MilvusAuth(this, 'auth', {
      milvus: this.milvus,
      image: config.authImage,
      maxWaitSeconds: this.milvus.maxStartupSeconds,
    }));
    this.etcdDefrag = fromSettings(`${settings}.etcd.defragSchedule`, () => new EtcdDefrag(this, 'etcd-defrag', {
      etcd: this.etcd,
      image: config.etcd.image,
      schedule: config.etcd.defragSchedule,
      timeZone: props.config.timeZone,
      resources: props.config.backup.resources,
    }));
  }

  /**
   * The scheduled backups: etcd's snapshot alone (often: the metadata, for an etcd loss with the
   * segments intact), and Milvus as a consistent pair (nightly: the snapshot, then a copy of the
   * bucket). milvus-backup was the first choice, but no release restores into Milvus 2.3 (its
   * README: backups from 2.2, restores to 2.4 and later); it is the way to migrate off 2.3.
   */
  public backUp(target: BackupTarget): BackupJob[] {
    const c = this.config;
    const settings = `config ${c.environment}.milvus`;
    const etcd = this.etcd.endpoint('client');
    const snapshot: BackupStep = {
      name: 'etcd-snapshot',
      image: c.milvus.etcd.image,
      resources: c.backup.resources,
      // The image is distroless: etcdctl itself, no shell.
      command: ['/usr/local/bin/etcdctl', `--endpoints=http://${etcd.address}`, 'snapshot', 'save', '/scratch/etcd.db'],
    };
    const stops = ['tier=app', `statefulset/${this.milvus.statefulSet.name}`, `statefulset/${this.etcd.statefulSet.name}`];
    const etcdRestore: Pick<RestorePlan, 'claims' | 'runAs' | 'steps' | 'unsupported'> = {
      claims: { [`data-${this.etcd.statefulSet.name}-0`]: this.etcd.dataMount },
      runAs: this.etcd.runAs,
      steps: [
        { name: 'aside', like: 'upload', command: ['/bin/sh', '/scripts/restore-aside.sh', this.etcd.dataDir] },
        { name: 'etcd', like: 'etcd-snapshot', command: ['/usr/local/bin/etcdutl', 'snapshot', 'restore', '/scratch/restore/etcd.db', ...this.etcd.restoreFlags] },
      ],
      ...(this.etcd.replicas > 1
        ? { unsupported: `etcd has ${this.etcd.replicas} members: restore each member from the snapshot by hand (etcd's disaster-recovery guide); restore.sh restores a single member` }
        : {}),
    };
    const etcdJob = fromSettings(`${settings}.etcd.backup`, () => new BackupJob(this, 'etcd-backup', {
      store: 'etcd',
      schedule: c.milvus.etcd.backup,
      timeZone: c.timeZone,
      settings: c.backup,
      target,
      steps: [snapshot],
      scripts: { 'restore-aside.sh': readAsset('charts/milvus/assets/restore-aside.sh') },
      scratchGiB: Math.max(1, Math.ceil(this.etcd.quotaBackendBytes / 1024 ** 3)),
      storageClassName: c.milvus.etcd.storage.storageClassName,
      restore: { stops, ...etcdRestore },
    }));
    etcdJob.connect(etcd, 'backup dump');

    const bucket = this.bucketAccess();
    const milvusJob = fromSettings(`${settings}.backup`, () => new BackupJob(this, 'milvus-backup', {
      store: 'milvus',
      schedule: c.milvus.backup,
      timeZone: c.timeZone,
      settings: c.backup,
      target,
      steps: [snapshot, {
        name: 'bucket',
        image: c.backup.clientImage,
        resources: c.backup.resources,
        command: ['/bin/sh', '/scripts/backup-bucket.sh'],
        env: [...bucket.env, { name: 'MC_CONFIG_DIR', value: '/tmp/.mc' }],
        volumeMounts: [{ name: 'bucket-credentials', mountPath: '/secrets/bucket', readOnly: true }],
      }],
      volumes: [bucket.credentials],
      scripts: {
        'backup-bucket.sh': readAsset('charts/milvus/assets/backup-bucket.sh'),
        'restore-bucket.sh': readAsset('charts/milvus/assets/restore-bucket.sh'),
        'restore-aside.sh': readAsset('charts/milvus/assets/restore-aside.sh'),
      },
      scratchGiB: bucket.sizeGiB + Math.max(1, Math.ceil(this.etcd.quotaBackendBytes / 1024 ** 3)),
      storageClassName: c.milvus.storage.storageClassName,
      // Milvus and etcd stopped; etcd's data directory rebuilt from the snapshot, the bucket made
      // the copy's (the object store keeps running), and Milvus's RocksMQ moved aside: kept, it
      // would replay every insert since the snapshot's channel checkpoints on top of the
      // restored metadata (the drill saw 500 entities written after the backup come back).
      activeDeadlineSeconds: 6 * 3600,
      restore: {
        stops,
        ...etcdRestore,
        claims: { ...etcdRestore.claims, [`data-${this.milvus.statefulSet.name}-0`]: this.milvus.dataMount },
        ...(bucket.restoreSecret ? { secret: bucket.restoreSecret.name } : {}),
        steps: [
          ...etcdRestore.steps,
          { name: 'milvus-aside', like: 'upload', command: ['/bin/sh', '/scripts/restore-aside.sh', ...this.milvus.localStateDirs] },
          { name: 'bucket', like: 'bucket', command: ['/bin/sh', '/scripts/restore-bucket.sh'] },
        ],
      },
    }));
    milvusJob.connect(etcd, 'backup dump');
    bucket.connect(milvusJob);
    return [etcdJob, milvusJob];
  }

  /**
   * How the bucket copy reaches Milvus's object store; `restoreSecret`: the key a restore writes
   * the bucket with (Milvus's own: the backup's key only reads), mounted at /secrets/restore.
   */
  private bucketAccess(): { env: any[]; credentials: any; restoreSecret?: SecretSpec; sizeGiB: number; connect: (job: BackupJob) => void } {
    const os = this.config.milvus.objectStorage;
    const credentials = (secret: SecretSpec, accessKey: SecretKey, secretKey: SecretKey) => ({
      name: 'bucket-credentials',
      secret: {
        secretName: secret.name,
        items: [{ key: accessKey.key, path: 'access-key' }, { key: secretKey.key, path: 'secret-key' }],
        defaultMode: 0o440,
      },
    });
    if (os.type === 'minio') {
      const api: Endpoint = this.minio!.endpoint('api');
      // The backup's own MinIO user: it reads Milvus's bucket, nothing more.
      const user = this.minio!.user('backup', { [os.bucket]: 'read' });
      return {
        env: [{ name: 'S3_URL', value: `http://${api.address}` }, { name: 'S3_BUCKET', value: os.bucket }],
        credentials: credentials(user, user.keys.accessKey, user.keys.secretKey),
        restoreSecret: this.minio!.user(this.milvus.name, { [os.bucket]: 'readwrite' }),
        sizeGiB: os.storage.sizeGiB,
        connect: (job) => job.connect(api, 'backup of the bucket'),
      };
    }
    return {
      env: [{ name: 'S3_URL', value: `${os.tls ? 'https' : 'http'}://${os.endpoint}:${os.port}` }, { name: 'S3_BUCKET', value: os.bucket }],
      credentials: credentials(SECRETS.objectStore, SECRETS.objectStore.keys.accessKeyId, SECRETS.objectStore.keys.secretAccessKey),
      restoreSecret: undefined,
      // The external bucket is not sized here: a copy as large as Milvus's own volume.
      sizeGiB: this.config.milvus.storage.sizeGiB,
      connect: (job) => FlowTable.of(job).add({
        from: job.peer,
        to: { kind: 'cidr', cidrs: os.cidrs, except: [], description: `S3 endpoint ${os.endpoint}` },
        port: os.port,
        protocol: 'TCP',
        purpose: 'backup of the bucket',
      }),
    };
  }
}
