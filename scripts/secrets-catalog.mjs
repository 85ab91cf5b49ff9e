// Prints lib/secrets.ts's SECRETS catalogue (every Secret the platform may reference, its keys
// and how create-secrets.sh fills each) from the compiled build/, compiling first when build/
// is missing. Names, keys and fixed user names only: the catalogue holds no secret value.
//
//   node scripts/secrets-catalog.mjs [--env ENV]              JSON
//   node scripts/secrets-catalog.mjs [--env ENV] --format tsv  `secret NAME TYPE` and `key NAME KEY SOURCE VALUE` lines
//
// With --env the catalogue also lists the client credentials that environment's composition
// makes (a Redis ACL user per client, ...).
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

/**
 * The catalogue: lib/secrets.ts's fixed Secrets, plus, for an environment, the client
 * credentials its composition makes (`clientSecret`: a Redis user per client, ...).
 */
async function load(env) {
  const { compileIfStale } = await import('./compile.mjs');
  await compileIfStale();
  const secrets = require(join(root, 'build', 'lib', 'secrets.js'));
  if (env) {
    const { App } = require('cdk8s');
    const { loadConfig } = require(join(root, 'build', 'config', 'index.js'));
    const { composePlatform } = require(join(root, 'build', 'main.js'));
    composePlatform(new App({ outdir: '/dev/null', recordConstructMetadata: false }), loadConfig({ QINGYU_ENV: env }));
  }
  return catalogue(secrets.catalogueSecrets());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let format = 'json';
  let env;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--format' && ['json', 'tsv'].includes(args[i + 1])) format = args[++i];
    else if (args[i] === '--env' && args[i + 1]) env = args[++i];
    else {
      process.stderr.write('usage: node scripts/secrets-catalog.mjs [--env ENV] [--format json|tsv]\n');
      process.exit(2);
    }
  }
  try {
    const entries = await load(env);
    process.stdout.write(format === 'tsv' ? toTsv(entries) : `${JSON.stringify(entries, null, 2)}\n`);
  } catch (error) {
    process.stderr.write(`error: ${error.message}\n`);
    process.exit(2);
  }
}
