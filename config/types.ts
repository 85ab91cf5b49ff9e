/**
 * The typed configuration of one Qingyu environment.
 *
 * Every value a chart needs comes from here; charts never read the process environment.
 * Units are in the names (`cpuMillis`, `memoryMiB`, `storageGiB`, `...Seconds`) so that
 * quotas, capacity reports and policy checks can compute with them.
 */

import type { AlertingConfig } from '../charts/monitoring/alert-routing';
export type { AlertingConfig, ReceiverRole } from '../charts/monitoring/alert-routing';
import type { BackupSchedule, BackupSettings } from '../lib/backup';
export type { BackupSchedule, BackupSettings, BackupTargetConfig } from '../lib/backup';
import { ImageRef, ResourceSpec, StorageSpec } from '../lib/pod';

export type { ImageRef, ResourceSpec, StorageSpec };

export const ENVIRONMENT_NAMES = ['production', 'staging', 'development'] as const;
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

/**
 * An application service of the tier (go-backend, python-ai, ...): its name is its key in
 * `apps`. What it is told in its environment is its contract in charts/apps/apps-chart.ts; an
 * app without one gets the default contract: APP_ENV, TZ and the standard variables of each
 * store it `uses` (README "Application contract").
 */
export interface AppConfig {
  /** Its role, the `app.kubernetes.io/component` label (`api`, `ai`). */
  readonly component: string;
  readonly image: ImageRef;
  /** Container ports by name; `http` serves `/health` and `/metrics`. */
  readonly ports: Readonly<Record<string, number>>;
  /** Pods when idle: the HPA's `minReplicas` (the Deployment itself sets no replica count). */
  readonly replicas: number;
  readonly maxReplicas: number;
  /** Average CPU utilisation, in percent of requests, that the HPA aims for. */
  readonly targetCpuUtilizationPercent: number;
  /** How long the HPA waits, after load drops, before removing pods. */
  readonly scaleDownStabilizationSeconds: number;
  readonly resources: ResourceSpec;
  /** Time a pod gets to finish in-flight work (SSE streams for python-ai) after SIGTERM. */
  readonly terminationGracePeriodSeconds: number;
  /** Slowest acceptable start (model loading): the startup probe allows this long. */
  readonly maxStartupSeconds: number;
  /** Serves long-lived Server-Sent Event streams: stream timeouts at the edge, no latency alert. */
  readonly streams?: boolean;
  /** For the default contract: the stores whose standard variables the app gets. */
  readonly uses?: ReadonlyArray<'mongodb' | 'redis' | 'milvus'>;
}

export interface MongoDbConfig {
  readonly image: ImageRef;
  /** Replica-set members; must be odd so that a majority survives a partition. */
  readonly replicas: number;
  readonly replicaSetName: string;
  /** The application database named in the connection string. */
  readonly database: string;
  readonly storage: StorageSpec;
  readonly resources: ResourceSpec;
  readonly exporter: { readonly image: ImageRef; readonly resources: ResourceSpec };
  /** `mongodump --oplog` from a secondary: a point-in-time consistent dump of the whole set. */
  readonly backup: BackupSchedule;
}

export interface RedisConfig {
  readonly image: ImageRef;
  readonly storage: StorageSpec;
  readonly resources: ResourceSpec;
  /** `maxmemory`; keep it below the memory limit so copy-on-write during rewrites fits. */
  readonly maxMemoryMiB: number;
  readonly exporter: { readonly image: ImageRef; readonly resources: ResourceSpec };
  /** `redis-cli --rdb`: a snapshot of every key (the sessions). */
  readonly backup: BackupSchedule;
}

export interface EtcdConfig {
  readonly image: ImageRef;
  /** 1 for standalone Milvus; 3 (odd) for a highly available metadata store. */
  readonly replicas: number;
  readonly storage: StorageSpec;
  readonly resources: ResourceSpec;
  readonly quotaBackendBytes: number;
  /** `etcdctl snapshot save`: Milvus's metadata alone (restores metadata when the segments are intact). */
  readonly backup: BackupSchedule;
  /** When every member is defragmented (returns the space compaction freed; writes pause briefly). */
  readonly defragSchedule: string;
}

