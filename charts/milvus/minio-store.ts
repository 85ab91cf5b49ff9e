import { Construct } from 'constructs';

import { PropError } from '../../lib/errors';
import { httpProbe, ImageRef, imageVersion, ResourceSpec, scratchVolume, StorageSpec } from '../../lib/pod';
import { AccessKeySecret, accessKeySecret, secretKeyRef, SECRETS } from '../../lib/secrets';
import { StatefulStore } from '../../lib/stateful-store';

/** The S3 API port; it also serves the health checks and the Prometheus metrics. */
export const MINIO_API_PORT = 9000;
/** MinIO's cluster-wide Prometheus metrics (v2), public when MINIO_PROMETHEUS_AUTH_TYPE=public. */
export const MINIO_METRICS_PATH = '/minio/v2/metrics/cluster';
/** The uid and gid of the upstream MinIO chart's securityContext; the image itself sets no user. */
const MINIO_UID = 1000;
const DATA_DIR = '/data';

/** What a client may do in a bucket. */
export type BucketAccess = 'read' | 'readwrite';

/** The S3 actions of each access (IAM policy JSON; MinIO's canned readonly/readwrite, per bucket). */
const ACTIONS: Readonly<Record<BucketAccess, { bucket: string[]; objects: string[] }>> = {
  read: { bucket: ['s3:GetBucketLocation', 's3:ListBucket'], objects: ['s3:GetObject'] },
  readwrite: {
    bucket: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
    objects: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
  },
};

/** S3 bucket naming rules, as MinIO enforces them. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export interface MinioStoreProps {
  /** The MinIO server image. */
  readonly image: ImageRef;
  /** The one drive's volume (`/data`). */
  readonly storage: StorageSpec;
  readonly resources: ResourceSpec;
  /** The bucket Milvus stores its segments in (created by its user, see `MilvusStandalone`). */
  readonly bucket: string;
  /**
   * Name of the StatefulSet and its Services; clients use `<name>.<ns>.svc.<domain>:9000`.
   * @default 'minio'
   */
  readonly name?: string;
}

/**
 * A single-drive MinIO server (`minio server /data`, "xl-single" mode) as Milvus's object store.
 *
 * - Root credentials come from the `minio-root` Secret (MINIO_ROOT_USER / MINIO_ROOT_PASSWORD);
 *   the design's `minioadmin` defaults never ship, and the deprecated MINIO_ACCESS_KEY /
 *   MINIO_SECRET_KEY are not used.
 * - It runs as uid/gid 1000 with a read-only root filesystem: its data is the `data` volume, and
 *   HOME (where MinIO keeps `.minio/certs`) and `--certs-dir` point at an emptyDir.
 * - Liveness is `/minio/health/live` (the process serves), readiness `/minio/health/ready` (it can
 *   take requests); both are unauthenticated.
 * - Metrics are `/minio/v2/metrics/cluster` on the API port, public so Prometheus needs no token.
 * - The embedded console is off: administration is `mc` through `kubectl port-forward`.
 *
 * One replica: a distributed MinIO needs at least four drives and a different command line.
 * The bucket is not created here but by its user (see `MilvusStandalone`), which knows when it
 * needs it.
 */
export class MinioStore extends StatefulStore {
  /** The bucket Milvus stores its segments in. */
  public readonly bucket: string;
  /** The Secret and keys of the root user: the server's, and administration's (the bucket step) only. */
  public readonly rootCredentials = SECRETS.minio;
  private readonly users = new Map<string, { secret: AccessKeySecret; grants: Map<string, BucketAccess> }>();

