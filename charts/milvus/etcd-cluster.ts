import { Construct } from 'constructs';
import { EtcdConfig } from '../../config';
import { httpProbe, imageName, imageVersion, resourceRequirements, restrictedContainerSecurity } from '../../lib/pod';
import { addServiceMonitor, MetricsScraper } from '../../lib/metrics';
import { PlatformChart } from '../../lib/platform-chart';
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
  /** Image, members, storage, resources and backend quota of this environment. */
  readonly config: EtcdConfig;
  readonly scraper: MetricsScraper;
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

  constructor(scope: Construct, id: string, props: EtcdClusterProps) {
    const name = props.name ?? 'etcd';
    const { config } = props;
    const autoCompactionRetention = props.autoCompactionRetention ?? 1000;
    const snapshotCount = props.snapshotCount ?? 50000;
    validate(config, autoCompactionRetention, snapshotCount);

    const chart = PlatformChart.of(scope) as PlatformChart;
    const headless = chart.serviceHost(`${name}-headless`);
    const peerUrl = (member: string) => `http://${member}.${headless}:${ETCD_PORTS.peer}`;
    const initialCluster = Array.from({ length: config.replicas }, (_, i) => `${name}-${i}=${peerUrl(`${name}-${i}`)}`).join(',');

    const health = (path: string, periodSeconds: number, failureThreshold: number, timeoutSeconds: number) =>
      httpProbe(path, 'metrics', periodSeconds, failureThreshold, timeoutSeconds);

    super(scope, id, {
      name,
      component: 'metadata-store',
      version: imageVersion(config.image),
      replicas: config.replicas,
      ports: [
        { name: 'client', port: ETCD_PORTS.client },
        { name: 'peer', port: ETCD_PORTS.peer },
        { name: 'metrics', port: ETCD_PORTS.metrics },
      ],
      resources: config.resources,
      storage: config.storage,
      runAs: { uid: ETCD_UID, gid: ETCD_UID },
      // Members must start together to form a quorum; ordered start would wait forever on etcd-0.
      podManagementPolicy: 'Parallel',
      metricsPortName: 'metrics',
      terminationGracePeriodSeconds: 60,
      containers: [
        {
          name: 'etcd',
          image: imageName(config.image),
          imagePullPolicy: 'IfNotPresent',
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
            `--initial-cluster-token=${name}-${chart.config.namespace}`,
            `--listen-metrics-urls=http://0.0.0.0:${ETCD_PORTS.metrics}`,
            '--auto-compaction-mode=revision',
            `--auto-compaction-retention=${autoCompactionRetention}`,
            `--quota-backend-bytes=${config.quotaBackendBytes}`,
            `--snapshot-count=${snapshotCount}`,
            '--logger=zap',
            '--log-outputs=stderr',
          ],
          env: [
            { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
            // The member's stable DNS name; Kubernetes expands $(POD_NAME) defined just above. (No
            // ETCD_* names here: etcd reads those as flags, and the args are the one source.)
            { name: 'MEMBER_HOST', value: `$(POD_NAME).${headless}` },
          ],
          ports: [
            { name: 'client', containerPort: ETCD_PORTS.client, protocol: 'TCP' },
            { name: 'peer', containerPort: ETCD_PORTS.peer, protocol: 'TCP' },
            { name: 'metrics', containerPort: ETCD_PORTS.metrics, protocol: 'TCP' },
          ],
          resources: resourceRequirements(config.resources),
          securityContext: restrictedContainerSecurity(),
          // As kubeadm probes etcd: startup waits for a linearizable read (the member has joined a
          // quorum); liveness asks only whether this member's own server answers, so losing quorum
          // or hitting the space quota (NOSPACE, fixed by defrag, not by a restart) never restarts
          // it; readiness takes it out of the client Service while it cannot serve a quorum read.
          startupProbe: health('/health?serializable=false', 10, 30, 5),
          livenessProbe: health('/health?exclude=NOSPACE&serializable=true', 10, 6, 5),
          readinessProbe: health('/health?exclude=NOSPACE', 5, 3, 3),
          volumeMounts: [{ name: 'data', mountPath: DATA_MOUNT }],
        },
      ],
    });

    this.autoCompactionRetention = autoCompactionRetention;
    this.snapshotCount = snapshotCount;
    this.quotaBackendBytes = config.quotaBackendBytes;
    if (this.replicas > 1) this.connect(this.memberEndpoint('peer'), 'etcd raft replication between members');

    addServiceMonitor(this, 'service-monitor', {
      target: this,
      portName: 'metrics',
      port: ETCD_PORTS.metrics,
      scraper: props.scraper,
    });
  }
}

function validate(config: EtcdConfig, autoCompactionRetention: number, snapshotCount: number): void {
  if (!Number.isInteger(config.replicas) || config.replicas < 1 || config.replicas % 2 === 0) {
    throw new Error(`'replicas' of etcd must be odd (1, 3, 5) so that a majority survives a failure, got ${config.replicas}`);
  }
  const maxQuota = 8 * 1024 ** 3;
  if (!Number.isInteger(config.quotaBackendBytes) || config.quotaBackendBytes <= 0 || config.quotaBackendBytes > maxQuota) {
    throw new Error(`'quotaBackendBytes' of etcd must be a whole number of bytes between 1 and ${maxQuota} (etcd's suggested maximum), got ${config.quotaBackendBytes}`);
  }
  // The database may reach the quota, and compaction and defragmentation need room besides it.
  if (config.quotaBackendBytes > config.storage.sizeGiB * 1024 ** 3 / 2) {
    throw new Error(`'quotaBackendBytes' of etcd (${config.quotaBackendBytes}) must be at most half of its volume (${config.storage.sizeGiB}Gi)`);
  }
  if (!Number.isInteger(autoCompactionRetention) || autoCompactionRetention < 1) {
    throw new Error(`'autoCompactionRetention' of etcd must be a whole number of revisions of at least 1, got ${autoCompactionRetention}`);
  }
  if (!Number.isInteger(snapshotCount) || snapshotCount < 1) {
    throw new Error(`'snapshotCount' of etcd must be a whole number of at least 1, got ${snapshotCount}`);
  }
}
