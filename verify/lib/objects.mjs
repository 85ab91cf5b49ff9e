// List the objects of synthesized YAML, one per line, tab-separated, in file order:
//
//   node verify/lib/objects.mjs <dir-or-file>...
//   -> file  apiVersion  kind  namespace  name  enforce  warn
//
// namespace is "-" for cluster-scoped objects (or objects that name none); enforce and warn are
// a Namespace's pod-security.kubernetes.io/{enforce,warn} labels, "-" otherwise. Used by the verify/
// scripts, which need to know what the files hold without a cluster.
//
//   node verify/lib/objects.mjs --documents <Kind> <dir-or-file>...
//   -> the documents of that kind, as one YAML stream (verify/cluster.sh applies the
//      Namespaces this way before anything else)
//
//   node verify/lib/objects.mjs --only-objects <dir>
//   -> fails unless every file of <dir> is YAML and every document in it a Kubernetes object
//      (apiVersion, kind, metadata.name): what `kubectl apply -f <dir>` can apply
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const YAML = createRequire(join(root, 'package.json'))('yaml');

function files(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(path, f));
}

const args = process.argv.slice(2);
if (args[0] === '--only-objects') {
  const dir = args[1];
  const problems = [];
  for (const entry of readdirSync(dir)) {
    if (!/\.ya?ml$/.test(entry) || statSync(join(dir, entry)).isDirectory()) {
      problems.push(`${entry}: not a YAML file`);
      continue;
    }
    for (const doc of YAML.parseAllDocuments(readFileSync(join(dir, entry), 'utf8'))) {
      const o = doc.toJS();
      if (o === null) continue;
      if (typeof o?.apiVersion !== 'string' || typeof o?.kind !== 'string' || typeof o?.metadata?.name !== 'string') {
        problems.push(`${entry}: a document that is not a Kubernetes object (apiVersion, kind and metadata.name)`);
      }
    }
  }
  if (problems.length) {
    process.stderr.write(`${problems.join('\n')}\n`);
    process.exit(1);
  }
  process.stdout.write(`${dir}: only Kubernetes objects\n`);
  process.exit(0);
}
const documentsOf = args[0] === '--documents' ? args[1] : undefined;
const paths = documentsOf === undefined ? args : args.slice(2);

const rows = [];
const documents = [];
for (const file of paths.flatMap(files)) {
  for (const doc of YAML.parseAllDocuments(readFileSync(file, 'utf8'))) {
    if (doc.errors.length) {
      process.stderr.write(`${file}: ${doc.errors[0].message}\n`);
      process.exit(1);
    }
    const o = doc.toJS();
    if (!o) continue;
    if (documentsOf !== undefined) {
      if (o.kind === documentsOf) documents.push(YAML.stringify(o));
      continue;
    }
    const md = o.metadata ?? {};
    const pss = (mode) => (o.kind === 'Namespace' ? (md.labels?.[`pod-security.kubernetes.io/${mode}`] ?? '-') : '-');
    rows.push([file, o.apiVersion, o.kind, md.namespace ?? '-', md.name, pss('enforce'), pss('warn')].join('\t'));
  }
}
if (documentsOf !== undefined) process.stdout.write(documents.join('---\n'));
else process.stdout.write(rows.length ? `${rows.join('\n')}\n` : '');
