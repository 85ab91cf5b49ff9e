import { advisoriesAffecting, describeAdvisory, hasFloor } from './advisories';
import { AppConfig, ImageRef, PlatformConfig, ResourceSpec, StorageSpec } from './types';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
const IMAGE_REPOSITORY = /^[a-z0-9]+([._\/:-][a-z0-9]+)*$/;
/** An OCI image tag. */
export const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** An image content digest. */
export const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/**
 * Checks every value of a configuration and returns one message per problem, each naming the
 * setting, the value received and what is allowed. An empty list means the config is valid.
 */
export function validateConfig(config: PlatformConfig): string[] {
  const problems: string[] = [];
  const at = (path: string) => `config ${config.environment}.${path}`;
  const check = (ok: boolean, path: string, value: unknown, allowed: string) => {
    if (!ok) problems.push(`${at(path)}: ${allowed}, got ${JSON.stringify(value)}`);
  };
  const int = (value: number, path: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
    check(Number.isInteger(value) && value >= min && value <= max, path, value, `must be a whole number from ${min} to ${max}`);

  const cidrOk = (c: string) => {
    const m4 = CIDR.exec(c);
    return m4 !== null && m4.slice(1, 5).every((o) => Number(o) <= 255) && Number(m4[5]) <= 32;
  };
  const checkImage = (ref: ImageRef, path: string) => {
    check(IMAGE_REPOSITORY.test(ref.repository), `${path}.repository`, ref.repository, 'must be an image repository');
    check(ref.tag !== undefined || ref.digest !== undefined, `${path}`, ref, 'must set a tag or a digest');
    if (ref.tag !== undefined) {
      check(TAG_PATTERN.test(ref.tag) && ref.tag !== 'latest', `${path}.tag`, ref.tag, "must be a release tag (not 'latest')");
    }
    if (ref.digest !== undefined) check(DIGEST_PATTERN.test(ref.digest), `${path}.digest`, ref.digest, 'must be sha256:<64 hex>');
    // The version floor (config/advisories.ts) reads the version from the tag: a digest pin of a
    // component it judges keeps its tag beside it.
    if (hasFloor(ref.repository)) {
      if (ref.tag === undefined) {
        problems.push(`${at(path)}: ${ref.repository} is pinned by digest alone; keep the tag beside the digest, `
          + 'so that the version floor can judge it (config/advisories.ts)');
      } else {
        const tag = ref.tag;
        const affecting = advisoriesAffecting(ref.repository, tag);
        if (affecting.length > 0) {
          problems.push(`${at(path)}: ${ref.repository} ${tag} is affected by ${affecting.map((a) => describeAdvisory(a, tag)).join(' and ')}`);
        }
      }
    }
  };
  const checkResources = (r: ResourceSpec, path: string) => {
    for (const [name, pair] of Object.entries(r) as [string, { request: number; limit: number }][]) {
      int(pair.request, `${path}.${name}.request`, 1);
      check(pair.limit >= pair.request, `${path}.${name}.limit`, pair.limit, `must be at least the request (${pair.request})`);
    }
  };
  const checkStorage = (s: StorageSpec, path: string) => {
    int(s.sizeGiB, `${path}.sizeGiB`, 1);
    if (s.storageClassName !== undefined) {
      check(DNS_NAME.test(s.storageClassName), `${path}.storageClassName`, s.storageClassName, 'must be a DNS subdomain');
    }
  };
  const checkApp = (app: AppConfig, path: string) => {
    checkImage(app.image, `${path}.image`);
    int(app.replicas, `${path}.replicas`, 1, 100);
    check(app.maxReplicas > app.replicas, `${path}.maxReplicas`, app.maxReplicas, `must exceed replicas (${app.replicas}) so the HPA can scale`);
    int(app.targetCpuUtilizationPercent, `${path}.targetCpuUtilizationPercent`, 10, 100);
    int(app.scaleDownStabilizationSeconds, `${path}.scaleDownStabilizationSeconds`, 0, 3600);
    int(app.terminationGracePeriodSeconds, `${path}.terminationGracePeriodSeconds`, 10, 3600);
    int(app.maxStartupSeconds, `${path}.maxStartupSeconds`, 10, 1800);
    checkResources(app.resources, `${path}.resources`);
  };

  check(DNS_LABEL.test(config.namespace), 'namespace', config.namespace, 'must be a DNS label (lowercase, digits, -)');
  check(DNS_NAME.test(config.clusterDomain), 'clusterDomain', config.clusterDomain, 'must be a DNS name');
  checkApp(config.goBackend, 'goBackend');
  checkApp(config.pythonAi, 'pythonAi');

  const m = config.mongodb;
  checkImage(m.image, 'mongodb.image');
  check(Number.isInteger(m.replicas) && m.replicas >= 1 && m.replicas <= 7 && m.replicas % 2 === 1, 'mongodb.replicas', m.replicas,
    'must be odd (1, 3, 5 or 7) for a MongoDB replica set');
  check(DNS_LABEL.test(m.replicaSetName), 'mongodb.replicaSetName', m.replicaSetName, 'must be a DNS label');
  check(/^[A-Za-z0-9_-]{1,63}$/.test(m.database), 'mongodb.database', m.database, 'must be a MongoDB database name');
  checkStorage(m.storage, 'mongodb.storage');
  checkResources(m.resources, 'mongodb.resources');
  checkImage(m.exporter.image, 'mongodb.exporter.image');
  checkResources(m.exporter.resources, 'mongodb.exporter.resources');

  const r = config.redis;
  checkImage(r.image, 'redis.image');
  checkStorage(r.storage, 'redis.storage');
  checkResources(r.resources, 'redis.resources');
  check(r.maxMemoryMiB >= 16 && r.maxMemoryMiB <= r.resources.memoryMiB.limit * 0.8, 'redis.maxMemoryMiB', r.maxMemoryMiB,
    `must be from 16 to 80% of the memory limit (${Math.floor(r.resources.memoryMiB.limit * 0.8)})`);
  checkImage(r.exporter.image, 'redis.exporter.image');
  checkResources(r.exporter.resources, 'redis.exporter.resources');

  const mv = config.milvus;
  checkImage(mv.image, 'milvus.image');
  checkStorage(mv.storage, 'milvus.storage');
  checkResources(mv.resources, 'milvus.resources');
  checkImage(mv.etcd.image, 'milvus.etcd.image');
  check(Number.isInteger(mv.etcd.replicas) && mv.etcd.replicas >= 1 && mv.etcd.replicas <= 7 && mv.etcd.replicas % 2 === 1,
    'milvus.etcd.replicas', mv.etcd.replicas, 'must be odd (1, 3, 5 or 7) for an etcd cluster');
  checkStorage(mv.etcd.storage, 'milvus.etcd.storage');
  checkResources(mv.etcd.resources, 'milvus.etcd.resources');
  check(mv.etcd.quotaBackendBytes >= 2 ** 30 && mv.etcd.quotaBackendBytes <= 8 * 2 ** 30, 'milvus.etcd.quotaBackendBytes',
    mv.etcd.quotaBackendBytes, 'must be from 1 GiB to 8 GiB (etcd\'s suggested maximum)');
  check(mv.etcd.quotaBackendBytes < mv.etcd.storage.sizeGiB * 2 ** 30, 'milvus.etcd.storage.sizeGiB', mv.etcd.storage.sizeGiB,
    'must be larger than the etcd backend quota');
  const os = mv.objectStorage;
  const bucketOk = (b: string) => /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(b) && !b.includes('..');
  if (os.type === 'minio') {
    checkImage(os.image, 'milvus.objectStorage.image');
    checkStorage(os.storage, 'milvus.objectStorage.storage');
    checkResources(os.resources, 'milvus.objectStorage.resources');
    check(bucketOk(os.bucket), 'milvus.objectStorage.bucket', os.bucket, 'must be an S3 bucket name');
  } else if (os.type === 's3') {
    check(DNS_NAME.test(os.endpoint) || IPV4.test(os.endpoint), 'milvus.objectStorage.endpoint', os.endpoint,
      'must be a host name or IPv4 address, without scheme or port');
    int(os.port, 'milvus.objectStorage.port', 1, 65535);
    check(/^[a-z0-9-]{1,32}$/.test(os.region), 'milvus.objectStorage.region', os.region, 'must be a region name (lowercase letters, digits, -)');
    check(bucketOk(os.bucket), 'milvus.objectStorage.bucket', os.bucket, 'must be an S3 bucket name');
    check(os.cidrs.length > 0, 'milvus.objectStorage.cidrs', '[]', 'must list at least one CIDR (where the endpoint answers)');
    os.cidrs.forEach((c, i) => check(cidrOk(c), `milvus.objectStorage.cidrs[${i}]`, c, 'must be an IPv4 CIDR'));
  } else {
    check(false, 'milvus.objectStorage.type', (os as { type: unknown }).type, "must be 'minio' or 's3'");
  }

  const e = config.edge;
  check(DNS_NAME.test(e.host), 'edge.host', e.host, 'must be a DNS name');
  check(DNS_NAME.test(e.tlsSecretName), 'edge.tlsSecretName', e.tlsSecretName, 'must be a Secret name');
  check(DNS_NAME.test(e.ingressClassName), 'edge.ingressClassName', e.ingressClassName, 'must be an IngressClass name');
  check(DNS_LABEL.test(e.controllerNamespace), 'edge.controllerNamespace', e.controllerNamespace, 'must be a namespace name');
  int(e.streamTimeoutSeconds, 'edge.streamTimeoutSeconds', 120, 86400);
  int(e.maxBodySizeMiB, 'edge.maxBodySizeMiB', 1, 1024);
  check(e.mode === 'ingress' || e.mode === 'gateway', 'edge.mode', e.mode, "must be 'ingress' or 'gateway'");
  check(DNS_NAME.test(e.gateway.name) && DNS_LABEL.test(e.gateway.namespace), 'edge.gateway', e.gateway,
    'must name a Gateway and its namespace');

  const mon = config.monitoring;
  check(mon.mode === 'own' || mon.mode === 'kube-prometheus-stack', 'monitoring.mode', mon.mode, "must be 'own' or 'kube-prometheus-stack'");
  checkImage(mon.prometheus.image, 'monitoring.prometheus.image');
  int(mon.prometheus.replicas, 'monitoring.prometheus.replicas', 1, 3);
  int(mon.prometheus.retentionDays, 'monitoring.prometheus.retentionDays', 1, 365);
  checkStorage(mon.prometheus.storage, 'monitoring.prometheus.storage');
  checkResources(mon.prometheus.resources, 'monitoring.prometheus.resources');
  checkImage(mon.grafana.image, 'monitoring.grafana.image');
  checkStorage(mon.grafana.storage, 'monitoring.grafana.storage');
  checkResources(mon.grafana.resources, 'monitoring.grafana.resources');
  checkImage(mon.kubeStateMetrics.image, 'monitoring.kubeStateMetrics.image');
  checkResources(mon.kubeStateMetrics.resources, 'monitoring.kubeStateMetrics.resources');

  config.network.egressCidrs.forEach((c, i) => check(cidrOk(c), `network.egressCidrs[${i}]`, c, 'must be an IPv4 CIDR'));
  config.network.egressExceptCidrs.forEach((c, i) => check(cidrOk(c), `network.egressExceptCidrs[${i}]`, c, 'must be an IPv4 CIDR'));
  const api = config.network.kubernetesApi;
  check(api.cidrs.length > 0, 'network.kubernetesApi.cidrs', '[]', 'must list at least one CIDR');
  api.cidrs.forEach((c, i) => check(cidrOk(c), `network.kubernetesApi.cidrs[${i}]`, c, 'must be an IPv4 CIDR'));
  check(api.ports.length > 0, 'network.kubernetesApi.ports', '[]', 'must list at least one port');
  api.ports.forEach((p, i) => int(p, `network.kubernetesApi.ports[${i}]`, 1, 65535));

  return problems;
}
