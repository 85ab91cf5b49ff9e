// Prints lib/secrets.ts's SECRETS catalogue (every Secret the platform may reference, its keys
// and how create-secrets.sh fills each) from the compiled build/, compiling first when build/
// is missing. Names, keys and fixed user names only: the catalogue holds no secret value.
//
//   node scripts/secrets-catalog.mjs              JSON
//   node scripts/secrets-catalog.mjs --format tsv  `secret NAME TYPE` and `key NAME KEY SOURCE VALUE` lines
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

/** The catalogue as plain data, in the catalogue's order. */
export function catalogue(secrets) {
  return Object.values(secrets).map((s) => ({
    name: s.name,
    type: s.type ?? 'Opaque',
    description: s.description,
    keys: Object.values(s.keys).map((k) => ({
      key: k.key,
      source: k.source,
      ...(k.source === 'fixed' ? { value: k.value } : {}),
      description: k.description,
    })),
  }));
}

export function toTsv(entries) {
  const clean = (v) => String(v ?? '').replace(/[\t\n]/g, ' ');
  return entries
    .flatMap((s) => [
      ['secret', s.name, s.type],
      ...s.keys.map((k) => ['key', s.name, k.key, k.source, k.value ?? '']),
    ])
    .map((fields) => fields.map(clean).join('\t'))
    .join('\n') + '\n';
}

async function load() {
  const compiled = join(root, 'build', 'lib', 'secrets.js');
  if (!existsSync(compiled)) {
    const { compile } = await import('./compile.mjs');
    await compile();
  }
  return catalogue(require(compiled).SECRETS);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const tsv = args[0] === '--format' && args[1] === 'tsv';
  if (args.length > 0 && !tsv && !(args[0] === '--format' && args[1] === 'json')) {
    process.stderr.write('usage: node scripts/secrets-catalog.mjs [--format json|tsv]\n');
    process.exit(2);
  }
  const entries = await load();
  process.stdout.write(tsv ? toTsv(entries) : `${JSON.stringify(entries, null, 2)}\n`);
}
