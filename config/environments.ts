import { IMAGES } from './images';
import {
  AppConfig,
  EnvironmentName,
  MilvusConfig,
  MinioConfig,
  MongoDbConfig,
  MonitoringConfig,
  PlatformConfig,
  RedisConfig,
  ResourceSpec,
} from './types';

/**
 * The three environments, as data. Production carries the design's values
 * (../shared/design/deployment-architecture.md); staging is production at a smaller scale;
 * development fits a single small node.
 *
 * Look here first for any setting: replicas, images, resources, storage, hosts.
 */

/** Requests and limits, in millicores and MiB. */
export function resources(
  cpuMillis: [request: number, limit: number],
  memoryMiB: [request: number, limit: number],
  ephemeralStorageMiB: [request: number, limit: number] = [64, 1024],
): ResourceSpec {
  return {
    cpuMillis: { request: cpuMillis[0], limit: cpuMillis[1] },
    memoryMiB: { request: memoryMiB[0], limit: memoryMiB[1] },
    ephemeralStorageMiB: { request: ephemeralStorageMiB[0], limit: ephemeralStorageMiB[1] },
  };
}

/** go-backend (Gin API) and python-ai (FastAPI, LangGraph, RAG; SSE and gRPC): ports as the design's section 3. */
const productionGoBackend: AppConfig = {
  component: 'api',
  image: IMAGES.goBackend,
  ports: { http: 8080 },
  replicas: 3,
  maxReplicas: 10,
  targetCpuUtilizationPercent: 70,
  scaleDownStabilizationSeconds: 300,
  resources: resources([250, 1000], [256, 512]),
  terminationGracePeriodSeconds: 30,
  maxStartupSeconds: 60,
};

const productionPythonAi: AppConfig = {
  component: 'ai',
  image: IMAGES.pythonAi,
  ports: { http: 8081, grpc: 50051 },
  streams: true,
  replicas: 3,
  maxReplicas: 10,
  targetCpuUtilizationPercent: 70,
  // SSE streams last minutes: remove pods slowly so streams drain instead of being cut.
  scaleDownStabilizationSeconds: 900,
  // The design's limits (2 CPU, 4G); requests leave room to schedule three on modest nodes.
  resources: resources([500, 2000], [2048, 4096], [256, 2048]),
  terminationGracePeriodSeconds: 330,
  maxStartupSeconds: 300,
};

const productionMongoDb: MongoDbConfig = {
  image: IMAGES.mongodb,
  replicas: 3,
  replicaSetName: 'rs0',
  database: 'qingyu',
  storage: { sizeGiB: 50 },
  resources: resources([500, 2000], [2048, 4096], [128, 1024]),
  exporter: { image: IMAGES.mongodbExporter, resources: resources([50, 200], [64, 128], [16, 64]) },
  // Every 6 hours; a bad migration costs at most that (and the alert fires an hour later).
  backup: { schedule: '15 */6 * * *', retentionDays: 14, rpoMinutes: 420, rtoMinutes: 60 },
};

const productionRedis: RedisConfig = {
  image: IMAGES.redis,
  storage: { sizeGiB: 10 },
  resources: resources([250, 1000], [1024, 2048], [64, 512]),
  maxMemoryMiB: 1536,
  exporter: { image: IMAGES.redisExporter, resources: resources([50, 200], [32, 64], [16, 64]) },
  // Sessions: hourly.
  backup: { schedule: '45 * * * *', retentionDays: 7, rpoMinutes: 120, rtoMinutes: 15 },
};

/** The design's in-cluster object store; `milvus.objectStorage` may name an external `s3` store instead. */
const productionMinio: MinioConfig = {
  type: 'minio',
  image: IMAGES.minio,
  clientImage: IMAGES.minioClient,
  storage: { sizeGiB: 200 },
  resources: resources([250, 1000], [512, 2048], [64, 512]),
  bucket: 'milvus-bucket',
};

const productionMilvus: MilvusConfig = {
  image: IMAGES.milvus,
  authImage: IMAGES.grpcurl,
  storage: { sizeGiB: 50 },
  resources: resources([1000, 4000], [4096, 8192], [256, 4096]),
  etcd: {
    image: IMAGES.etcd,
    replicas: 1,
    storage: { sizeGiB: 10 },
    resources: resources([100, 1000], [256, 1024], [64, 512]),
    quotaBackendBytes: 4 * 1024 ** 3,
    backup: { schedule: '30 * * * *', retentionDays: 7, rpoMinutes: 120, rtoMinutes: 20 },
    // Sundays at 04:00, when Milvus is quietest: defragmentation pauses writes for seconds.
    defragSchedule: '0 4 * * 0',
  },
  objectStorage: productionMinio,
  // Nightly: the bucket copy is the large part (hours for large collections, within gc dropTolerance).
  backup: { schedule: '0 3 * * *', retentionDays: 14, rpoMinutes: 1560, rtoMinutes: 120 },
};

