import { createHash } from 'node:crypto';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ImageRef, MilvusConfig } from '../config';
import { readAsset } from './assets';
import { Endpoint } from './component';
import { imageName, imageVersion } from './image';
import { addServiceMonitor, MetricsScraper } from './metrics';
import { MinioStore } from './minio-store';
import { resourceRequirements, restrictedContainerSecurity, scratchVolume } from './pod-defaults';
import { httpProbe, tcpLiveness } from './probes';
import { secretKeyRef } from './secrets';
import { StatefulStore } from './stateful-store';

const k8s = kplus.k8s;

export const MILVUS_PORTS = { grpc: 19530, metrics: 9091 } as const;

/**
 * The image sets no user (it would run as root under tini) and its files under /milvus are
 * world-readable, so any non-root uid works; 10001 matches the application tier.
 */
const MILVUS_UID = 10001;
const DATA_DIR = '/var/lib/milvus';

/** MinIO's client at the release cut next to the server's RELEASE.2023-03-20T20-16-18Z. */
export const DEFAULT_MC_IMAGE: ImageRef = { repository: 'quay.io/minio/mc', tag: 'RELEASE.2023-03-20T17-17-53Z' };

export interface MilvusStandaloneProps {
  /** Image, storage and resources of this environment. */
  readonly config: MilvusConfig;
  /** The metadata store; Milvus connects to its client Service on the `client` port. */
  readonly etcd: StatefulStore;
  /** The object store; Milvus connects to its `api` port and uses its bucket and root user. */
  readonly minio: MinioStore;
  readonly scraper: MetricsScraper;
  /**
   * Name of the StatefulSet and its Services; python-ai connects to `<name>:19530`.
   * @default 'milvus'
   */
  readonly name?: string;
  /**
   * Prefix of every object Milvus writes in the bucket (`minio.rootPath`).
   * @default 'files' (the image's milvus.yaml default)
   */
  readonly rootPath?: string;
  /**
   * Image of the `create-bucket` init container (it needs `mc` and `/bin/sh`).
   * @default - quay.io/minio/mc:RELEASE.2023-03-20T17-17-53Z
   */
  readonly mcImage?: ImageRef;
  /**
   * Slowest acceptable start (etcd and MinIO connections, the RocksMQ and segment recovery):
   * the startup probe allows this long before liveness takes over.
   * @default 600
   */
  readonly maxStartupSeconds?: number;
}

/**
 * Milvus in standalone mode (`milvus run standalone`) with external etcd and MinIO.
 *
 * - Configured through environment overrides: Milvus matches `ETCD_ENDPOINTS`, `MINIO_ADDRESS`,
 *   `MINIO_ACCESS_KEY_ID`... to `etcd.endpoints`, `minio.address`, `minio.accessKeyID` by
 *   lower-casing and dropping `_` and `.` (pkg/util/paramtable). The image's own milvus.yaml
 *   provides everything else, so nothing is written into the image (the Helm chart's merge
 *   script does, which a read-only root filesystem forbids). Service links are off in every
 *   StatefulStore: Kubernetes' `MINIO_PORT=tcp://...` would otherwise override `minio.port`.
 * - Reads and writes only `/var/lib/milvus` (the `data` volume: RocksMQ, local segment cache),
 *   `/run/milvus` (its pid-file lock) and `/tmp`; the root filesystem is read-only.
 * - One replica, always: standalone keeps its message queue (RocksMQ) and a pid lock on its
 *   ReadWriteOnce volume, so a second pod could neither mount nor share it. A StatefulSet never
 *   runs two pods of one ordinal, which a Deployment's rolling update would.
 * - The `create-bucket` init container makes the bucket before Milvus starts (and waits for
 *   MinIO), so a missing bucket or wrong credentials show as one clear init failure.
 * - Probed on `/healthz` (metrics port); the startup probe covers recovery after a restart.
 */
export class MilvusStandalone extends StatefulStore {
  public readonly rootPath: string;
  public readonly bucket: string;
  /** The etcd and MinIO endpoints it is configured with (the flows are recorded). */
  public readonly etcdEndpoint: Endpoint;
  public readonly minioEndpoint: Endpoint;

  constructor(scope: Construct, id: string, props: MilvusStandaloneProps) {
    const { config, minio } = props;
    const name = props.name ?? 'milvus';
    const rootPath = props.rootPath ?? 'files';
    const maxStartupSeconds = props.maxStartupSeconds ?? 600;
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(rootPath) || rootPath.endsWith('/')) {
      throw new Error(`'rootPath' of ${name} must be an object key prefix of letters, digits, '.', '_', '-' or '/', not ending in '/', got '${rootPath}'`);
    }
    if (!Number.isInteger(maxStartupSeconds) || maxStartupSeconds < 60) {
      throw new Error(`'maxStartupSeconds' of ${name} must be a whole number of at least 60, got ${maxStartupSeconds}`);
    }
    const etcd = props.etcd.endpoint('client');
    const s3 = minio.endpoint('api');
    const credentials = minio.rootCredentials;
    const script = readAsset('assets/milvus/create-bucket.sh');
    const scriptsConfigMap = `${name}-scripts`;

