import { Construct } from 'constructs';

import { PlatformConfig } from '../../config';
import { fromSettings } from '../../lib/errors';
import { PlatformChart } from '../../lib/platform-chart';
import { SECRETS } from '../../lib/secrets';
import { EtcdCluster } from './etcd-cluster';
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
 */
export class MilvusChart extends PlatformChart {
  public readonly etcd: EtcdCluster;
  /** The in-cluster object store, when `milvus.objectStorage.type` is `minio`. */
  public readonly minio?: MinioStore;
  /** Milvus; python-ai connects to `milvus.endpoint('grpc')`. */
  public readonly milvus: MilvusStandalone;

  constructor(scope: Construct, id: string, props: MilvusChartProps) {
    super(scope, id, { platform: props.config });
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
  }
}