/** `milvus.objectStorage.type: 'minio'`: the platform's own single-drive MinIO, the design's default. */
export interface MinioConfig {
  readonly type: 'minio';
  readonly image: ImageRef;
  /** The MinIO client (`mc`) that creates Milvus's bucket before Milvus starts. */
  readonly clientImage: ImageRef;
  readonly storage: StorageSpec;
  readonly resources: ResourceSpec;
  /** The bucket Milvus stores segments in; created before Milvus starts. */
  readonly bucket: string;
}

/**
 * `milvus.objectStorage.type: 's3'`: an S3-compatible object store outside the cluster (a cloud
 * bucket, or a maintained MinIO-compatible server). No MinIO is emitted; Milvus reads the access
 * key from the `milvus-object-store` Secret and may reach only `cidrs` on `port`.
 */
export interface S3ObjectStorageConfig {
  readonly type: 's3';
  /** Host name (or IP address) of the S3 endpoint, without scheme or port: `s3.ap-east-1.amazonaws.com`. */
  readonly endpoint: string;
  readonly port: number;
  /** The bucket's region (`minio.region`); some S3 implementations ignore it. */
  readonly region: string;
  /** An existing bucket: Milvus never creates it in this mode. */
  readonly bucket: string;
  /**
   * HTTPS to the endpoint (`minio.useSSL`). Milvus 2.3 has no CA setting: the endpoint's
   * certificate must chain to a public CA its image trusts.
   */
  readonly tls: boolean;
  /** Where the endpoint's addresses lie, for the NetworkPolicy that lets Milvus reach it. */
  readonly cidrs: readonly string[];
}

export type ObjectStorageConfig = MinioConfig | S3ObjectStorageConfig;

export interface MilvusConfig {
  readonly image: ImageRef;
  /** The milvus-auth Job's image: grpcurl with a shell (charts/milvus/milvus-auth.ts). */
  readonly authImage: ImageRef;
  readonly storage: StorageSpec;
  readonly resources: ResourceSpec;
  readonly etcd: EtcdConfig;
  /** Where Milvus keeps its segments and indexes: in-cluster MinIO (`minio`) or an external `s3` store. */
  readonly objectStorage: ObjectStorageConfig;
  /**
   * A consistent pair: an etcd snapshot, then a copy of the bucket (segments are immutable, and
   * Milvus deletes dropped ones only after `dataCoord.gc.dropTolerance`, so every segment the
   * snapshot names is still there when the copy reads it).
   */
  readonly backup: BackupSchedule;
}

export interface EdgeConfig {
  /** Public host name of the API. */
  readonly host: string;
  /** Secret of type kubernetes.io/tls holding the certificate for `host`. */
  readonly tlsSecretName: string;
  /** When set, cert-manager issues the certificate through this ClusterIssuer. */
  readonly clusterIssuer?: string;
  readonly ingressClassName: string;
  /** Namespace of the ingress controller pods, the only source allowed to reach the apps. */
  readonly controllerNamespace: string;
  /** Read and send timeout for Server-Sent Event streams under /api/v1/ai/. */
  readonly streamTimeoutSeconds: number;
  /** Largest request body accepted at the edge. */
  readonly maxBodySizeMiB: number;
  /** `ingress` (ingress-nginx) or `gateway` (Gateway API HTTPRoutes on `gateway`). */
  readonly mode: 'ingress' | 'gateway';
  /** Parent Gateway of the HTTPRoutes in `gateway` mode. */
  readonly gateway: { readonly name: string; readonly namespace: string; readonly sectionName?: string };
  /**
   * The public routes of `host`, most specific first and `/` last: each sends a path prefix to
   * an app of `apps`. A streaming app's route gets `streamTimeoutSeconds`.
   */
  readonly routes: readonly EdgeRoute[];
}

