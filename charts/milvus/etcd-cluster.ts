import { Construct } from 'constructs';

import { PropError } from '../../lib/errors';
import { PlatformChart } from '../../lib/platform-chart';
import { httpProbe, ImageRef, imageVersion, ResourceSpec, StorageSpec } from '../../lib/pod';
import { StatefulStore } from '../../lib/stateful-store';

/** Ports of every etcd member. */
export const ETCD_PORTS = { client: 2379, peer: 2380, metrics: 2381 } as const;

/**
 * The image's distroless base defines `nonroot` as 65532; the image itself sets no user (it would
 * run as root), so the pod picks this one and owns the data volume through fsGroup.
 */
const ETCD_UID = 65532;
const DATA_MOUNT = '/var/lib/etcd';
/** A subdirectory of the volume: etcd creates it with mode 0700 and never sees `lost+found`. */
const DATA_DIR = `${DATA_MOUNT}/data`;

export interface EtcdClusterProps {
  /** The etcd image (the 3.5 line). */
  readonly image: ImageRef;
  /** Members: 1 for standalone Milvus, or an odd number for a highly available metadata store. */
  readonly replicas: number;
  /** The volume of each member; at least twice `quotaBackendBytes`. */
  readonly storage: StorageSpec;
  readonly resources: ResourceSpec;
  /**
   * The database size at which etcd raises NOSPACE and accepts only reads and deletes
   * (`--quota-backend-bytes`): up to 8 GiB, and at most half of the volume.
   * @see https://etcd.io/docs/v3.5/dev-guide/limit/#storage-size-limit
   */
  readonly quotaBackendBytes: number;
  /**
   * Name of the StatefulSet, its Services (`<name>`, `<name>-headless`) and its members
   * (`<name>-0`...). It is part of every member's peer URL, so it cannot change after creation.
   * @default 'etcd'
   */
  readonly name?: string;
  /**
   * Keep this many revisions when compacting (`--auto-compaction-mode=revision`).
   * @default 1000
   * @see https://etcd.io/docs/v3.5/op-guide/maintenance/#auto-compaction
   */
  readonly autoCompactionRetention?: number;
  /**
   * Applied transactions between snapshots (which let etcd discard WAL entries).
   * @default 50000
   */
  readonly snapshotCount?: number;
}

/**
 * An etcd cluster for Milvus's metadata: one member (standalone) or an odd number of members
 * that bootstrap together from their stable StatefulSet names.
 *
 * - Members are `<name>-N`, advertised as `<name>-N.<name>-headless.<ns>.svc.<domain>`: the
 *   initial cluster is built from those names, each pod learns its own through the downward API,
 *   and the headless Service publishes not-ready addresses so that peers resolve before quorum.
 * - `--initial-cluster-state new` is only read when the data directory is empty; after the first
 *   start a member rejoins with what its volume holds. Changing the member count of a running
 *   cluster is `etcdctl member add/remove` (see README), not an edit of `replicas`.
 * - Growth is bounded: revision auto-compaction keeps the last `autoCompactionRetention`
 *   revisions, `--snapshot-count` bounds the WAL, and `--quota-backend-bytes` caps the database.
 *   Compaction does not shrink the file; `etcdctl defrag` does, and the QingyuEtcdDatabaseNearQuota
 *   alert says when to run it.
 * - Health and metrics are served on a separate plain-HTTP listener (`metrics`, 2381), which the
 *   probes and the ServiceMonitor use; the image is distroless, so no probe needs a shell.
 */
export class EtcdCluster extends StatefulStore {
  public readonly autoCompactionRetention: number;
  public readonly snapshotCount: number;
  public readonly quotaBackendBytes: number;
  /**
   * `etcdutl snapshot restore` flags that rebuild member 0's data directory as this cluster's
   * (its name, peers and token): a single-member cluster restores from one snapshot.
   */
  public readonly restoreFlags: readonly string[];
  /** Where the members' volume is mounted. */
  public readonly dataMount = DATA_MOUNT;
  /** The data directory inside it. */
  public readonly dataDir = DATA_DIR;

