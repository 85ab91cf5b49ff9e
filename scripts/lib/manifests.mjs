// Reads a rendered dist/ directory (the numbered `NNNN-<chart>.k8s.yaml` files of `npm run synth`)
// and answers what the operations scripts need to know about it, so that nothing in them is a
// hard-coded object list: the Secrets and keys referenced, the custom resources used, the
// ingress class, the storage classes, the workloads, Services and data-store images.
//
// As a module it is used by scripts/report.mjs; as a command it serves the bash scripts:
//
//   node scripts/lib/manifests.mjs facts DIR        one fact per line, tab-separated (see FACT_FIELDS)
//   node scripts/lib/manifests.mjs split DIR OUT    OUT/outside/ and OUT/members/ (see split())
//   node scripts/lib/manifests.mjs prepare DIR OUT  both: OUT/facts.tsv, OUT/outside/, OUT/members/
//   node scripts/lib/manifests.mjs namespace DIR    the Namespace objects, as YAML (see namespaces())
//   node scripts/lib/manifests.mjs alertmanager-selection AMS NS LABELS
//                                                   which live Alertmanagers would load our AlertmanagerConfig
//   node scripts/lib/manifests.mjs only-objects DIR fails unless every file of DIR is YAML holding
//                                                   only Kubernetes objects: what `kubectl apply -f DIR` applies
//
// Only kind, names, labels and references are read: dist/ never holds a secret value.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseAllDocuments } from 'yaml';

import { manifest } from './model.mjs';

/** API groups served by Kubernetes itself; any other group needs a CustomResourceDefinition. */
export const BUILTIN_GROUPS = new Set([
  '', 'admissionregistration.k8s.io', 'apiextensions.k8s.io', 'apiregistration.k8s.io', 'apps',
  'authentication.k8s.io', 'authorization.k8s.io', 'autoscaling', 'batch', 'certificates.k8s.io',
  'coordination.k8s.io', 'discovery.k8s.io', 'events.k8s.io', 'flowcontrol.apiserver.k8s.io',
  'networking.k8s.io', 'node.k8s.io', 'policy', 'rbac.authorization.k8s.io', 'resource.k8s.io',
  'scheduling.k8s.io', 'storage.k8s.io', 'storagemigration.k8s.io',
]);

/** Kinds that exist once per cluster (never namespaced): lib/manifest.ts's list. */
export const CLUSTER_SCOPED_KINDS = manifest.CLUSTER_SCOPED_KINDS;

/**
 * Kinds a deploy may create and update but never delete: deleting a Namespace deletes every
 * object in it, deleting a PersistentVolumeClaim deletes the data (with the usual Delete
 * reclaim policy). They are applied outside the ApplySet, so pruning can never select them.
 */
export const NEVER_PRUNED_KINDS = new Set(['Namespace', 'PersistentVolumeClaim']);

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/**
 * The facts, by type: each type's fields, in the order a record holds them. A facts file starts
 * with one `#fields<TAB>type<TAB>field...` line per type, and bash reads records only through
 * these names (`qy_facts TYPE FIELD...`, scripts/lib/common.sh), never by column number, so a
 * field added here breaks no reader. A value never holds a tab or a newline; '-' means none.
 */
export const FACT_FIELDS = {
  namespace: ['name'],
  'pod-security': ['namespace', 'enforce', 'warn'],
  object: ['file', 'apiVersion', 'kind', 'namespace', 'name', 'scope', 'labels'],
  crd: ['group', 'version', 'kind'],
  workload: ['kind', 'name', 'file', 'selector', 'replicas'],
  job: ['name', 'file'],
  image: ['kind', 'workload', 'container', 'image'],
  'app-deployment': ['name'],
  'datastore-image': ['statefulset', 'container', 'image'],
  'pvc-retention': ['statefulset', 'whenDeleted', 'whenScaled'],
  service: ['name', 'selector', 'type'],
  hpa: ['name', 'targetKind', 'targetName'],
  'ingress-class': ['class', 'ingress'],
  'ingress-host': ['host', 'scheme'],
  gateway: ['namespace', 'name', 'route'],
  secret: ['name', 'type', 'source', 'presence', 'users'],
  'secret-key': ['secret', 'key', 'presence', 'users'],
  'storage-class': ['class', 'user'],
};

