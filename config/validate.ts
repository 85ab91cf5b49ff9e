import { cidrContains, isIpv4Cidr } from '../lib/flows';
import { advisoriesAffecting, describeAdvisory, hasFloor } from './advisories';
import { ImageRef, PlatformConfig } from './types';

// What no construct sees, checked here: names (DNS names the cluster will require), image
// references and the version floor, addresses (CIDRs, host names) and the modes. Everything a
// construct consumes is checked once, by that construct, when the charts are composed: store
// rules, replica counts, resources, scaling bounds (its refusal names the setting as well).

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
const IMAGE_REPOSITORY = /^[a-z0-9]+([._/:-][a-z0-9]+)*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
/** An OCI image tag. */
export const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** An image content digest. */
export const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;

/** Every ImageRef in the configuration, with its path (`mongodb.image`). */
function imagesOf(value: unknown, path: string): Array<[string, ImageRef]> {
  if (value === null || typeof value !== 'object') return [];
  if (typeof (value as ImageRef).repository === 'string') return [[path, value as ImageRef]];
  return Object.entries(value).flatMap(([k, v]) => imagesOf(v, path ? (/^[a-zA-Z_]\w*$/.test(k) ? `${path}.${k}` : `${path}['${k}']`) : k));
}

/**
 * Checks the formats of a configuration and returns one message per problem, each naming the
 * setting, the value received and what is allowed. An empty list means the formats are valid.
 */
export function validateConfig(config: PlatformConfig): string[] {
  const problems: string[] = [];
  const at = (path: string) => `config ${config.environment}.${path}`;
  const check = (ok: boolean, path: string, value: unknown, allowed: string) => {
    if (!ok) problems.push(`${at(path)}: ${allowed}, got ${JSON.stringify(value)}`);
  };
  const cidrs = (list: readonly string[], path: string, nonEmpty = true) => {
    if (nonEmpty) check(list.length > 0, path, '[]', 'must list at least one CIDR');
    list.forEach((c, i) => check(isIpv4Cidr(c), `${path}[${i}]`, c, 'must be an IPv4 CIDR'));
  };
  const port = (p: number, path: string) => check(Number.isInteger(p) && p >= 1 && p <= 65535, path, p, 'must be a port from 1 to 65535');

  for (const [path, ref] of imagesOf(config, '')) {
    check(IMAGE_REPOSITORY.test(ref.repository), `${path}.repository`, ref.repository, 'must be an image repository');
    check(ref.tag !== undefined || ref.digest !== undefined, path, ref, 'must set a tag or a digest');
    if (ref.tag !== undefined) {
      check(TAG_PATTERN.test(ref.tag) && ref.tag !== 'latest', `${path}.tag`, ref.tag, "must be a release tag (not 'latest')");
    }
    if (ref.digest !== undefined) check(DIGEST_PATTERN.test(ref.digest), `${path}.digest`, ref.digest, 'must be sha256:<64 hex>');
    // The version floor (config/advisories.ts) reads the version from the tag: a digest pin of a
    // component it judges keeps its tag beside it.
    if (!hasFloor(ref.repository)) continue;
    if (ref.tag === undefined) {
      problems.push(`${at(path)}: ${ref.repository} is pinned by digest alone; keep the tag beside the digest, `
        + 'so that the version floor can judge it (config/advisories.ts)');
      continue;
    }
    const tag = ref.tag;
    const affecting = advisoriesAffecting(ref.repository, tag);
    if (affecting.length > 0) {
      problems.push(`${at(path)}: ${ref.repository} ${tag} is affected by ${affecting.map((a) => describeAdvisory(a, tag)).join(' and ')}`);
    }
  }

  check(DNS_LABEL.test(config.namespace), 'namespace', config.namespace, 'must be a DNS label (lowercase, digits, -)');
  check(DNS_NAME.test(config.clusterDomain), 'clusterDomain', config.clusterDomain, 'must be a DNS name');
  check(Object.keys(config.apps).length > 0, 'apps', {}, 'must name at least one application service');
  for (const name of Object.keys(config.apps)) {
    // The app's name prefixes its Deployment's pods and its ConfigMap: a DNS label with room to spare.
    check(DNS_LABEL.test(name) && name.length <= 40, `apps['${name}']`, name, 'must be a DNS label of at most 40 characters (it names the Deployment, its Service and pods)');
  }
  check(DNS_LABEL.test(config.mongodb.replicaSetName), 'mongodb.replicaSetName', config.mongodb.replicaSetName, 'must be a DNS label');

  const os = config.milvus.objectStorage;
  if (os.type === 's3') {
    check(DNS_NAME.test(os.endpoint) || IPV4.test(os.endpoint), 'milvus.objectStorage.endpoint', os.endpoint,
      'must be a host name or IPv4 address, without scheme or port');
    port(os.port, 'milvus.objectStorage.port');
    check(os.cidrs.length > 0, 'milvus.objectStorage.cidrs', '[]', 'must list at least one CIDR (where the endpoint answers)');
    cidrs(os.cidrs, 'milvus.objectStorage.cidrs', false);
  } else if (os.type !== 'minio') {
    check(false, 'milvus.objectStorage.type', (os as { type: unknown }).type, "must be 'minio' or 's3'");
  }

  const e = config.edge;
  check(DNS_NAME.test(e.host), 'edge.host', e.host, 'must be a DNS name');
  check(DNS_NAME.test(e.tlsSecretName), 'edge.tlsSecretName', e.tlsSecretName, 'must be a Secret name');
  check(DNS_NAME.test(e.ingressClassName), 'edge.ingressClassName', e.ingressClassName, 'must be an IngressClass name');
  check(DNS_LABEL.test(e.controllerNamespace), 'edge.controllerNamespace', e.controllerNamespace, 'must be a namespace name');
  check(e.mode === 'ingress' || e.mode === 'gateway', 'edge.mode', e.mode, "must be 'ingress' or 'gateway'");
  check(DNS_NAME.test(e.gateway.name) && DNS_LABEL.test(e.gateway.namespace), 'edge.gateway', e.gateway,
    'must name a Gateway and its namespace');
  e.routes.forEach((r, i) => check(DNS_LABEL.test(r.name), `edge.routes[${i}].name`, r.name, 'must be a DNS label (it names the Ingress)'));

  const mon = config.monitoring;
  check(mon.mode === 'own' || mon.mode === 'kube-prometheus-stack', 'monitoring.mode', mon.mode, "must be 'own' or 'kube-prometheus-stack'");
  check(DNS_LABEL.test(mon.stackNamespace), 'monitoring.stackNamespace', mon.stackNamespace, 'must be a namespace name');

  const net = config.network;
  cidrs(net.egressCidrs, 'network.egressCidrs', false);
  cidrs(net.egressExceptCidrs, 'network.egressExceptCidrs', false);
  net.egressExceptCidrs.forEach((x, i) => check(!isIpv4Cidr(x) || net.egressCidrs.some((c) => isIpv4Cidr(c) && cidrContains(c, x)),
    `network.egressExceptCidrs[${i}]`, x, 'must lie inside one of network.egressCidrs'));
  cidrs(net.kubernetesApi.cidrs, 'network.kubernetesApi.cidrs');
  check(net.kubernetesApi.ports.length > 0, 'network.kubernetesApi.ports', '[]', 'must list at least one port');
  net.kubernetesApi.ports.forEach((p, i) => port(p, `network.kubernetesApi.ports[${i}]`));

  return problems;
}