  constructor(scope: Construct, id: string, props: EtcdClusterProps) {
    const name = props.name ?? 'etcd';
    const autoCompactionRetention = props.autoCompactionRetention ?? 1000;
    const snapshotCount = props.snapshotCount ?? 50000;
    validate(props, autoCompactionRetention, snapshotCount);

    super(scope, id, {
      name,
      component: 'metadata-store',
      version: imageVersion(props.image),
      replicas: props.replicas,
      ports: ETCD_PORTS,
      storage: props.storage,
      runAs: { uid: ETCD_UID, gid: ETCD_UID },
      // Members must start together to form a quorum; ordered start would wait forever on etcd-0.
      podManagementPolicy: 'Parallel',
      metrics: { port: 'metrics' },
      terminationGracePeriodSeconds: 60,
    });
    this.autoCompactionRetention = autoCompactionRetention;
    this.snapshotCount = snapshotCount;
    this.quotaBackendBytes = props.quotaBackendBytes;

    const peerUrl = (member: string) => `http://${member}.${this.headlessHost}:${ETCD_PORTS.peer}`;
    const initialCluster = Array.from({ length: props.replicas }, (_, i) => `${name}-${i}=${peerUrl(`${name}-${i}`)}`).join(',');
    const token = `${name}-${PlatformChart.of(this).platform.namespace}`;
    this.restoreFlags = [
      `--name=${name}-0`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-token=${token}`,
      `--initial-advertise-peer-urls=${peerUrl(`${name}-0`)}`,
      `--data-dir=${DATA_DIR}`,
    ];
    const health = (path: string, periodSeconds: number, failureThreshold: number, timeoutSeconds: number) =>
      httpProbe(path, 'metrics', periodSeconds, failureThreshold, timeoutSeconds);

    this.addContainer({
      name: 'etcd',
      image: props.image,
      command: ['/usr/local/bin/etcd'],
      args: [
        '--name=$(POD_NAME)',
        `--data-dir=${DATA_DIR}`,
        `--listen-client-urls=http://0.0.0.0:${ETCD_PORTS.client}`,
        `--advertise-client-urls=http://$(MEMBER_HOST):${ETCD_PORTS.client}`,
        `--listen-peer-urls=http://0.0.0.0:${ETCD_PORTS.peer}`,
        `--initial-advertise-peer-urls=http://$(MEMBER_HOST):${ETCD_PORTS.peer}`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-state=new',
        // Unique per installation, so members of another namespace's cluster are refused.
        `--initial-cluster-token=${token}`,
        `--listen-metrics-urls=http://0.0.0.0:${ETCD_PORTS.metrics}`,
        '--auto-compaction-mode=revision',
        `--auto-compaction-retention=${autoCompactionRetention}`,
        `--quota-backend-bytes=${props.quotaBackendBytes}`,
        `--snapshot-count=${snapshotCount}`,
        '--logger=zap',
        '--log-outputs=stderr',
      ],
      env: [
        { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
        // The member's stable DNS name; Kubernetes expands $(POD_NAME) defined just above. (No
        // ETCD_* names here: etcd reads those as flags, and the args are the one source.)
        { name: 'MEMBER_HOST', value: `$(POD_NAME).${this.headlessHost}` },
      ],
      ports: this.containerPorts('client', 'peer', 'metrics'),
      resources: props.resources,
      // As kubeadm probes etcd: startup waits for a linearizable read (the member has joined a
      // quorum); liveness asks only whether this member's own server answers, so losing quorum
      // or hitting the space quota (NOSPACE, fixed by defrag, not by a restart) never restarts
      // it; readiness takes it out of the client Service while it cannot serve a quorum read.
      startupProbe: health('/health?serializable=false', 10, 30, 5),
      livenessProbe: health('/health?exclude=NOSPACE&serializable=true', 10, 6, 5),
      readinessProbe: health('/health?exclude=NOSPACE', 5, 3, 3),
      volumeMounts: [{ name: 'data', mountPath: DATA_MOUNT }],
    });

    if (this.replicas > 1) this.connect(this.memberEndpoint('peer'), 'etcd raft replication between members');
  }
}

function validate(props: EtcdClusterProps, autoCompactionRetention: number, snapshotCount: number): void {
  if (!Number.isInteger(props.replicas) || props.replicas < 1 || props.replicas % 2 === 0) {
    throw new PropError(`'replicas' must be odd (1, 3, 5 or 7) for an etcd cluster, so that a majority survives a failure, got ${props.replicas}`);
  }
  const GiB = 1024 ** 3;
  const maxQuota = 8 * GiB;
  if (!Number.isInteger(props.quotaBackendBytes) || props.quotaBackendBytes < GiB || props.quotaBackendBytes > maxQuota) {
    throw new PropError(`'quotaBackendBytes' must be a whole number of bytes from 1 GiB to 8 GiB (etcd's suggested maximum), got ${props.quotaBackendBytes}`);
  }
  // The database may reach the quota, and compaction and defragmentation need room besides it.
  if (!Number.isInteger(props.storage.sizeGiB) || props.quotaBackendBytes > (props.storage.sizeGiB * GiB) / 2) {
    throw new PropError(`'quotaBackendBytes' (${props.quotaBackendBytes}, ${props.quotaBackendBytes / GiB} GiB) must be at most half of the volume, `
      + `'storage.sizeGiB' ${props.storage.sizeGiB}: defragmentation needs room beside the database; raise the volume to at least ${Math.ceil((2 * props.quotaBackendBytes) / GiB)} GiB`);
  }
  if (!Number.isInteger(autoCompactionRetention) || autoCompactionRetention < 1) {
    throw new PropError(`'autoCompactionRetention' of etcd must be a whole number of revisions of at least 1, got ${autoCompactionRetention}`);
  }
  if (!Number.isInteger(snapshotCount) || snapshotCount < 1) {
    throw new PropError(`'snapshotCount' of etcd must be a whole number of at least 1, got ${snapshotCount}`);
  }
}