const productionMonitoring: MonitoringConfig = {
  mode: 'own',
  stackReleaseLabel: 'kube-prometheus-stack',
  stackNamespace: 'monitoring',
  prometheus: {
    image: IMAGES.prometheus,
    replicas: 2,
    retentionDays: 15,
    storage: { sizeGiB: 50 },
    resources: resources([500, 2000], [2048, 4096], [64, 1024]),
  },
  grafana: {
    image: IMAGES.grafana,
    storage: { sizeGiB: 5 },
    resources: resources([100, 500], [128, 512], [64, 512]),
  },
  // One namespace's objects: a few MiB of series.
  kubeStateMetrics: {
    image: IMAGES.kubeStateMetrics,
    resources: resources([20, 200], [64, 128], [16, 64]),
  },
  // Two members: one survives a node loss, and the pair deduplicates notifications.
  alertmanager: {
    image: IMAGES.alertmanager,
    replicas: 2,
    retentionHours: 120,
    storage: { sizeGiB: 1 },
    resources: resources([20, 200], [64, 128], [16, 64]),
  },
  stackAlertmanagerConfigLabels: { release: 'kube-prometheus-stack' },
  alerting: {
    receivers: {
      pager: { type: 'pagerduty' },
      chat: { type: 'wechat', corpId: 'ww-qingyu', agentId: '1000002', toParty: '2' },
      deadmansSwitch: { type: 'webhook' },
    },
    // Critical pages and shows in chat; warning goes to chat only.
    routes: { critical: ['pager', 'chat'], warning: ['chat'] },
    groupBy: ['alertname', 'namespace', 'job'],
    groupWaitSeconds: 30,
    groupIntervalMinutes: 5,
    repeatIntervalHours: { critical: 1, warning: 12 },
    egress: {
      cidrs: ['0.0.0.0/0'],
      except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'],
      ports: [443],
    },
  },
};

/** Backups leave the cluster: an S3-compatible bucket in another region, its key in `backup-target`. */
const productionBackup = (prefix: string): PlatformConfig['backup'] => ({
  target: {
    type: 's3',
    endpoint: 'oss-cn-shanghai.aliyuncs.com',
    port: 443,
    region: 'cn-shanghai',
    bucket: 'qingyu-backups',
    prefix,
    tls: true,
    cidrs: ['0.0.0.0/0'],
    except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'],
  },
  image: IMAGES.restic,
  clientImage: IMAGES.minioClient,
  resources: resources([100, 1000], [128, 512], [64, 512]),
});

const production: PlatformConfig = {
  environment: 'production',
  namespace: 'qingyu',
  clusterDomain: 'cluster.local',
  timeZone: 'Asia/Shanghai',
  apps: { 'go-backend': productionGoBackend, 'python-ai': productionPythonAi },
  mongodb: productionMongoDb,
  redis: productionRedis,
  milvus: productionMilvus,
  edge: {
    host: 'api.qingyu.com',
    tlsSecretName: 'api-qingyu-com-tls',
    ingressClassName: 'nginx',
    controllerNamespace: 'ingress-nginx',
    streamTimeoutSeconds: 3600,
    maxBodySizeMiB: 10,
    mode: 'ingress',
    gateway: { name: 'public', namespace: 'gateway-system', sectionName: 'https' },
    // The design's nginx (section 4): chat and agent streams under /api/v1/ai/, the rest to go-backend.
    routes: [
      { name: 'api-ai-stream', path: '/api/v1/ai/', app: 'python-ai' },
      { name: 'api', path: '/', app: 'go-backend' },
    ],
  },
  monitoring: productionMonitoring,
  network: {
    egressCidrs: ['0.0.0.0/0'],
    egressExceptCidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'],
    kubernetesApi: { cidrs: ['0.0.0.0/0'], ports: [443, 6443] },
  },
  backup: productionBackup('production'),
};

/** Once a day, kept `retentionDays`: the RPO is a day and an hour. */
const daily = (schedule: string, retentionDays: number): PlatformConfig['mongodb']['backup'] =>
  ({ schedule, retentionDays, rpoMinutes: 25 * 60, rtoMinutes: 60 });