    const healthz = (periodSeconds: number, failureThreshold: number, timeoutSeconds: number) =>
      httpProbe('/healthz', 'metrics', periodSeconds, failureThreshold, timeoutSeconds);

    super(scope, id, {
      name,
      component: 'vector-database',
      version: imageVersion(config.image),
      replicas: 1,
      ports: [
        { name: 'grpc', port: MILVUS_PORTS.grpc },
        { name: 'metrics', port: MILVUS_PORTS.metrics },
      ],
      resources: config.resources,
      storage: config.storage,
      runAs: { uid: MILVUS_UID, gid: MILVUS_UID },
      metricsPortName: 'metrics',
      // Longer than Milvus's own graceful stop (common.gracefulStopTimeout, 30s in v2.3).
      terminationGracePeriodSeconds: 60,
      podAnnotations: { 'qingyu.io/scripts-checksum': sha256(script) },
      initContainers: [
        {
          name: 'create-bucket',
          image: imageName(props.mcImage ?? DEFAULT_MC_IMAGE),
          imagePullPolicy: 'IfNotPresent',
          command: ['/bin/sh', '/scripts/create-bucket.sh'],
          env: [
            { name: 'MINIO_ENDPOINT', value: `http://${s3.address}` },
            { name: 'MINIO_BUCKET', value: minio.bucket },
            { name: 'MINIO_ROOT_USER', valueFrom: secretKeyRef(credentials, credentials.keys.rootUser) },
            { name: 'MINIO_ROOT_PASSWORD', valueFrom: secretKeyRef(credentials, credentials.keys.rootPassword) },
            { name: 'MC_CONFIG_DIR', value: '/tmp/mc' },
            { name: 'HOME', value: '/tmp' },
          ],
          resources: resourceRequirements({
            cpuMillis: { request: 10, limit: 200 },
            memoryMiB: { request: 32, limit: 128 },
            ephemeralStorageMiB: { request: 8, limit: 32 },
          }),
          securityContext: restrictedContainerSecurity(),
          volumeMounts: [
            { name: 'scripts', mountPath: '/scripts', readOnly: true },
            { name: 'mc-config', mountPath: '/tmp' },
          ],
        },
      ],
      containers: [
        {
          name: 'milvus',
          image: imageName(config.image),
          imagePullPolicy: 'IfNotPresent',
          // Arguments only: the image's entrypoint, tini, stays PID 1 to forward signals and reap.
          args: ['milvus', 'run', 'standalone'],
          env: [
            { name: 'ETCD_ENDPOINTS', value: etcd.address },
            { name: 'MINIO_ADDRESS', value: s3.hosts[0] },
            { name: 'MINIO_PORT', value: String(s3.port) },
            { name: 'MINIO_ACCESS_KEY_ID', valueFrom: secretKeyRef(credentials, credentials.keys.rootUser) },
            { name: 'MINIO_SECRET_ACCESS_KEY', valueFrom: secretKeyRef(credentials, credentials.keys.rootPassword) },
            { name: 'MINIO_BUCKET_NAME', value: minio.bucket },
            { name: 'MINIO_ROOT_PATH', value: rootPath },
            { name: 'MINIO_USE_SSL', value: 'false' },
            { name: 'MINIO_USE_IAM', value: 'false' },
          ],
          ports: [
            { name: 'grpc', containerPort: MILVUS_PORTS.grpc, protocol: 'TCP' },
            { name: 'metrics', containerPort: MILVUS_PORTS.metrics, protocol: 'TCP' },
          ],
          resources: resourceRequirements(config.resources),
          securityContext: restrictedContainerSecurity(),
          startupProbe: healthz(10, Math.ceil(maxStartupSeconds / 10), 5),
          livenessProbe: tcpLiveness('metrics', 15, 4),
          readinessProbe: healthz(10, 3, 5),
          volumeMounts: [
            { name: 'data', mountPath: DATA_DIR },
            { name: 'run', mountPath: '/run/milvus' },
            { name: 'tmp', mountPath: '/tmp' },
          ],
        },
      ],
      volumes: [
        { name: 'scripts', configMap: { name: scriptsConfigMap, defaultMode: 0o444 } },
        { name: 'mc-config', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('4Mi') } },
        scratchVolume('run', 16),
        scratchVolume('tmp', 1024),
      ],
    });

    this.rootPath = rootPath;
    this.bucket = minio.bucket;
    this.etcdEndpoint = this.connect(etcd, 'Milvus metadata (etcd)');
    this.minioEndpoint = this.connect(s3, 'Milvus segments and indexes (S3), bucket creation');

    new k8s.KubeConfigMap(this, 'scripts', {
      metadata: { name: scriptsConfigMap },
      data: { 'create-bucket.sh': script },
    });

    addServiceMonitor(this, 'service-monitor', {
      target: this,
      portName: 'metrics',
      port: MILVUS_PORTS.metrics,
      scraper: props.scraper,
      // Milvus labels its series with its own `namespace` (the Milvus namespace) and node ids.
      honorLabels: true,
    });
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

