// `npm run bench [-- --runs N]`: how fast the developer loop is, as medians over several runs.
//   app        the app's own render: `node build/main.js` writing every chart (compiled build/)
//   synth      `npm run synth`: compile check, the app and the policy gate in one process, dist swap
//   cdk8s      `cdk8s synth`: the CLI, the app and the gate as a validation plugin
//   test       `npm test` (the whole jest suite)
// Target (issue 14): `npm run synth` within 1.6x the app's own render, in the same run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 7;
const out = mkdtempSync(join(tmpdir(), 'qingyu-bench-'));

function time(cmd, args, env = {}) {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'ignore', env: { ...process.env, ...env } });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
  return ms;
}

function median(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function measure(label, n, fn) {
  fn(); // warm the file-system and compile caches
  const samples = Array.from({ length: n }, fn);
  const m = median(samples);
  console.log(`${label.padEnd(36)} median ${(m / 1000).toFixed(2)} s   (runs: ${samples.map((x) => (x / 1000).toFixed(2)).join(' ')})`);
  return m;
}

try {
  time('node', [join(root, 'scripts', 'compile.mjs'), '--if-stale']);
  const app = measure('node build/main.js (the app itself)', runs, () => time('node', [join(root, 'build', 'main.js')], { CDK8S_OUTDIR: join(out, 'app') }));
  const synth = measure('npm run synth (production)', runs, () => time('npm', ['run', '--silent', 'synth', '--', '--output', join(out, 'dist')]));
  const cli = measure('cdk8s synth (the CLI path)', Math.max(1, Math.ceil(runs / 2)), () =>
    time(join(root, 'node_modules', '.bin', 'cdk8s'), ['synth', '--check-upgrade', 'false', '--output', join(out, 'cli')]));
  const test = measure('npm test', Math.max(1, Math.ceil(runs / 3)), () => time('npm', ['test', '--silent'], { CI: 'true' }));
  const ratio = synth / app;
  console.log('');
  console.log(`npm run synth / the app: ${ratio.toFixed(2)}x (target <= 1.6x) ${ratio <= 1.6 ? 'OK' : 'OVER'}`);
  console.log(`cdk8s synth / the app:   ${(cli / app).toFixed(2)}x`);
  console.log(`npm test: ${(test / 1000).toFixed(2)} s`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
