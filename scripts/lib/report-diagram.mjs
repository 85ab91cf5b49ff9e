// The diagram of `npm run report`: workloads, Services and allowed flows of one rendered
// environment as a Mermaid flowchart, from its NetworkPolicies (or from the env host:port
// values naming its Services, when it has none).
import { manifest } from './model.mjs';

const NAME = 'app.kubernetes.io/name';
const selects = (selector, labels) => manifest.selects(selector, labels);

/** The number a Service's targetPort resolves to on a workload's pods. */
function targetNumber(targetPort, workload) {
  if (typeof targetPort === 'number') return targetPort;
  for (const c of workload.podSpec?.containers ?? []) {
    const p = (c.ports ?? []).find((x) => x.name === targetPort);
    if (p) return p.containerPort;
  }
  return undefined;
}

/** Allowed flows from the NetworkPolicies: {from, to, port} with component names or external labels. */
export function flowsFromPolicies(m) {
  const flows = new Map();
  const add = (from, to, port, protocol) => {
    const key = `${from}|${to}|${port}|${protocol}`;
    if (!flows.has(key)) flows.set(key, { from, to, port, protocol });
  };
  const peerName = (peer) => {
    if (peer.ipBlock) return { external: `${peer.ipBlock.cidr}${peer.ipBlock.except?.length ? ' except private ranges' : ''}` };
    if (peer.namespaceSelector) {
      const ns = peer.namespaceSelector.matchLabels?.['kubernetes.io/metadata.name'] ?? 'any namespace';
      const pods = peer.podSelector?.matchLabels ? Object.values(peer.podSelector.matchLabels).join(',') : 'all pods';
      return { external: `${ns}/${pods}` };
    }
    if (peer.podSelector?.matchLabels?.[NAME]) return { component: peer.podSelector.matchLabels[NAME] };
    return { external: 'any pod in the namespace' };
  };
  for (const p of m.policies) {
    const own = p.spec?.podSelector?.matchLabels?.[NAME];
    if (!own) continue; // namespace-wide policies (default deny, DNS)
    for (const rule of p.spec?.ingress ?? []) {
      for (const peer of rule.from ?? [{}]) {
        const n = peerName(peer);
        for (const port of rule.ports ?? [{}]) add(n.component ?? `ext:${n.external}`, own, port.port ?? 'any', port.protocol ?? 'TCP');
      }
    }
    for (const rule of p.spec?.egress ?? []) {
      for (const peer of rule.to ?? [{}]) {
        const n = peerName(peer);
        if (n.component) continue; // the target's ingress policy lists the same flow
        for (const port of rule.ports ?? [{}]) add(own, `ext:${n.external}`, port.port ?? 'any', port.protocol ?? 'TCP');
      }
    }
  }
  return [...flows.values()];
}

/** Flows from env values `host:port` naming our Services (used when there are no policies). */
export function flowsFromEnv(m) {
  const ns = m.objects.find((o) => o.kind === 'Namespace')?.metadata.name ?? m.objects.find((o) => o.metadata?.namespace)?.metadata.namespace;
  const configMaps = new Map(m.objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]));
  const flows = new Map();
  const pattern = new RegExp(`([a-z0-9-]+)(?:-\\d+\\.([a-z0-9-]+))?\\.${ns}\\.svc(?:\\.[a-z.]+)?:(\\d+)`, 'g');
  for (const w of m.workloads) {
    const values = [];
    for (const c of w.podSpec?.containers ?? []) {
      for (const e of c.env ?? []) {
        if (e.value) values.push(e.value);
        const ref = e.valueFrom?.configMapKeyRef;
        if (ref) values.push(configMaps.get(ref.name)?.[ref.key] ?? '');
      }
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef) values.push(...Object.values(configMaps.get(from.configMapRef.name) ?? {}));
      }
    }
    for (const v of values) {
      for (const match of String(v).matchAll(pattern)) {
        const port = Number(match[3]);
        // `mongodb-0.mongodb-headless.<ns>.svc:27017` names the headless Service; fall back to the member's.
        const svc = m.services.find((s) => s.name === match[2]) ?? m.services.find((s) => s.name === match[1]);
        const target = svc && m.workloads.find((x) => selects(svc.selector, x.labels));
        if (!target || target.component === w.component) continue;
        const p = svc.ports.find((x) => x.port === port);
        const key = `${w.component}|${target.component}|${port}`;
        if (!flows.has(key)) flows.set(key, { from: w.component, to: target.component, port: p ? targetNumber(p.targetPort, target) ?? port : port, protocol: 'TCP' });
      }
    }
  }
  return [...flows.values()];
}

const id = (prefix, name) => `${prefix}_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
const label = (s) => s.replace(/"/g, "'");

/** The Mermaid flowchart of one environment. */
export function mermaid(m, namespace) {
  const policies = m.policies.length > 0;
  const flows = policies ? flowsFromPolicies(m) : flowsFromEnv(m);
  const lines = ['flowchart LR', `  subgraph ${id('ns', namespace)}["namespace ${namespace}"]`];
  for (const w of m.workloads) {
    const scale = w.min === w.max ? `×${w.min}` : `×${w.min}–${w.max} (HPA)`;
    lines.push(`    ${id('w', w.component)}["${label(w.name)}<br/>${w.kind} ${scale}"]`);
  }
  const serviceOf = new Map(); // "component|targetPort" -> service node id
  for (const s of m.services) {
    const ports = s.ports.map((p) => `${p.name ? `${p.name}:` : ''}${p.port}`).join(', ');
    lines.push(`    ${id('s', s.name)}(["svc ${label(s.name)}${s.headless ? ' (headless)' : ''}<br/>${ports}"])`);
  }
  lines.push('  end');
  for (const s of m.services) {
    for (const w of m.workloads.filter((x) => selects(s.selector, x.labels))) {
      lines.push(`  ${id('s', s.name)} -.-> ${id('w', w.component)}`);
      for (const p of s.ports) {
        const key = `${w.component}|${targetNumber(p.targetPort, w)}`;
        // Clients use the ClusterIP Service when there is one, the headless one otherwise.
        if (!serviceOf.has(key) || !s.headless) serviceOf.set(key, id('s', s.name));
      }
    }
  }
  const externals = new Map();
  const node = (name) => {
    if (!name.startsWith('ext:')) return id('w', name);
    const ext = name.slice(4);
    if (!externals.has(ext)) externals.set(ext, id('x', `${externals.size}`));
    return externals.get(ext);
  };
  const edges = [];
  for (const f of flows) {
    const from = node(f.from);
    const to = f.to.startsWith('ext:') ? node(f.to) : (serviceOf.get(`${f.to}|${f.port}`) ?? node(f.to));
    edges.push(`  ${from} -->|"${f.port}/${f.protocol}"| ${to}`);
  }
  for (const [ext, nodeId] of externals) lines.push(`  ${nodeId}[["${label(ext)}"]]`);
  const known = new Set(m.workloads.map((w) => w.component));
  const others = [...new Set(flows.flatMap((f) => [f.from, f.to]).filter((n) => !n.startsWith('ext:') && !known.has(n)))].sort();
  for (const name of others) lines.push(`  ${id('w', name)}["${label(name)}<br/>(pods not in these manifests)"]`);
  lines.push(...edges);
  return { text: lines.join('\n'), flows, source: policies ? 'NetworkPolicies' : 'env host:port values' };
}
