import { loadConfig } from '../../config';
import { allContainers, matches, podSources } from '../support/model';
import { ALL_ENVIRONMENTS, K8sObject, ofKind, synthesize, synthesizeConfig } from '../support/synth';

// Computes, from the synthesized NetworkPolicies alone, which peer may open a connection to
// which peer on which port, and compares that with the flow table the platform needs, both
// ways: every needed flow is allowed and nothing else is.

interface Endpoint {
  readonly id: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** For peers outside the cluster. */
  readonly ip?: string;
  readonly ports: number[];
}

const NAME = 'app.kubernetes.io/name';

function externals(ns: string, config: ReturnType<typeof synthesize>['config']): Endpoint[] {
  return [
    { id: 'ingress-controller', namespace: config.edge.controllerNamespace, labels: { [NAME]: 'ingress-nginx' }, ports: [] },
    { id: 'other-namespace-pod', namespace: 'default', labels: { [NAME]: 'intruder' }, ports: [] },
    { id: 'dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' }, ports: [53] },
    { id: 'internet', namespace: '', labels: {}, ip: '104.18.7.192', ports: [443, 80] },
    { id: 'private-network', namespace: '', labels: {}, ip: '10.20.30.40', ports: [443, 6443] },
    { id: 'unlabelled-pod', namespace: ns, labels: {}, ports: [80] },
  ];
}

function ipInCidr(ip: string, cidr: string): boolean {
  const toInt = (a: string) => a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(base) / size);
}

function peerMatches(peer: any, target: Endpoint, policyNamespace: string): boolean {
  if (peer.ipBlock) {
    const excepted = (peer.ipBlock.except ?? []).some((e: string) => ipInCidr(target.ip!, e));
    return !!target.ip && ipInCidr(target.ip, peer.ipBlock.cidr) && !excepted;
  }
  if (target.ip) return false;
  const nsOk = peer.namespaceSelector
    ? Object.entries(peer.namespaceSelector.matchLabels ?? {}).every(([k, v]) => k === 'kubernetes.io/metadata.name' && v === target.namespace)
    : target.namespace === policyNamespace;
  const podOk = !peer.podSelector || Object.keys(peer.podSelector.matchLabels ?? {}).length === 0
    || matches(peer.podSelector.matchLabels, target.labels);
  return nsOk && podOk;
}

function portMatches(rulePorts: any[] | undefined, port: number): boolean {
  return !rulePorts || rulePorts.some((p) => p.port === undefined || p.port === port);
}

function allowedFlows(objects: K8sObject[], ns: string, config: ReturnType<typeof synthesize>['config']): Set<string> {
  const policies = ofKind(objects, 'NetworkPolicy');
  const pods: Endpoint[] = podSources(objects).map((s) => ({
    id: s.labels[NAME],
    namespace: ns,
    labels: s.labels,
    ports: allContainers(s.spec).flatMap((c: any) => (c.ports ?? []).map((p: any) => p.containerPort)),
  }));
  const ext = externals(ns, config);
  const selecting = (pod: Endpoint, type: string) =>
    pod.namespace === ns && !pod.ip
      ? policies.filter((p) => p.spec.policyTypes.includes(type)
        && (Object.keys(p.spec.podSelector.matchLabels ?? {}).length === 0 || matches(p.spec.podSelector.matchLabels, pod.labels)))
      : undefined; // outside our namespace: not ours to restrict
  const egressOk = (src: Endpoint, dst: Endpoint, port: number) => {
    const ps = selecting(src, 'Egress');
    if (!ps || ps.length === 0) return true;
    return ps.some((p) => (p.spec.egress ?? [])
      .some((r: any) => portMatches(r.ports, port) && (r.to ?? []).some((peer: any) => peerMatches(peer, dst, ns))));
  };
  const ingressOk = (src: Endpoint, dst: Endpoint, port: number) => {
    const ps = selecting(dst, 'Ingress');
    if (!ps || ps.length === 0) return true;
    return ps.some((p) => (p.spec.ingress ?? [])
      .some((r: any) => portMatches(r.ports, port) && (r.from ?? []).some((peer: any) => peerMatches(peer, src, ns))));
  };
  const flows = new Set<string>();
  const all = [...pods, ...ext];
  for (const src of all) {
    for (const dst of all) {
      if (!pods.includes(src) && !pods.includes(dst)) continue; // neither side is ours
      for (const port of new Set(dst.ports)) {
        if (src === dst && !pods.includes(src)) continue;
        if (egressOk(src, dst, port) && ingressOk(src, dst, port)) flows.add(`${src.id} -> ${dst.id}:${port}`);
      }
    }
  }
  return flows;
}

