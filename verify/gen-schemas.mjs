// Generate kubeconform JSON schemas offline, into a cache directory (never into the repo):
//
//   node verify/gen-schemas.mjs <definitions.json> <crd-dir> <out-dir>
//
// <out-dir>/kubernetes/<kind><suffix>.json  one strict schema per built-in kind, from the cdk8s
//     form of the OpenAPI v2 definitions (x-kubernetes-group-version-kind), named like
//     yannh/kubernetes-json-schema: deployment-apps-v1.json, service-v1.json; kubeconform's
//     template: {{ .ResourceKind }}{{ .KindSuffix }}.json
// <out-dir>/crds/<group>/<kind>_<version>.json  one strict schema per CRD version, from its
//     openAPIV3Schema, as kubeconform's openapi2jsonschema.py does; kubeconform's template:
//     {{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json
//
// "Strict" = additionalProperties: false on every object schema that lists properties (unless it
// says otherwise or preserves unknown fields), so a misspelt or misplaced field is an error.
// Each file is self-contained: it carries the definitions it reaches under "definitions".
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(join(root, 'package.json'));
const YAML = require('yaml');

const [definitionsFile, crdDir, outDir] = process.argv.slice(2);
if (!definitionsFile || !crdDir || !outDir) {
  process.stderr.write('usage: node verify/gen-schemas.mjs <definitions.json> <crd-dir> <out-dir>\n');
  process.exit(2);
}

const REF = '#/definitions/';

function strictify(node) {
  if (Array.isArray(node)) return node.map(strictify);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    // Children of these maps are names, not schemas: recurse into their values only.
    if (key === 'properties' || key === 'definitions' || key === 'patternProperties') {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strictify(v)]));
    } else {
      out[key] = strictify(value);
    }
  }
  if (out['x-kubernetes-int-or-string'] === true && !out.oneOf && !out.anyOf) {
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (out.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  if (out.properties && !('additionalProperties' in out) && out['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

function write(file, schema) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(schema)}\n`);
}

// --- built-in kinds -----------------------------------------------------------------------
const all = JSON.parse(readFileSync(definitionsFile, 'utf8')).definitions;
const strictDefs = Object.fromEntries(Object.entries(all).map(([name, def]) => [name, strictify(def)]));

function reachable(start) {
  const seen = new Set();
  const stack = [start];
  while (stack.length) {
    const name = stack.pop();
    if (seen.has(name)) continue;
    if (!strictDefs[name]) throw new Error(`dangling $ref ${name}`);
    seen.add(name);
    JSON.stringify(strictDefs[name], (key, value) => {
      if (key === '$ref' && typeof value === 'string' && value.startsWith(REF)) stack.push(value.slice(REF.length));
      return value;
    });
  }
  return [...seen].sort();
}

let builtins = 0;
for (const [name, def] of Object.entries(all)) {
  for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) {
    // Only top-level kinds that carry their own kind field; skip shared meta types
    // (DeleteOptions, WatchEvent...) that list every group version.
    if (!def.properties?.kind || (def.properties.kind.enum && !def.properties.kind.enum.includes(gvk.kind))) continue;
    const group = gvk.group ?? '';
    const suffix = `-${group ? `${group.split('.')[0].toLowerCase()}-` : ''}${gvk.version}`.toLowerCase();
    const definitions = Object.fromEntries(reachable(name).map((n) => [n, strictDefs[n]]));
    write(join(outDir, 'kubernetes', `${gvk.kind.toLowerCase()}${suffix}.json`), {
      $schema: 'http://json-schema.org/draft-07/schema#',
      description: `${gvk.kind} ${group ? `${group}/` : ''}${gvk.version} (Kubernetes OpenAPI definitions, strict)`,
      $ref: `${REF}${name}`,
      definitions,
    });
    builtins++;
  }
}

// --- CRDs -----------------------------------------------------------------------------------
function yamlFiles(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) return yamlFiles(path);
      return /\.ya?ml$/.test(entry) ? [path] : [];
    });
}

let crds = 0;
for (const file of yamlFiles(crdDir)) {
  for (const doc of YAML.parseAllDocuments(readFileSync(file, 'utf8'))) {
    const crd = doc.toJS();
    if (crd?.kind !== 'CustomResourceDefinition') continue;
    const { group, names, versions } = crd.spec;
    for (const version of versions ?? []) {
      const schema = version.schema?.openAPIV3Schema;
      if (!schema) continue;
      write(join(outDir, 'crds', group, `${names.kind.toLowerCase()}_${version.name}.json`), {
        $schema: 'http://json-schema.org/draft-07/schema#',
        description: `${names.kind} ${group}/${version.name} (CRD openAPIV3Schema, strict)`,
        ...strictify(schema),
      });
      crds++;
    }
  }
}

process.stdout.write(`gen-schemas: ${builtins} built-in kind schemas, ${crds} CRD version schemas in ${outDir}\n`);
