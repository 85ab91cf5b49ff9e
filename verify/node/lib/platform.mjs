// What verify/node/platform.sh needs to know from the synthesized YAML, without a cluster:
//
//   node verify/node/lib/platform.mjs images DIR
//     -> image  kind/name  container   (one line per container using it, CronJobs' included; init
//        containers are "init:NAME"; the Prometheus and Alertmanager resources' spec.image too)
//   node verify/node/lib/platform.mjs namespace DIR            -> the platform's namespace
//   node verify/node/lib/platform.mjs flows DIR
//     -> src  dst  port  purpose   the intended flows: every `qingyu.io/flows` annotation of the
//        NetworkPolicies (the FlowTable), deduplicated, in order
//   node verify/node/lib/platform.mjs components DIR
//     -> name  namespace  labels   where a component's pods are and the labels they wear
//        (labels as k=v,k=v): from its NetworkPolicies' podSelector, and for sources in another
//        namespace ("ingress-nginx/ingress-nginx controller") from the peer that admits them
//   node verify/node/lib/platform.mjs workloads DIR
//     -> kind  name  replicas  images   Deployments and StatefulSets (replicas "-" when an HPA
//        owns them: then the HPA's minReplicas), images comma-separated
//   node verify/node/lib/platform.mjs servicemonitors DIR     -> name  jobs-selector labels
//   node verify/node/lib/platform.mjs probe-budget DIR KIND NAME CONTAINER PROBE
//     -> periodSeconds*failureThreshold of that probe (seconds)
//   node verify/node/lib/platform.mjs grace DIR KIND NAME   -> terminationGracePeriodSeconds
//   node verify/node/lib/platform.mjs httproute DIR -> gateway  namespace  section  host (the first)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const YAML = createRequire(join(root, 'package.json'))('yaml');

function files(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(path, f));
}

function objects(dir) {
  const out = [];
  for (const file of files(dir)) {
    for (const doc of YAML.parseAllDocuments(readFileSync(file, 'utf8'))) {
      const o = doc.toJS();
      if (o && o.kind) out.push({ ...o, __file: file });
    }
  }
  return out;
}

const labelsText = (m) => Object.entries(m ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
const podSpec = (o) => o.spec?.template?.spec;

const [cmd, dir, ...rest] = process.argv.slice(2);
if (!cmd || !dir) {
  console.error('usage: platform.mjs images|namespace|flows|components|workloads|servicemonitors|probe-budget DIR ...');
  process.exit(64);
}
const objs = objects(dir);
const lines = [];

// "src -> dst:port (purpose)", the FlowTable's notation; purposes may hold parentheses.
function parseFlow(text) {
  const m = /^(.+?) -> (.+):(\d+) \((.*)\)$/.exec(text.trim());
  if (!m) throw new Error(`cannot read flow '${text}'`);
  return { src: m[1], dst: m[2], port: Number(m[3]), purpose: m[4] };
}

function flows() {
  const seen = new Set();
  const out = [];
  for (const o of objs.filter((x) => x.kind === 'NetworkPolicy')) {
    const a = o.metadata?.annotations?.['qingyu.io/flows'];
    if (!a) continue;
    for (const part of a.split('; ')) {
      const f = parseFlow(part);
      const key = `${f.src}\t${f.dst}\t${f.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(f);
    }
  }
  return out;
}

switch (cmd) {
  case 'images': {
    for (const o of objs) {
      // The operator's resources name their image in spec.image.
      if (['Prometheus', 'Alertmanager'].includes(o.kind) && o.spec?.image) lines.push([o.spec.image, `${o.kind}/${o.metadata.name}`, o.kind.toLowerCase()]);
      const spec = o.kind === 'CronJob' ? o.spec?.jobTemplate?.spec?.template?.spec : podSpec(o);
      if (!spec) continue;
      for (const c of spec.initContainers ?? []) lines.push([c.image, `${o.kind}/${o.metadata.name}`, `init:${c.name}`]);
      for (const c of spec.containers ?? []) lines.push([c.image, `${o.kind}/${o.metadata.name}`, c.name]);
    }
    break;
  }
  case 'namespace': {
    const ns = objs.find((o) => o.kind === 'Namespace');
    lines.push([ns.metadata.name]);
    break;
  }
  case 'flows':
    for (const f of flows()) lines.push([f.src, f.dst, f.port, f.purpose]);
    break;
  case 'components': {
    const ns = objs.find((o) => o.kind === 'Namespace').metadata.name;
    const comps = new Map();
    const policies = objs.filter((o) => o.kind === 'NetworkPolicy' && o.metadata?.annotations?.['qingyu.io/flows']);
    for (const p of policies) {
      const name = p.metadata.name.replace(/-(ingress|egress)$/, '');
      if (!comps.has(name)) comps.set(name, [name, ns, labelsText(p.spec.podSelector?.matchLabels)]);
    }
    // Sources outside the namespace: the peer of the destination's ingress rule that admits them.
    for (const f of flows()) {
      if (!f.src.includes('/') || comps.has(f.src)) continue;
      const srcNs = f.src.split('/')[0];
      for (const p of policies) {
        for (const rule of p.spec.ingress ?? []) {
          for (const peer of rule.from ?? []) {
            if (peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === srcNs && !comps.has(f.src)) {
              comps.set(f.src, [f.src, srcNs, labelsText(peer.podSelector?.matchLabels)]);
            }
          }
        }
      }
    }
    lines.push(...comps.values());
    break;
  }
  case 'workloads': {
    const hpas = new Map(objs.filter((o) => o.kind === 'HorizontalPodAutoscaler').map((h) => [h.spec.scaleTargetRef.name, h.spec.minReplicas ?? 1]));
    for (const o of objs.filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet')) {
      const spec = podSpec(o);
      const images = [...(spec.initContainers ?? []), ...spec.containers].map((c) => c.image);
      const replicas = o.spec.replicas ?? hpas.get(o.metadata.name) ?? 1;
      lines.push([o.kind, o.metadata.name, replicas, [...new Set(images)].join(',')]);
    }
    for (const o of objs.filter((x) => x.kind === 'Prometheus')) {
      lines.push(['Prometheus', o.metadata.name, o.spec.replicas ?? 1, o.spec.image]);
    }
    break;
  }
  case 'servicemonitors':
    for (const o of objs.filter((x) => x.kind === 'ServiceMonitor')) lines.push([o.metadata.name, labelsText(o.spec.selector?.matchLabels)]);
    break;
  case 'probe-budget': {
    const [kind, name, container, probe] = rest;
    const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
    const c = podSpec(o)?.containers.find((x) => x.name === container);
    const p = c?.[probe];
    if (!p) throw new Error(`no ${probe} on ${kind}/${name} ${container}`);
    lines.push([(p.periodSeconds ?? 10) * (p.failureThreshold ?? 3)]);
    break;
  }
  case 'httproute': {
    const r = objs.find((x) => x.kind === 'HTTPRoute');
    if (r) {
      const p = r.spec.parentRefs[0];
      lines.push([p.name, p.namespace ?? r.metadata.namespace, p.sectionName ?? 'http', r.spec.hostnames?.[0] ?? '*']);
    }
    break;
  }
  case 'grace': {
    const [kind, name] = rest;
    const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
    if (!o) throw new Error(`no ${kind}/${name}`);
    lines.push([podSpec(o).terminationGracePeriodSeconds ?? 30]);
    break;
  }
  default:
    console.error(`unknown command ${cmd}`);
    process.exit(64);
}
process.stdout.write(lines.map((l) => l.join('\t')).join('\n') + (lines.length ? '\n' : ''));
