import { createHash } from 'node:crypto';

import { Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

import { readAsset } from '../../lib/assets';
import { Component } from '../../lib/component';
import { PropError } from '../../lib/errors';
import { container, ImageRef, imageVersion, ownServiceAccount, ResourceSpec, runToCompletionPod, scratchVolume } from '../../lib/pod';
import { ClientSecret, SECRETS, StoreUsers } from '../../lib/secrets';
import { MilvusStandalone } from './milvus-standalone';

const k8s = kplus.k8s;

/** What a Milvus user may do. */
export type MilvusRole = 'app';

/**
 * The grants of each role, as `<object type> <object name> <privilege>` (Milvus 2.3's privilege
 * names, milvus-proto v2.3.0 common.proto ObjectPrivilege; `*` is every collection of the
 * default database). `app`: an application that owns its collections: creates, loads, writes,
 * indexes and searches them; no user, role, database or resource-group administration, no
 * bulk import, compaction or load balancing. Measured on the 2.3.0 server with pymilvus 2.3.0
 * (README "Milvus authentication"): create, insert, flush, index, load, search, query, upsert,
 * delete, release, drop all succeed with these; listing users or roles, creating a user or a
 * database are refused (PermissionDenied). 2.3.0 checks no privilege on partitions (2.4 added
 * CreatePartition...; 2.3.0 refuses them as unknown names, as it does GetFlushState).
 */
const GRANTS: Record<MilvusRole, readonly string[]> = {
  app: [
    ...['CreateCollection', 'DescribeCollection', 'DropCollection', 'ShowCollections'].map((p) => `Global * ${p}`),
    ...['CreateIndex', 'Delete', 'DropIndex', 'Flush', 'GetLoadState', 'GetLoadingProgress', 'GetStatistics',
      'IndexDetail', 'Insert', 'Load', 'Query', 'Release', 'Search', 'Upsert'].map((p) => `Collection * ${p}`),
  ],
};

/** Requests and limits of the Job's one container (grpcurl calls, one at a time). */
const AUTH_RESOURCES: ResourceSpec = {
  cpuMillis: { request: 10, limit: 200 },
  memoryMiB: { request: 16, limit: 64 },
  ephemeralStorageMiB: { request: 8, limit: 32 },
};

/** The Job's user: none of the image's, no other pod's. */
const AUTH_UID = 10003;

export interface MilvusAuthProps {
  readonly milvus: MilvusStandalone;
  /** grpcurl with a shell (`/bin/sh`, busybox applets) and `grpcurl` on the PATH. */
  readonly image: ImageRef;
  /**
   * How long the Job waits for Milvus to answer (its first start included).
   * @default 600
   */
  readonly maxWaitSeconds?: number;
}

/**
 * Milvus authentication: Milvus runs with `common.security.authorizationEnabled`, and this Job,
 * the one holder of Milvus's root password (`milvus-root`), makes Milvus match the platform:
 *
 * - root's password becomes the Secret's (Milvus 2.3 starts with the built-in `Milvus` and has no
 *   setting for another, so the first start has a window of seconds until the Job runs);
 * - every client (`user(client, role)`) gets its own Milvus user with the password of its Secret
 *   `milvus-<client>` (user names are letters, digits and `_`: python-ai is `python_ai`), and a
 *   role of the same name holding exactly its role's grants: others are revoked, other roles
 *   unbound;
 * - then it proves every user authenticates and is refused an administrative call, and that the
 *   default root password is refused.
 *
 * Idempotent (charts/milvus/assets/milvus-auth.sh). The Job's name carries a hash of what it
 * applies, so a change of users, grants, script or image is a new Job (a Job's pod template
 * cannot change) and the release's prune removes the old one; a rotated password is applied by
 * deleting the Job and deploying again (README "Milvus authentication").
 */
export class MilvusAuth extends Component {
  public readonly job: kplus.k8s.KubeJob;
  private readonly clients: StoreUsers<MilvusRole>;

  constructor(scope: Construct, id: string, props: MilvusAuthProps) {
    super(scope, id, { name: `${props.milvus.name}-auth`, component: 'access-control', version: imageVersion(props.image) });
    this.clients = new StoreUsers(props.milvus.name, {
      title: 'Milvus',
      maxLength: 31,
      purpose: (role) => `its Milvus user and role (${role})`,
      // Milvus user names take letters, digits and '_'.
      username: (client) => client.replace(/-/g, '_'),
    });
    const maxWaitSeconds = props.maxWaitSeconds ?? 600;
    if (!Number.isInteger(maxWaitSeconds) || maxWaitSeconds < 60) {
      throw new PropError(`'maxWaitSeconds' of ${this.name} must be a whole number of at least 60, got ${maxWaitSeconds}`);
    }
    const grpc = this.connect(props.milvus.endpoint('grpc'), 'users, roles and grants (as root)');
    const root = SECRETS.milvusRoot;
    const files = (): Record<string, string> => ({
      'milvus-auth.sh': readAsset('charts/milvus/assets/milvus-auth.sh'),
      'milvus-auth.proto': readAsset('charts/milvus/assets/milvus-auth.proto'),
      users: this.clients.entries().map(([client, { secret }]) => `${client} ${secret.keys.username.value}\n`).join(''),
      ...Object.fromEntries(this.clients.entries().map(([, { secret, role }]) =>
        [`grants-${secret.keys.username.value}`, GRANTS[role].map((g) => `${g}\n`).join('')])),
    });
    // What the Job applies, and how: a change of any is a new Job.
    const jobName = () => `${this.name}-${createHash('sha256').update(JSON.stringify([files(), props.image, maxWaitSeconds])).digest('hex').slice(0, 10)}`;

    ownServiceAccount(this, this.name);
    new k8s.KubeConfigMap(this, 'files', { metadata: { name: this.name }, data: Lazy.any({ produce: files }) as any });
    this.job = new k8s.KubeJob(this, 'job', {
      metadata: { name: Lazy.any({ produce: jobName }) as any },
      spec: {
        // Retries cover a Milvus that restarts while the Job runs; the deadline bounds them all.
        backoffLimit: 6,
        activeDeadlineSeconds: maxWaitSeconds + 600,
        template: {
          metadata: { labels: this.labels },
          spec: {
            ...runToCompletionPod(this.name, { uid: AUTH_UID, gid: AUTH_UID }),
            containers: [container({
              name: 'auth',
              image: props.image,
              resources: AUTH_RESOURCES,
              command: ['/bin/sh', '/auth/milvus-auth.sh'],
              env: [
                { name: 'MILVUS_ADDRESS', value: grpc.address },
                { name: 'MAX_WAIT_SECONDS', value: String(maxWaitSeconds) },
                { name: 'AUTH_DIR', value: '/auth' },
                { name: 'SECRETS_DIR', value: '/secrets' },
                { name: 'TMPDIR', value: '/tmp' },
              ],
              volumeMounts: [
                { name: 'files', mountPath: '/auth', readOnly: true },
                { name: 'secrets', mountPath: '/secrets', readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            })],
            volumes: [
              { name: 'files', configMap: { name: this.name, defaultMode: 0o444 } },
              {
                name: 'secrets',
                projected: {
                  defaultMode: 0o440,
                  // root's password at /secrets/root/password, each client's at /secrets/users/<client>/password.
                  sources: Lazy.any({
                    produce: () => [
                      { secret: { name: root.name, items: [{ key: root.keys.password.key, path: 'root/password' }] } },
                      ...this.clients.entries().map(([client, { secret }]) => ({
                        secret: { name: secret.name, items: [{ key: secret.keys.password.key, path: `users/${client}/password` }] },
                      })),
                    ],
                  }) as any,
                },
              },
              scratchVolume('tmp', 16),
            ],
          },
        },
      },
    });
  }

  /**
   * The Milvus user of one client, with `role`'s grants, and the Secret `milvus-<client>` with its
   * name and password. Asking again returns the same user.
   */
  public user(client: string, role: MilvusRole = 'app'): ClientSecret {
    return this.clients.user(client, role);
  }

}
