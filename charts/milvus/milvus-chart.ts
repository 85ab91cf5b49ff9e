import { Construct } from 'constructs';
import { MinioConfig, S3ObjectStorageConfig } from '../../config';
import { EtcdCluster } from './etcd-cluster';
import { MetricsScraper } from '../../lib/metrics';
import { MilvusStandalone } from './milvus-standalone';
import { MinioStore } from './minio-store';
import { PlatformChart, PlatformChartProps } from '../../lib/platform-chart';
import { SECRETS } from '../../lib/secrets';

export interface MilvusChartProps extends PlatformChartProps {
  readonly scraper: MetricsScraper;
}

/**
 * The vector database stack: Milvus standalone with its metadata in etcd and its segments and
 * indexes in MinIO, each a StatefulSet with its own volume, probes and ServiceMonitor.
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
    super(scope, id, props);
    const { milvus: config } = this.config;
    const { scraper } = props;

    this.etcd = new EtcdCluster(this, 'etcd', { config: config.etcd, scraper });
    const os = config.objectStorage;
    if (os.type === 'minio') this.minio = new MinioStore(this, 'minio', { config: os, scraper });
    this.milvus = new MilvusStandalone(this, 'milvus', {
      config,
      etcd: this.etcd,
      objectStore: this.minio
        ? { kind: 'minio', minio: this.minio, clientImage: (os as MinioConfig).clientImage }
        : { kind: 's3', ...(os as S3ObjectStorageConfig), credentials: SECRETS.objectStore },
      scraper,
    });
  }
}
