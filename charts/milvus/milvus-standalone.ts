import { createHash } from 'node:crypto';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ImageRef, MilvusConfig } from '../../config';
import { readAsset } from '../../lib/assets';
import { Endpoint } from '../../lib/component';
import { FlowTable } from '../../lib/flows';
import { httpProbe, imageName, imageVersion, resourceRequirements, restrictedContainerSecurity, scratchVolume, tcpLiveness } from '../../lib/pod';
import { addServiceMonitor, MetricsScraper } from '../../lib/metrics';
import { MinioStore } from './minio-store';
import { SECRETS, secretKeyRef } from '../../lib/secrets';
import { StatefulStore } from '../../lib/stateful-store';

const k8s = kplus.k8s;

export const MILVUS_PORTS = { grpc: 19530, metrics: 9091 } as const;

/**
 * The image sets no user (it would run as root under tini) and its files under /milvus are
 * world-readable, so any non-root uid works; 10001 matches the application tier.
 */
const MILVUS_UID = 10001;
const DATA_DIR = '/var/lib/milvus';

export interface MilvusStandaloneProps {
  /** Image, storage and resources of this environment. */
  readonly config: MilvusConfig;
  /** The metadata store; Milvus connects to its client Service on the `client` port. */
  readonly etcd: StatefulStore;
  /**
   * Where Milvus keeps segments and indexes: the platform's MinIO (Milvus connects to its `api`
   * port with its root user and creates the bucket) or an external S3-compatible store.
   */
  readonly objectStore: MilvusObjectStore;
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
   * Slowest acceptable start (etcd and MinIO connections, the RocksMQ and segment recovery):
   * the startup probe allows this long before liveness takes over.
   * @default 600
   */
  readonly maxStartupSeconds?: number;
}

/**
 * An S3-compatible store outside the cluster: Milvus reaches `cidrs` on `port` and authenticates
 * with the access key in `credentials`; the bucket must exist.
 */
export interface ExternalObjectStore {
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly bucket: string;
  readonly tls: boolean;
  readonly cidrs: readonly string[];
  readonly credentials: typeof SECRETS.objectStore;
}

export type MilvusObjectStore =
  /** `clientImage` runs the bucket step (it needs `mc` and `/bin/sh`). */
  | { readonly kind: 'minio'; readonly minio: MinioStore; readonly clientImage: ImageRef }
  | ({ readonly kind: 's3' } & ExternalObjectStore);

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
  /** The etcd and (in-cluster) MinIO endpoints it is configured with (the flows are recorded). */
  public readonly etcdEndpoint: Endpoint;
  public readonly minioEndpoint?: Endpoint;

  constructor(scope: Construct, id: string, props: MilvusStandaloneProps) {
    const { config, objectStore } = props;
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
    const minio = objectStore.kind === 'minio' ? objectStore.minio : undefined;
    const s3 = minio?.endpoint('api');
    const script = readAsset('charts/milvus/assets/create-bucket.sh');
    const scriptsConfigMap = `${name}-scripts`;
    const bucket = minio ? minio.bucket : (objectStore as ExternalObjectStore).bucket;
    const keyRef = (which: 'id' | 'secret') => {
      if (minio) return secretKeyRef(minio.rootCredentials, which === 'id' ? minio.rootCredentials.keys.rootUser : minio.rootCredentials.keys.rootPassword);
      const c = (objectStore as ExternalObjectStore).credentials;
      return secretKeyRef(c, which === 'id' ? c.keys.accessKeyId : c.keys.secretAccessKey);
    };
    // Milvus's `minio.*` settings, for either store (Milvus speaks S3 to both).
    const storeEnv: kplus.k8s.EnvVar[] = minio
      ? [
        { name: 'MINIO_ADDRESS', value: s3!.hosts[0] },
        { name: 'MINIO_PORT', value: String(s3!.port) },
        { name: 'MINIO_ACCESS_KEY_ID', valueFrom: keyRef('id') },
        { name: 'MINIO_SECRET_ACCESS_KEY', valueFrom: keyRef('secret') },
        { name: 'MINIO_BUCKET_NAME', value: bucket },
        { name: 'MINIO_ROOT_PATH', value: rootPath },
        { name: 'MINIO_USE_SSL', value: 'false' },
        { name: 'MINIO_USE_IAM', value: 'false' },
      ]
      : [
        { name: 'MINIO_ADDRESS', value: (objectStore as ExternalObjectStore).endpoint },
        { name: 'MINIO_PORT', value: String((objectStore as ExternalObjectStore).port) },
        { name: 'MINIO_ACCESS_KEY_ID', valueFrom: keyRef('id') },
        { name: 'MINIO_SECRET_ACCESS_KEY', valueFrom: keyRef('secret') },
        { name: 'MINIO_BUCKET_NAME', value: bucket },
        { name: 'MINIO_ROOT_PATH', value: rootPath },
        { name: 'MINIO_USE_SSL', value: String((objectStore as ExternalObjectStore).tls) },
        { name: 'MINIO_USE_IAM', value: 'false' },
        { name: 'MINIO_REGION', value: (objectStore as ExternalObjectStore).region },
      ];

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
      podAnnotations: minio ? { 'qingyu.io/scripts-checksum': sha256(script) } : undefined,
      initContainers: minio && [
        {
          name: 'create-bucket',
          image: imageName((objectStore as { clientImage: ImageRef }).clientImage),
          imagePullPolicy: 'IfNotPresent',
          command: ['/bin/sh', '/scripts/create-bucket.sh'],
          env: [
            { name: 'MINIO_ENDPOINT', value: `http://${s3!.address}` },
            { name: 'MINIO_BUCKET', value: bucket },
            { name: 'MINIO_ROOT_USER', valueFrom: keyRef('id') },
            { name: 'MINIO_ROOT_PASSWORD', valueFrom: keyRef('secret') },
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
            ...storeEnv,
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
        ...(minio
          ? [
            { name: 'scripts', configMap: { name: scriptsConfigMap, defaultMode: 0o444 } },
            { name: 'mc-config', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('4Mi') } },
          ]
          : []),
        scratchVolume('run', 16),
        scratchVolume('tmp', 1024),
      ],
    });

    this.rootPath = rootPath;
    this.bucket = bucket;
    this.etcdEndpoint = this.connect(etcd, 'Milvus metadata (etcd)');
    if (minio) {
      this.minioEndpoint = this.connect(s3!, 'Milvus segments and indexes (S3), bucket creation');
      new k8s.KubeConfigMap(this, 'scripts', {
        metadata: { name: scriptsConfigMap },
        data: { 'create-bucket.sh': script },
      });
    } else {
      const external = objectStore as ExternalObjectStore;
      FlowTable.of(this).add({
        from: { kind: 'component', component: this },
        to: { kind: 'cidr', cidrs: external.cidrs, except: [], description: `S3 endpoint ${external.endpoint}` },
        port: external.port,
        protocol: 'TCP',
        purpose: 'Milvus segments and indexes (external S3)',
      });
    }

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
