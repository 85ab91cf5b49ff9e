// Fast transpile of the app's TypeScript into build/ (esbuild, no type check: `npm run build`
// and `npm run lint` check types). `npm run synth` runs this first, so it must stay quick.
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SOURCE_DIRS = ['config', 'lib', 'charts', 'imports', 'policy'];

function tsFiles(dir) {
  const abs = join(root, dir);
  let entries;
  try {
    entries = readdirSync(abs, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const rel = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(rel);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(root, rel)] : [];
  });
}

const outdir = join(root, 'build');
const stamp = join(outdir, '.compiled');
const mtime = (f) => {
  try {
    return statSync(f).mtimeMs;
  } catch {
    return -1;
  }
};

/** Compiles unless build/ is newer than every source (and this script, and the lockfile). */
export async function compileIfStale() {
  const sources = [join(root, 'main.ts'), ...SOURCE_DIRS.flatMap(tsFiles), join(root, 'package-lock.json'), fileURLToPath(import.meta.url)];
  const built = mtime(stamp);
  if (built > 0 && sources.every((f) => mtime(f) <= built)) return false;
  await compile();
  return true;
}

export async function compile() {
  // esbuild only when there is something to compile: importing it costs every synth.
  const { build } = await import('esbuild');
  const entryPoints = [join(root, 'main.ts'), ...SOURCE_DIRS.flatMap(tsFiles)];
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints,
    outdir,
    outbase: root,
    format: 'cjs',
    platform: 'node',
    target: 'node24',
    sourcemap: false,
    logLevel: 'warning',
  });
  writeFileSync(stamp, '');
  return entryPoints.map((f) => relative(root, f));
}

// `node scripts/compile.mjs` compiles; with `--if-stale` only when a source is newer than build/
// (cdk8s.yaml's app command runs that first, so `cdk8s synth` never runs a stale build).
if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--if-stale')) await compileIfStale();
  else await compile();
}
