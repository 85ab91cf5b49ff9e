// Fast transpile of the app's TypeScript into build/ (esbuild, no type check: `npm run build`
// and `npm run lint` check types). `npm run synth` runs this first, so it must stay quick.
//
// build/ is a symlink to the newest compile in .build/, swapped in one rename once the compile is
// complete: a synth, a test or a script reading build/ while another compiles (two synths run by
// hand, jest workers) sees the old tree or the new one, never half of one. Node loads modules by
// their real path, so a process keeps reading the tree it started with; the previous one is kept
// for it, older ones are removed.
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
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
const builds = join(root, '.build');
const stamp = join(outdir, '.compiled');
/** Compiles kept in .build/: the current one, and the one a running process may still read. */
const KEEP = 2;
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
  mkdirSync(builds, { recursive: true });
  const target = mkdtempSync(join(builds, 'b-'));
  chmodSync(target, 0o755);
  await build({
    entryPoints,
    outdir: target,
    outbase: root,
    format: 'cjs',
    platform: 'node',
    target: 'node24',
    sourcemap: false,
    logLevel: 'warning',
  });
  writeFileSync(join(target, '.compiled'), '');
  swapIn(target);
  return entryPoints.map((f) => relative(root, f));
}

/** Points build/ at `target` (a new symlink renamed over the old one), then prunes .build/. */
function swapIn(target) {
  // A checkout from before build/ was a symlink has a directory there: replaced once.
  if (lstatSync(outdir, { throwIfNoEntry: false })?.isDirectory()) rmSync(outdir, { recursive: true, force: true });
  const link = join(builds, `link-${basename(target)}`);
  symlinkSync(relative(root, target), link);
  renameSync(link, outdir);
  const compiles = readdirSync(builds)
    .filter((name) => name.startsWith('b-'))
    .map((name) => ({ path: join(builds, name), time: mtime(join(builds, name, '.compiled')) }))
    .sort((a, b) => b.time - a.time);
  // A compile without its stamp is still running, or was interrupted (compiles take seconds).
  const abandoned = compiles.filter((c) => c.time < 0 && mtime(c.path) < Date.now() - 10 * 60_000);
  for (const old of [...compiles.filter((c) => c.time > 0).slice(KEEP), ...abandoned]) rmSync(old.path, { recursive: true, force: true });
}

// `node scripts/compile.mjs` compiles; with `--if-stale` only when a source is newer than build/
// (cdk8s.yaml's app command runs that first, so `cdk8s synth` never runs a stale build).
if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--if-stale')) await compileIfStale();
  else await compile();
}