/** The label that marks the application Deployments (lib/manifest.ts): what `rollback --apps-only` undoes. */
const TIER = manifest.TIER_LABEL;
const labelList = (labels) => Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`).sort().join(',') || '-';

/** `group` and `version` of an apiVersion (`apps/v1` -> apps, v1; `v1` -> '', v1). */
export function splitApiVersion(apiVersion) {
  const i = apiVersion.lastIndexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** Every object of a rendered directory, in `kubectl apply -f DIR` order, with its file. */
export function loadDir(dir) {
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  return files.flatMap((file) => {
    const docs = parseAllDocuments(readFileSync(join(dir, file), 'utf8'));
    return docs
      .map((doc, index) => {
        if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
        return { file, index, object: doc.toJS(), source: doc };
      })
      .filter((d) => d.object && typeof d.object === 'object' && d.object.kind);
  });
}

export const isClusterScoped = (object) => manifest.isClusterScoped(object);

/**
 * Every Secret the objects reference, with the keys they read.
 * @returns Map name -> { keys: Map key -> { optional, users:Set }, wholeSecret: Set users, type, certManager }
 */
export function secretReferences(objects) {
  const refs = new Map();
  const entry = (name) => {
    if (!refs.has(name)) refs.set(name, { name, keys: new Map(), wholeSecret: new Set(), type: 'Opaque', certManager: false, optional: true });
    return refs.get(name);
  };
  const use = (name, key, optional, user) => {
    const e = entry(name);
    if (!optional) e.optional = false;
    if (key === undefined) {
      e.wholeSecret.add(user);
      return;
    }
    const k = e.keys.get(key) ?? { optional: true, users: new Set() };
    if (!optional) k.optional = false;
    k.users.add(user);
    e.keys.set(key, k);
  };
  for (const set of manifest.podSets(objects)) {
    const o = set.owner;
    const user = `${o.kind}/${o.metadata?.name}`;
    const pod = set.spec;
    for (const c of manifest.containersOf(pod)) {
      for (const env of c.env ?? []) {
        const ref = env.valueFrom?.secretKeyRef;
        if (ref) use(ref.name, ref.key, ref.optional === true, user);
      }
      for (const from of c.envFrom ?? []) {
        if (from.secretRef) use(from.secretRef.name, undefined, from.secretRef.optional === true, user);
      }
    }
    for (const v of pod.volumes ?? []) {
      const sources = [];
      if (v.secret) sources.push({ name: v.secret.secretName, items: v.secret.items, optional: v.secret.optional });
      for (const p of v.projected?.sources ?? []) {
        if (p.secret) sources.push({ name: p.secret.name, items: p.secret.items, optional: p.secret.optional });
      }
      for (const s of sources) {
        if (!s.name) continue;
        if (s.items?.length) s.items.forEach((item) => use(s.name, item.key, s.optional === true, user));
        else use(s.name, undefined, s.optional === true, user);
      }
    }
    for (const p of pod.imagePullSecrets ?? []) {
      use(p.name, '.dockerconfigjson', false, user);
      entry(p.name).type = 'kubernetes.io/dockerconfigjson';
    }
  }
  for (const o of objects) {
    const user = `${o.kind}/${o.metadata?.name}`;
    if (o.kind === 'Ingress') {
      const annotations = o.metadata?.annotations ?? {};
      const certManager = Boolean(annotations['cert-manager.io/cluster-issuer'] || annotations['cert-manager.io/issuer']);
      for (const tls of o.spec?.tls ?? []) {
        if (!tls.secretName) continue;
        use(tls.secretName, 'tls.crt', false, user);
        use(tls.secretName, 'tls.key', false, user);
        const e = entry(tls.secretName);
        e.type = 'kubernetes.io/tls';
        e.certManager = e.certManager || certManager;
      }
    }
    if (o.kind === 'AlertmanagerConfig' && o.apiVersion?.startsWith('monitoring.coreos.com/')) {
      // The operator reads the receivers' SecretKeySelectors ({name, key}) from the namespace.
      for (const ref of secretKeySelectors(o.spec?.receivers ?? [])) use(ref.name, ref.key, ref.optional === true, user);
    }
    if (o.kind === 'Certificate' && o.apiVersion?.startsWith('cert-manager.io/') && o.spec?.secretName) {
      // cert-manager creates and renews this Secret itself.
      const e = entry(o.spec.secretName);
      e.type = 'kubernetes.io/tls';
      e.certManager = true;
    }
  }
  return refs;
}

/** Every `{name, key}` SecretKeySelector under `value` (the receivers of an AlertmanagerConfig). */
function secretKeySelectors(value) {
  if (Array.isArray(value)) return value.flatMap(secretKeySelectors);
  if (!value || typeof value !== 'object') return [];
  const keys = Object.keys(value).filter((k) => k !== 'optional').sort();
  if (keys.length === 2 && keys[0] === 'key' && keys[1] === 'name' && typeof value.name === 'string') return [value];
  return Object.values(value).flatMap(secretKeySelectors);
}

/** The storage classes the PVCs, PVC templates and ephemeral claims ask for ('' when they use the default class). */
export function storageClassUses(objects) {
  const uses = [];
  for (const o of objects) {
    if (o.kind === 'PersistentVolumeClaim') uses.push({ storageClass: o.spec?.storageClassName ?? '', user: `${o.kind}/${o.metadata?.name}` });
  }
  for (const set of manifest.podSets(objects)) {
    const user = `${set.owner.kind}/${set.owner.metadata?.name}`;
    const kind = set.madeBy === 'operator' ? 'storage' : 'ephemeral';
    for (const t of set.claims) uses.push({ storageClass: t.spec?.storageClassName ?? '', user: `${user} (${t.metadata?.name ?? kind})` });
  }
  return uses;
}

/** Main container of a StatefulSet: the one named like it, else the first. */
export function mainContainer(workload) {
  const containers = workload.spec?.template?.spec?.containers ?? [];
  return containers.find((c) => c.name === workload.metadata.name) ?? containers[0];
}

/** The tab-separated facts the bash scripts read, one per line, after the `#fields` lines. */
export function facts(dir) {
  const docs = loadDir(dir);
  const objects = docs.map((d) => d.object);
  const lines = Object.entries(FACT_FIELDS).map(([type, fields]) => ['#fields', type, ...fields].join('\t'));
  const out = (type, ...fields) => {
    if (fields.length !== FACT_FIELDS[type].length) throw new Error(`fact ${type}: ${fields.length} fields, FACT_FIELDS says ${FACT_FIELDS[type].length}`);
    lines.push([type, ...fields.map((f) => String(f ?? '').replace(/[\t\n]/g, ' ') || '-')].join('\t'));
  };

  const namespaces = new Set(objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
  for (const o of objects) if (!isClusterScoped(o) && o.metadata?.namespace) namespaces.add(o.metadata.namespace);
  for (const ns of [...namespaces].sort()) out('namespace', ns);
  for (const o of objects.filter((x) => x.kind === 'Namespace')) {
    const pss = (mode) => o.metadata?.labels?.[`pod-security.kubernetes.io/${mode}`];
    out('pod-security', o.metadata.name, pss('enforce'), pss('warn'));
  }

  for (const { file, object: o } of docs) {
    const { group, version } = splitApiVersion(o.apiVersion);
    const scope = isClusterScoped(o) ? 'cluster' : 'namespaced';
    out('object', file, o.apiVersion, o.kind, o.metadata?.namespace, o.metadata?.name, scope, labelList(o.metadata?.labels));
    if (!BUILTIN_GROUPS.has(group)) out('crd', group, version, o.kind);
    if (WORKLOAD_KINDS.has(o.kind)) {
      const selector = Object.entries(o.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
      out('workload', o.kind, o.metadata.name, file, selector, o.spec?.replicas ?? '');
      for (const c of o.spec?.template?.spec?.containers ?? []) out('image', o.kind, o.metadata.name, c.name, c.image);
      if (o.kind === 'Deployment' && o.metadata?.labels?.[TIER] === 'app') out('app-deployment', o.metadata.name);
    }
    if (o.kind === 'Job') out('job', o.metadata.name, file);
    if (o.kind === 'StatefulSet') {
      const main = mainContainer(o);
      if (main) out('datastore-image', o.metadata.name, main.name, main.image);
      out('pvc-retention', o.metadata.name, o.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted ?? 'Retain', o.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled ?? 'Retain');
    }
    if (o.kind === 'Service') {
      const hasSelector = o.spec?.selector && Object.keys(o.spec.selector).length > 0;
      out('service', o.metadata.name, hasSelector ? 'selector' : 'no-selector', o.spec?.clusterIP === 'None' ? 'headless' : (o.spec?.type ?? 'ClusterIP'));
    }
    if (o.kind === 'HorizontalPodAutoscaler') out('hpa', o.metadata.name, o.spec?.scaleTargetRef?.kind, o.spec?.scaleTargetRef?.name);
    if (o.kind === 'Ingress') {
      if (o.spec?.ingressClassName) out('ingress-class', o.spec.ingressClassName, o.metadata.name);
      const tlsHosts = new Set((o.spec?.tls ?? []).flatMap((t) => t.hosts ?? []));
      for (const rule of o.spec?.rules ?? []) if (rule.host) out('ingress-host', rule.host, tlsHosts.has(rule.host) ? 'https' : 'http');
    }
    if (o.kind === 'HTTPRoute' || o.kind === 'GRPCRoute') {
      for (const p of o.spec?.parentRefs ?? []) {
        if ((p.kind ?? 'Gateway') === 'Gateway') out('gateway', p.namespace ?? o.metadata.namespace, p.name, o.metadata.name);
      }
      for (const host of o.spec?.hostnames ?? []) out('ingress-host', host, 'https');
    }
  }

  for (const ref of secretReferences(objects).values()) {
    const users = [...new Set([...ref.wholeSecret, ...[...ref.keys.values()].flatMap((k) => [...k.users])])].join(',');
    out('secret', ref.name, ref.type, ref.certManager ? 'cert-manager' : 'manual', ref.optional ? 'optional' : 'required', users);
    for (const [key, k] of ref.keys) out('secret-key', ref.name, key, k.optional ? 'optional' : 'required', [...k.users].join(','));
  }
  for (const use of storageClassUses(objects)) out('storage-class', use.storageClass || '-', use.user);
  return lines.join('\n') + '\n';
}

/**
 * Splits a rendered directory for a safe apply: OUT/outside/ holds the objects a deploy never
 * prunes (cluster-scoped objects, Namespaces, PersistentVolumeClaims), OUT/members/ everything
 * else, the ApplySet's members. File names and order are kept, so `-f OUT/outside` then
 * `-f OUT/members` applies in the same order as `-f DIR`.
 */
export function split(dir, out) {
  const docs = loadDir(dir);
  const groups = { outside: new Map(), members: new Map() };
  for (const d of docs) {
    const outside = isClusterScoped(d.object) || NEVER_PRUNED_KINDS.has(d.object.kind);
    const byFile = groups[outside ? 'outside' : 'members'];
    if (!byFile.has(d.file)) byFile.set(d.file, []);
    byFile.get(d.file).push(String(d.source).replace(/^---\n/, '').trimEnd());
  }
  for (const [name, byFile] of Object.entries(groups)) {
    mkdirSync(join(out, name), { recursive: true });
    for (const [file, texts] of byFile) writeFileSync(join(out, name, file), texts.join('\n---\n') + '\n');
  }
  return { outside: [...groups.outside.keys()], members: [...groups.members.keys()] };
}

/** Whether a Kubernetes label selector (matchLabels, matchExpressions) selects `labels`. */
export function selectorMatches(selector, labels) {
  const l = labels ?? {};
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => l[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    switch (e.operator) {
      case 'In': return k8sHas(l, e.key) && e.values.includes(l[e.key]);
      case 'NotIn': return !k8sHas(l, e.key) || !e.values.includes(l[e.key]);
      case 'Exists': return k8sHas(l, e.key);
      case 'DoesNotExist': return !k8sHas(l, e.key);
      default: return false;
    }
  });
  return byLabels && byExpressions;
}
const k8sHas = (labels, key) => Object.prototype.hasOwnProperty.call(labels, key);

/**
 * Which of the cluster's Alertmanager resources would load an AlertmanagerConfig with
 * `configLabels` in a namespace with `namespaceLabels`, by the operator's rules: no
 * alertmanagerConfigSelector selects nothing, `{}` everything; no namespace selector means the
 * Alertmanager's own namespace only. One entry per Alertmanager: {name, namespace, selects, why}.
 */
export function alertmanagerSelection(alertmanagers, configNamespace, namespaceLabels, configLabels) {
  return alertmanagers.map((am) => {
    const where = { name: am.metadata.name, namespace: am.metadata.namespace };
    const selector = am.spec?.alertmanagerConfigSelector;
    if (!selector) return { ...where, selects: false, why: 'it has no alertmanagerConfigSelector, so it loads no AlertmanagerConfig' };
    if (!selectorMatches(selector, configLabels)) {
      return { ...where, selects: false, why: `its alertmanagerConfigSelector ${JSON.stringify(selector)} does not match the labels ${JSON.stringify(configLabels)}` };
    }
    const nsSelector = am.spec?.alertmanagerConfigNamespaceSelector;
    if (!nsSelector && am.metadata.namespace !== configNamespace) {
      return { ...where, selects: false, why: `it has no alertmanagerConfigNamespaceSelector, so it reads only its own namespace ${am.metadata.namespace}` };
    }
    if (nsSelector && !selectorMatches(nsSelector, namespaceLabels)) {
      return { ...where, selects: false, why: `its alertmanagerConfigNamespaceSelector ${JSON.stringify(nsSelector)} does not match namespace ${configNamespace}` };
    }
    return { ...where, selects: true, why: 'selects it' };
  });
}

/**
 * What `kubectl apply -f DIR` cannot apply: a file that is not YAML, a document that is not a
 * Kubernetes object (apiVersion, kind and metadata.name). `cdk8s synth` must leave none in dist/.
 */
export function notObjects(dir) {
  const problems = [];
  for (const entry of readdirSync(dir).sort()) {
    if (!/\.ya?ml$/.test(entry) || statSync(join(dir, entry)).isDirectory()) {
      problems.push(`${entry}: not a YAML file`);
      continue;
    }
    for (const doc of parseAllDocuments(readFileSync(join(dir, entry), 'utf8'))) {
      const o = doc.toJS();
      if (o === null) continue;
      if (typeof o?.apiVersion !== 'string' || typeof o?.kind !== 'string' || typeof o?.metadata?.name !== 'string') {
        problems.push(`${entry}: a document that is not a Kubernetes object (apiVersion, kind and metadata.name)`);
      }
    }
  }
  return problems;
}

/** The Namespace objects of a rendered directory as YAML documents, as dist/ has them ('' if none). */
export function namespaces(dir) {
  const texts = loadDir(dir)
    .filter((d) => d.object.kind === 'Namespace')
    .map((d) => String(d.source).replace(/^---\n/, '').trimEnd());
  return texts.length ? texts.join('\n---\n') + '\n' : '';
}

function main(argv) {
  const [command, ...args] = argv;
  if (command === 'facts' && args.length === 1) {
    process.stdout.write(facts(args[0]));
  } else if (command === 'split' && args.length === 2) {
    split(args[0], args[1]);
  } else if (command === 'prepare' && args.length === 2) {
    split(args[0], args[1]);
    writeFileSync(join(args[1], 'facts.tsv'), facts(args[0]));
  } else if (command === 'namespace' && args.length === 1) {
    process.stdout.write(namespaces(args[0]));
  } else if (command === 'alertmanager-selection' && args.length === 3) {
    // ALERTMANAGERS_JSON NAMESPACE_JSON LABELS (k=v,k=v): `kubectl get alertmanagers -A -o json`
    // and `kubectl get namespace NS -o json`; one TSV line per Alertmanager.
    const ams = JSON.parse(readFileSync(args[0], 'utf8')).items ?? [];
    const ns = JSON.parse(readFileSync(args[1], 'utf8'));
    const labels = Object.fromEntries(args[2] === '-' ? [] : args[2].split(',').map((kv) => kv.split('=')));
    for (const r of alertmanagerSelection(ams, ns.metadata.name, ns.metadata.labels, labels)) {
      process.stdout.write(`${r.namespace}/${r.name}\t${r.selects ? 'yes' : 'no'}\t${r.why}\n`);
    }
  } else if (command === 'only-objects' && args.length === 1) {
    const problems = notObjects(args[0]);
    if (problems.length) {
      process.stderr.write(`${problems.join('\n')}\n`);
      process.exit(1);
    }
    process.stdout.write(`${args[0]}: only Kubernetes objects\n`);
  } else {
    process.stderr.write('usage: manifests.mjs facts DIR | split DIR OUT | prepare DIR OUT | namespace DIR | only-objects DIR | alertmanager-selection AMS NS LABELS\n');
    process.exit(2);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`error: ${error.message}\n`);
    process.exit(1);
  }
}