const staging: PlatformConfig = {
  ...production,
  environment: 'staging',
  namespace: 'qingyu-staging',
  apps: {
    'go-backend': { ...productionGoBackend, replicas: 2, maxReplicas: 4 },
    'python-ai': { ...productionPythonAi, replicas: 2, maxReplicas: 4 },
  },
  mongodb: { ...productionMongoDb, storage: { sizeGiB: 20 }, backup: daily('15 2 * * *', 7) },
  redis: { ...productionRedis, storage: { sizeGiB: 5 }, backup: daily('30 2 * * *', 7) },
  milvus: {
    ...productionMilvus,
    storage: { sizeGiB: 20 },
    etcd: { ...productionMilvus.etcd, backup: daily('45 2 * * *', 7) },
    objectStorage: { ...productionMinio, storage: { sizeGiB: 50 } },
    backup: daily('0 3 * * *', 7),
  },
  edge: { ...production.edge, host: 'api.staging.qingyu.com', tlsSecretName: 'api-staging-qingyu-com-tls' },
  monitoring: {
    ...productionMonitoring,
    prometheus: { ...productionMonitoring.prometheus, replicas: 1, retentionDays: 7, storage: { sizeGiB: 20 } },
    alertmanager: { ...productionMonitoring.alertmanager, replicas: 1 },
    // Nobody is paged for staging: everything goes to the team's chat.
    alerting: {
      ...productionMonitoring.alerting,
      receivers: { chat: productionMonitoring.alerting.receivers.chat },
      routes: { critical: ['chat'], warning: ['chat'] },
    },
  },
  backup: productionBackup('staging'),
};

const small = resources([50, 500], [128, 512], [32, 512]);

const development: PlatformConfig = {
  ...production,
  environment: 'development',
  namespace: 'qingyu-dev',
  apps: {
    'go-backend': {
      ...productionGoBackend,
      replicas: 1,
      maxReplicas: 2,
      scaleDownStabilizationSeconds: 60,
      resources: resources([50, 500], [64, 256], [32, 256]),
    },
    'python-ai': {
      ...productionPythonAi,
      replicas: 1,
      maxReplicas: 2,
      scaleDownStabilizationSeconds: 60,
      resources: resources([100, 1000], [512, 2048], [64, 1024]),
      terminationGracePeriodSeconds: 60,
    },
  },
  mongodb: {
    ...productionMongoDb,
    // Still a replica set named rs0, so the connection string has the same shape everywhere.
    replicas: 1,
    storage: { sizeGiB: 5 },
    resources: resources([100, 1000], [256, 1024], [32, 512]),
    exporter: { ...productionMongoDb.exporter, resources: resources([10, 100], [32, 64], [16, 64]) },
    backup: daily('15 2 * * *', 3),
  },
  redis: {
    ...productionRedis,
    storage: { sizeGiB: 1 },
    resources: resources([50, 250], [128, 256], [16, 128]),
    maxMemoryMiB: 192,
    exporter: { ...productionRedis.exporter, resources: resources([10, 100], [16, 64], [16, 64]) },
    backup: daily('30 2 * * *', 3),
  },
  milvus: {
    ...productionMilvus,
    storage: { sizeGiB: 5 },
    resources: resources([200, 2000], [1024, 4096], [64, 2048]),
    etcd: { ...productionMilvus.etcd, storage: { sizeGiB: 2 }, quotaBackendBytes: 2 ** 30, resources: small, backup: daily('45 2 * * *', 3) },
    objectStorage: { ...productionMinio, storage: { sizeGiB: 5 }, resources: small },
    backup: daily('0 3 * * *', 3),
  },
  edge: {
    ...production.edge,
    host: 'api.qingyu.local',
    tlsSecretName: 'api-qingyu-local-tls',
    streamTimeoutSeconds: 600,
  },
  monitoring: {
    ...productionMonitoring,
    prometheus: {
      ...productionMonitoring.prometheus,
      replicas: 1,
      retentionDays: 2,
      storage: { sizeGiB: 2 },
      resources: resources([100, 1000], [256, 1024], [32, 512]),
    },
    grafana: { ...productionMonitoring.grafana, storage: { sizeGiB: 1 }, resources: small },
    alertmanager: { ...productionMonitoring.alertmanager, replicas: 1, retentionHours: 24 },
    // A developer's own webhook (a chat bot, or a local receiver) for everything.
    alerting: {
      ...productionMonitoring.alerting,
      receivers: { chat: { type: 'webhook' } },
      routes: { critical: ['chat'], warning: ['chat'] },
      repeatIntervalHours: { critical: 4, warning: 24 },
    },
  },
  // The in-cluster MinIO: enough to exercise the backup Jobs and restore.sh, but not a backup
  // (README "Recovery"): it is lost with the cluster.
  backup: { ...productionBackup('development'), target: { type: 'in-cluster-minio', bucket: 'backups', prefix: 'development' } },
};

export const ENVIRONMENTS: Readonly<Record<EnvironmentName, PlatformConfig>> = {
  production,
  staging,
  development,
};