/** The flows the platform needs (issue 7), written out by hand. */
function intendedFlows(env: string, objects: K8sObject[], objectStore: 'minio' | 'external s3' = 'minio'): Set<string> {
  const workloads = new Set(podSources(objects).map((s) => s.labels[NAME]));
  const flows = [
    'ingress-controller -> go-backend:8080',
    'ingress-controller -> python-ai:8081',
    'go-backend -> python-ai:50051',
    'python-ai -> go-backend:8080',
    'go-backend -> mongodb:27017',
    'python-ai -> mongodb:27017',
    'go-backend -> redis:6379',
    'python-ai -> redis:6379',
    'python-ai -> milvus:19530',
    'milvus-auth -> milvus:19530',
    'python-ai -> internet:443',
    'go-backend -> prometheus:9090',
    'mongodb -> mongodb:27017', // replication, elections, the bootstrap's peer checks
    'milvus -> etcd:2379',
    'milvus -> minio:9000',
    'grafana -> prometheus:9090',
    // Prometheus scrapes every metrics port, itself included.
    'prometheus -> go-backend:8080',
    'prometheus -> python-ai:8081',
    'prometheus -> mongodb:9216',
    'prometheus -> redis:9121',
    'prometheus -> milvus:9091',
    'prometheus -> etcd:2381',
    'prometheus -> minio:9000',
    'prometheus -> grafana:3000',
    'prometheus -> prometheus:9090',
    'prometheus -> kube-state-metrics:8080',
    // Alerts to Alertmanager, and its scrape, on the same port; it delivers to the receivers
    // (public endpoints by default: alerting.egress).
    'prometheus -> alertmanager:9093',
    'alertmanager -> internet:443',
    // Service discovery and kube-state-metrics' watches: the API server's address is
    // cluster-specific (network.kubernetesApi), so by default any address on 443/6443.
    'prometheus -> internet:443',
    'prometheus -> private-network:443',
    'prometheus -> private-network:6443',
    'kube-state-metrics -> internet:443',
    'kube-state-metrics -> private-network:443',
    'kube-state-metrics -> private-network:6443',
  ];
  // Backups: each Job reads its store and writes to the backup target (an external bucket; the
  // in-cluster MinIO in development); Milvus's also copies its bucket; etcd's defrag talks to etcd.
  const target = env === 'development' ? 'minio:9000' : 'internet:443';
  flows.push(
    'mongodb-backup -> mongodb:27017', 'redis-backup -> redis:6379', 'etcd-backup -> etcd:2379', 'milvus-backup -> etcd:2379',
    'etcd-defrag -> etcd:2379',
    ...['mongodb', 'redis', 'etcd', 'milvus'].map((store) => `${store}-backup -> ${target}`),
    objectStore === 'external s3' ? 'milvus-backup -> private-network:443' : 'milvus-backup -> minio:9000',
  );
  if (objectStore === 'external s3') {
    // No MinIO: Milvus reaches the store's network on its port, and only Milvus does.
    flows.splice(flows.indexOf('milvus -> minio:9000'), 1);
    flows.splice(flows.indexOf('prometheus -> minio:9000'), 1);
    flows.push('milvus -> private-network:443');
  }
  if ((objects.find((o) => o.kind === 'Alertmanager')?.spec.replicas ?? 1) > 1) {
    // The members gossip silences and the notification log (TCP and UDP).
    flows.push('alertmanager -> alertmanager:9094');
  }
  if (env !== 'development' && (objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'etcd')?.spec.replicas ?? 1) > 1) {
    flows.push('etcd -> etcd:2380');
  }
  // Every pod of ours resolves names through cluster DNS.
  for (const w of workloads) flows.push(`${w} -> dns:53`);
  return new Set(flows);
}

describe.each(ALL_ENVIRONMENTS)('%s network policies', (env) => {
  const { objects, config } = synthesize(env);
  const allowed = allowedFlows(objects, config.namespace, config);
  const intended = intendedFlows(env, objects);

  test('deny everything by default, ingress and egress, for every pod', () => {
    const deny = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'default-deny')!;
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  test('allow every needed flow', () => {
    expect([...intended].filter((f) => !allowed.has(f)).sort()).toEqual([]);
  });

  test('allow nothing else', () => {
    expect([...allowed].filter((f) => !intended.has(f)).sort()).toEqual([]);
  });
});

describe('production with external S3 object storage: network policies', () => {
  const { objects, config } = synthesize('production with external S3 object storage');
  const allowed = allowedFlows(objects, config.namespace, config);
  const intended = intendedFlows('production', objects, 'external s3');

  test('allow every needed flow, Milvus to the S3 endpoint included', () => {
    expect([...intended].filter((f) => !allowed.has(f)).sort()).toEqual([]);
  });

  test('allow nothing else', () => {
    expect([...allowed].filter((f) => !intended.has(f)).sort()).toEqual([]);
  });

  test('Milvus reaches the S3 endpoint only at milvus.objectStorage.cidrs and port', () => {
    const egress = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'milvus-egress')!;
    const blocks = egress.spec.egress.filter((r: any) => r.to.some((p: any) => p.ipBlock));
    expect(blocks).toEqual([{ to: [{ ipBlock: { cidr: '10.20.30.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }] }]);
  });
});

test('the pods that watch the Kubernetes API reach it only at network.kubernetesApi', () => {
  const production = loadConfig({ QINGYU_ENV: 'production' });
  const kubernetesApi = { cidrs: ['172.20.0.10/32'], ports: [443] };
  const { objects } = synthesizeConfig({ ...production, network: { ...production.network, kubernetesApi } });
  const toCidrs = ofKind(objects, 'NetworkPolicy').flatMap((p) =>
    (p.spec.egress ?? []).flatMap((rule: any) =>
      (rule.to ?? []).filter((peer: any) => peer.ipBlock).map((peer: any) => `${p.metadata.name} ${peer.ipBlock.cidr}:${rule.ports.map((x: any) => x.port).join(',')}`),
    ),
  );
  // python-ai (the OpenAI API) and Alertmanager (the receivers) reach the internet, not the API server.
  const watchers = toCidrs.filter((f) => !f.startsWith('python-ai-') && !f.startsWith('alertmanager-') && !/^[a-z]+-backup-/.test(f));
  expect(watchers.sort()).toEqual(['kube-state-metrics-egress 172.20.0.10/32:443', 'prometheus-egress 172.20.0.10/32:443']);
  expect(toCidrs.filter((f) => f.startsWith('alertmanager-'))).toEqual(['alertmanager-egress 0.0.0.0/0:443']);
});