  constructor(scope: Construct, id: string, props: MinioStoreProps) {
    if (!BUCKET_NAME.test(props.bucket) || props.bucket.includes('..')) {
      throw new PropError(`'bucket' must be a valid S3 bucket name (3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit), got '${props.bucket}'`);
    }
    super(scope, id, {
      name: props.name ?? 'minio',
      component: 'object-store',
      version: imageVersion(props.image),
      replicas: 1,
      ports: { api: MINIO_API_PORT },
      storage: props.storage,
      runAs: { uid: MINIO_UID, gid: MINIO_UID },
      metrics: { port: 'api', path: MINIO_METRICS_PATH },
      terminationGracePeriodSeconds: 60,
    });
    this.bucket = props.bucket;
    const credentials = this.rootCredentials;
    const health = (path: string, periodSeconds: number, failureThreshold: number, timeoutSeconds: number) =>
      httpProbe(path, 'api', periodSeconds, failureThreshold, timeoutSeconds);

    this.addContainer({
      name: 'minio',
      image: props.image,
      // The binary itself, not the image's entrypoint script (which only switches users).
      command: ['minio'],
      args: ['server', DATA_DIR, `--address=:${MINIO_API_PORT}`, '--certs-dir=/tmp/certs'],
      env: [
        { name: 'MINIO_ROOT_USER', valueFrom: secretKeyRef(credentials, credentials.keys.rootUser) },
        { name: 'MINIO_ROOT_PASSWORD', valueFrom: secretKeyRef(credentials, credentials.keys.rootPassword) },
        { name: 'MINIO_PROMETHEUS_AUTH_TYPE', value: 'public' },
        { name: 'MINIO_BROWSER', value: 'off' },
        { name: 'MINIO_UPDATE', value: 'off' },
        // The image has no user for uid 1000, so HOME would be `/` (read-only).
        { name: 'HOME', value: '/tmp' },
      ],
      ports: this.containerPorts('api'),
      resources: props.resources,
      startupProbe: health('/minio/health/live', 5, 60, 3),
      livenessProbe: health('/minio/health/live', 10, 6, 5),
      readinessProbe: health('/minio/health/ready', 5, 3, 3),
      volumeMounts: [
        { name: 'data', mountPath: DATA_DIR },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    });
    this.addVolume(scratchVolume('tmp', 64));
  }

  /**
   * The user of one client (`minio-<client>`: a random access key and secret key) with a policy
   * granting `grants` (bucket: access) and nothing else; the bucket step creates the buckets,
   * the users and their policies. Asking again for the same client adds grants.
   */
  public user(client: string, grants: Readonly<Record<string, BucketAccess>>): AccessKeySecret {
    for (const bucket of Object.keys(grants)) {
      if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) throw new PropError(`MinIO user ${client}: '${bucket}' is no valid bucket name`);
    }
    const entry = this.users.get(client) ?? { secret: accessKeySecret(this.name, client, `S3 user of ${client}`), grants: new Map() };
    for (const [bucket, access] of Object.entries(grants)) {
      if (entry.grants.get(bucket) !== 'readwrite') entry.grants.set(bucket, access);
    }
    this.users.set(client, entry);
    return entry.secret;
  }

  /** The users, in a stable order. */
  public get userSecrets(): AccessKeySecret[] {
    return [...this.users.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, u]) => u.secret);
  }

  /**
   * What the bucket step provisions, as files: `buckets` (one per line), `users` (one client per
   * line) and `policy-<client>.json` (its IAM policy).
   */
  public provisioning(): Record<string, string> {
    const buckets = new Set([this.bucket, ...[...this.users.values()].flatMap((u) => [...u.grants.keys()])]);
    const clients = [...this.users.keys()].sort();
    const files: Record<string, string> = { buckets: `${[...buckets].sort().join('\n')}\n`, users: `${clients.join('\n')}\n` };
    for (const client of clients) {
      const grants = [...this.users.get(client)!.grants.entries()].sort(([a], [b]) => a.localeCompare(b));
      const statement = grants.flatMap(([bucket, access]) => [
        { Effect: 'Allow', Action: ACTIONS[access].bucket, Resource: [`arn:aws:s3:::${bucket}`] },
        { Effect: 'Allow', Action: ACTIONS[access].objects, Resource: [`arn:aws:s3:::${bucket}/*`] },
      ]);
      files[`policy-${client}.json`] = `${JSON.stringify({ Version: '2012-10-17', Statement: statement }, null, 2)}\n`;
    }
    return files;
  }
}
