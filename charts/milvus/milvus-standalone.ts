import { createHash } from 'node:crypto';

import { Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

import { readAsset } from '../../lib/assets';
import { Endpoint } from '../../lib/component';
import { PropError } from '../../lib/errors';
import { FlowTable } from '../../lib/flows';
import { httpProbe, ImageRef, imageVersion, ResourceSpec, scratchVolume, StorageSpec, tcpLiveness } from '../../lib/pod';
import { secretKeyRef, SECRETS } from '../../lib/secrets';
import { StatefulStore } from '../../lib/stateful-store';
import { MinioStore } from './minio-store';

const k8s = kplus.k8s;

export const MILVUS_PORTS = { grpc: 19530, metrics: 9091 } as const;

/**
 * The image sets no user (it would run as root under tini) and its files under /milvus are
 * world-readable, so any non-root uid works; 10001 matches the application tier.
 */
const MILVUS_UID = 10001;
const DATA_DIR = '/var/lib/milvus';
/** The pod's grace period; Milvus force-quits 15 s before it (common.gracefulStopTimeout). */
const GRACE_SECONDS = 60;
/** How long the query node waits for its segments to move elsewhere: standalone has nowhere. */
const QUERY_NODE_STOP_SECONDS = 5;

/** Requests and limits of the bucket step (an `mc` client). */
const BUCKET_STEP_RESOURCES: ResourceSpec = {
  cpuMillis: { request: 10, limit: 200 },
  memoryMiB: { request: 32, limit: 128 },
  ephemeralStorageMiB: { request: 8, limit: 32 },
};

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
  /** `clientImage` runs the bucket and user provisioning (it needs `mc` and `/bin/sh`). */
  | { readonly kind: 'minio'; readonly minio: MinioStore; readonly clientImage: ImageRef }
  | ({ readonly kind: 's3' } & ExternalObjectStore);

export interface MilvusStandaloneProps {
  /** The Milvus image; a move along the upgrade path (2.3 -> 2.5 -> 2.6) is a change of tag. */
  readonly image: ImageRef;
  /** The volume of RocksMQ and the local segment cache (`/var/lib/milvus`). */
  readonly storage: StorageSpec;
  readonly resources: ResourceSpec;
  /** The metadata store; Milvus connects to its client Service on the `client` port. */
  readonly etcd: StatefulStore;
  /**
   * Where Milvus keeps segments and indexes: the platform's MinIO (Milvus connects to its `api`
   * port with its root user and creates the bucket) or an external S3-compatible store.
   */
  readonly objectStore: MilvusObjectStore;
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
 * - With the in-cluster MinIO, the `provision` init container (MinIO's root key: its one
 *   administrative use) creates the buckets and every client's user and policy before Milvus
 *   starts (and waits for MinIO), then proves Milvus's own key reaches its bucket; Milvus itself
 *   uses that key (`minio-milvus`), limited to its bucket.
 * - Probed on `/healthz` (metrics port); the startup probe covers recovery after a restart.
 */
export class MilvusStandalone extends StatefulStore {
  public readonly rootPath: string;
  public readonly bucket: string;
  /** The startup probe's budget: how long a start may take. */
  public readonly maxStartupSeconds: number;
  /** Where its volume is mounted. */
  public readonly dataMount = DATA_DIR;
  /**
   * What it keeps on that volume, derived from etcd and the bucket: RocksMQ (its write-ahead
   * log, and the log's own metadata) and the local segment cache (the image's milvus.yaml:
   * `rocksmq.path`, `localStorage.path`).
   */
  public readonly localStateDirs: readonly string[] = [`${DATA_DIR}/rdb_data`, `${DATA_DIR}/rdb_data_meta_kv`, `${DATA_DIR}/data`];
  /** The etcd and (in-cluster) MinIO endpoints it is configured with (the flows are recorded). */
  public readonly etcdEndpoint: Endpoint;
  public readonly minioEndpoint?: Endpoint;

  constructor(scope: Construct, id: string, props: MilvusStandaloneProps) {
    const name = props.name ?? 'milvus';
    const rootPath = props.rootPath ?? 'files';
    const maxStartupSeconds = props.maxStartupSeconds ?? 600;
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(rootPath) || rootPath.endsWith('/')) {
      throw new PropError(`'rootPath' of ${name} must be an object key prefix of letters, digits, '.', '_', '-' or '/', not ending in '/', got '${rootPath}'`);
    }
    if (!Number.isInteger(maxStartupSeconds) || maxStartupSeconds < 60) {
      throw new PropError(`'maxStartupSeconds' of ${name} must be a whole number of at least 60, got ${maxStartupSeconds}`);
    }
    super(scope, id, {
      name,
      component: 'vector-database',
      version: imageVersion(props.image),
      replicas: 1,
      ports: MILVUS_PORTS,
      storage: props.storage,
      runAs: { uid: MILVUS_UID, gid: MILVUS_UID },
      // Milvus labels its series with its own `namespace` (the Milvus namespace) and node ids.
      metrics: { port: 'metrics', honorLabels: true },
      // Longer than Milvus's own bound on its stop (COMMON_GRACEFULSTOPTIMEOUT below).
      terminationGracePeriodSeconds: GRACE_SECONDS,
    });
    this.rootPath = rootPath;
    this.maxStartupSeconds = maxStartupSeconds;
    const { objectStore } = props;
    if (objectStore.kind === 's3') validateExternal(objectStore);
    const etcd = props.etcd.endpoint('client');
    const minio = objectStore.kind === 'minio' ? objectStore.minio : undefined;
    const external = objectStore.kind === 's3' ? objectStore : undefined;
    const s3 = minio?.endpoint('api');
    this.bucket = minio ? minio.bucket : external!.bucket;
    // Milvus's own MinIO user, limited to its bucket; the external store's key otherwise.
    const own = minio?.user(name, { [minio.bucket]: 'readwrite' });
    const keyRef = (which: 'id' | 'secret') => {
      if (own) return secretKeyRef(own, which === 'id' ? own.keys.accessKey : own.keys.secretKey);
      const c = external!.credentials;
      return secretKeyRef(c, which === 'id' ? c.keys.accessKeyId : c.keys.secretAccessKey);
    };
    // Milvus's `minio.*` settings, for either store (Milvus speaks S3 to both).
    const storeEnv: kplus.k8s.EnvVar[] = [
      { name: 'MINIO_ADDRESS', value: s3 ? s3.hosts[0] : external!.endpoint },
      { name: 'MINIO_PORT', value: String(s3 ? s3.port : external!.port) },
      { name: 'MINIO_ACCESS_KEY_ID', valueFrom: keyRef('id') },
      { name: 'MINIO_SECRET_ACCESS_KEY', valueFrom: keyRef('secret') },
      { name: 'MINIO_BUCKET_NAME', value: this.bucket },
      { name: 'MINIO_ROOT_PATH', value: rootPath },
      { name: 'MINIO_USE_SSL', value: String(external?.tls ?? false) },
      { name: 'MINIO_USE_IAM', value: 'false' },
      ...(external ? [{ name: 'MINIO_REGION', value: external.region }] : []),
    ];
    const healthz = (periodSeconds: number, failureThreshold: number, timeoutSeconds: number) =>
      httpProbe('/healthz', 'metrics', periodSeconds, failureThreshold, timeoutSeconds);

    if (minio) {
      const scriptsConfigMap = `${name}-scripts`;
      const files = () => ({ 'provision.sh': readAsset('charts/milvus/assets/provision.sh'), ...minio.provisioning() });
      this.addPodAnnotation('qingyu.io/scripts-checksum', Lazy.any({ produce: () => sha256(JSON.stringify(files())) }) as any);
      const root = minio.rootCredentials;
      this.addInitContainer({
        name: 'provision',
        image: (objectStore as { clientImage: ImageRef }).clientImage,
        command: ['/bin/sh', '/provision/provision.sh'],
        env: [
          { name: 'MINIO_ENDPOINT', value: `http://${s3!.address}` },
          { name: 'MINIO_BUCKET', value: this.bucket },
          { name: 'MC_CONFIG_DIR', value: '/tmp/mc' },
          { name: 'HOME', value: '/tmp' },
        ],
        resources: BUCKET_STEP_RESOURCES,
        volumeMounts: [
          { name: 'provision', mountPath: '/provision', readOnly: true },
          { name: 'mc-config', mountPath: '/tmp' },
          { name: 'minio-root', mountPath: '/secrets/root', readOnly: true },
          { name: 'minio-users', mountPath: '/secrets/users', readOnly: true },
        ],
      });
      this.addVolume(
        { name: 'provision', configMap: { name: scriptsConfigMap, defaultMode: 0o444 } },
        { name: 'mc-config', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('4Mi') } },
        {
          name: 'minio-root',
          secret: {
            secretName: root.name,
            items: [{ key: root.keys.rootUser.key, path: 'user' }, { key: root.keys.rootPassword.key, path: 'password' }],
            defaultMode: 0o440,
          },
        },
        {
          name: 'minio-users',
          projected: {
            defaultMode: 0o440,
            // Every MinIO user's key, at /secrets/users/<client>/ (the step sets them in MinIO).
            sources: Lazy.any({
              produce: () => minio.userSecrets.map((u) => ({
                secret: {
                  name: u.name,
                  items: [
                    { key: u.keys.accessKey.key, path: `${u.name.slice(minio.name.length + 1)}/access-key` },
                    { key: u.keys.secretKey.key, path: `${u.name.slice(minio.name.length + 1)}/secret-key` },
                  ],
                },
              })),
            }) as any,
          },
        },
      );
      new k8s.KubeConfigMap(this, 'scripts', { metadata: { name: scriptsConfigMap }, data: Lazy.any({ produce: files }) as any });
    }
    this.addContainer({
      name: 'milvus',
      image: props.image,
      // Arguments only: the image's entrypoint, tini, stays PID 1 to forward signals and reap.
      args: ['milvus', 'run', 'standalone'],
      env: [
        { name: 'ETCD_ENDPOINTS', value: etcd.address },
        ...storeEnv,
        // Every call authenticated; users and grants are the milvus-auth Job's (milvus-auth.ts).
        { name: 'COMMON_SECURITY_AUTHORIZATIONENABLED', value: 'true' },
        // A bounded, clean stop. With a collection loaded, the query node's stop waits for its
        // segments to move to another query node, which standalone has not (and its coordinators
        // stop first): 2.3.0 then waits out common.gracefulStopTimeout, 1800 s in the image's
        // milvus.yaml, so every stop ended in SIGKILL and the next start waited for the dead
        // sessions' TTL in etcd. Measured on the 2.3.0 server under tini, one collection loaded:
        // SIGTERM to exit >100 s (killed) before, 11 s after ("graceful stop done", restart
        // healthy in 1 s, data intact).
        { name: 'QUERYNODE_GRACEFULSTOPTIMEOUT', value: String(QUERY_NODE_STOP_SECONDS) },
        { name: 'COMMON_GRACEFULSTOPTIMEOUT', value: String(GRACE_SECONDS - 15) },
        // No REST API on the metrics port: 2.3's serves it there unauthenticated even with
        // authorization on (CVE-2026-26190; measured: /api/v1/collections 200 without a user).
        // Off, it answers 404 while /healthz and /metrics stay; clients use gRPC on 19530.
        { name: 'PROXY_HTTP_ENABLED', value: 'false' },
      ],
      ports: this.containerPorts('grpc', 'metrics'),
      resources: props.resources,
      startupProbe: healthz(10, Math.ceil(maxStartupSeconds / 10), 5),
      livenessProbe: tcpLiveness('metrics', 15, 4),
      readinessProbe: healthz(10, 3, 5),
      volumeMounts: [
        { name: 'data', mountPath: DATA_DIR },
        { name: 'run', mountPath: '/run/milvus' },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    });
    this.addVolume(scratchVolume('run', 16), scratchVolume('tmp', 1024));

    this.etcdEndpoint = this.connect(etcd, 'Milvus metadata (etcd)');
    if (minio) {
      this.minioEndpoint = this.connect(s3!, 'Milvus segments and indexes (S3), bucket and user provisioning');
    } else {
      FlowTable.of(this).add({
        from: this.peer,
        to: { kind: 'cidr', cidrs: external!.cidrs, except: [], description: `S3 endpoint ${external!.endpoint}` },
        port: external!.port,
        protocol: 'TCP',
        purpose: 'Milvus segments and indexes (external S3)',
      });
    }
  }
}

/** The S3 store's bucket and region, as S3 names them; its address formats are checked with the configuration. */
function validateExternal(store: ExternalObjectStore): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(store.bucket) || store.bucket.includes('..')) {
    throw new PropError(`'objectStorage.bucket' must be an S3 bucket name (3-63 lowercase letters, digits, '.' or '-'), got '${store.bucket}'`);
  }
  if (!/^[a-z0-9-]{1,32}$/.test(store.region)) {
    throw new PropError(`'objectStorage.region' must be a region name (lowercase letters, digits, '-'), got '${store.region}'`);
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