/** One public route: the Ingress (or HTTPRoute rule) `name` sends `path` and below to `app`. */
export interface EdgeRoute {
  readonly name: string;
  readonly path: string;
  readonly app: string;
}

export interface MonitoringConfig {
  /**
   * `own`: emit a Prometheus (operator CR) and Grafana for the platform.
   * `kube-prometheus-stack`: rely on an existing stack; emit only ServiceMonitors and rules
   * with its `release` label.
   */
  readonly mode: 'own' | 'kube-prometheus-stack';
  /** The `release` label value the existing stack selects on. */
  readonly stackReleaseLabel: string;
  /** Namespace of the existing stack's Prometheus (for NetworkPolicy). */
  readonly stackNamespace: string;
  readonly prometheus: {
    readonly image: ImageRef;
    readonly replicas: number;
    readonly retentionDays: number;
    readonly storage: StorageSpec;
    readonly resources: ResourceSpec;
  };
  readonly grafana: {
    readonly image: ImageRef;
    readonly storage: StorageSpec;
    readonly resources: ResourceSpec;
  };
  /** kube-state-metrics for the workload alerts, in `own` mode (a stack brings its own). */
  readonly kubeStateMetrics: {
    readonly image: ImageRef;
    readonly resources: ResourceSpec;
  };
  /** The platform's Alertmanager, in `own` mode (a stack brings its own). */
  readonly alertmanager: {
    readonly image: ImageRef;
    /** Members of the Alertmanager cluster (1 to 3); 2 or more share silences and notify once. */
    readonly replicas: number;
    /** Hours silences and the notification log are kept (what a restart or failover keeps). */
    readonly retentionHours: number;
    readonly storage: StorageSpec;
    readonly resources: ResourceSpec;
  };
  /**
   * Labels of the platform's AlertmanagerConfig in `kube-prometheus-stack` mode: those the
   * stack's Alertmanager selects (`alertmanagerConfigSelector`; the deploy preflight warns
   * when the live one would not select it).
   */
  readonly stackAlertmanagerConfigLabels: Readonly<Record<string, string>>;
  readonly alerting: AlertingConfig;
}

export interface NetworkConfig {
  /** Where python-ai may open HTTPS connections (the OpenAI API). */
  readonly egressCidrs: readonly string[];
  /** CIDRs excluded from `egressCidrs` (the cluster's own private ranges). */
  readonly egressExceptCidrs: readonly string[];
  /**
   * Where the Kubernetes API server answers, for the pods that watch it (Prometheus's service
   * discovery, kube-state-metrics). NetworkPolicies match the endpoint after the `kubernetes`
   * Service is resolved, so list the API server's own addresses (`kubectl get endpointslices -n
   * default -l kubernetes.io/service-name=kubernetes`) and the port it listens on (443 on most
   * managed clusters, 6443 on kubeadm). The environments allow any address (0.0.0.0/0) on both
   * ports; narrow it once you know them.
   */
  readonly kubernetesApi: { readonly cidrs: readonly string[]; readonly ports: readonly number[] };
}

export interface PlatformConfig {
  readonly environment: EnvironmentName;
  readonly namespace: string;
  /** Cluster DNS domain used in fully qualified Service names. */
  readonly clusterDomain: string;
  /** Time zone handed to the applications (`TZ`). */
  readonly timeZone: string;
  /** The application tier, by name (a contract: the name is the Deployment's and the Service's). */
  readonly apps: Readonly<Record<string, AppConfig>>;
  readonly mongodb: MongoDbConfig;
  readonly redis: RedisConfig;
  readonly milvus: MilvusConfig;
  readonly edge: EdgeConfig;
  readonly monitoring: MonitoringConfig;
  readonly network: NetworkConfig;
  /** Where the stores' backups go, and the tool that writes them (README "Recovery"). */
  readonly backup: BackupSettings;
}
