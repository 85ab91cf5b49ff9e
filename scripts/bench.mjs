// `npm run bench [-- --runs N]`: how fast the developer loop is, as medians over several runs.
//   synth     `npm run synth` (compile, config check, cdk8s synth of the whole platform, policy gate)
//   cli       the cdk8s CLI's own start (`cdk8s --version`), the floor synth is measured against
//   test      `npm test` (the whole jest suite)
//   floor     `npm run synth` of a one-object cdk8s app (plain `cdk8s synth`, no wrapper, no policy
//             gate): what the npm -> cdk8s CLI -> app path costs before any platform code runs
// Targets (issue 2): synth within 1.6x the CLI's start; the test suite under 15 s on 2 cores.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const out = mkdtempSync(join(tmpdir(), 'qingyu-bench-'));

function time(cmd, args, env = {}, cwd = root) {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, stdio: 'ignore', env: { ...process.env, ...env } });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
  return ms;
}

function median(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function measure(label, n, fn) {
  fn(); // warm the file-system cache
  const samples = Array.from({ length: n }, fn);
  const m = median(samples);
  console.log(`${label.padEnd(34)} median ${(m / 1000).toFixed(2)} s   (runs: ${samples.map((x) => (x / 1000).toFixed(2)).join(' ')})`);
  return m;
}

try {
  const cdk8s = join(root, 'node_modules', '.bin', 'cdk8s');
  const cli = measure('cdk8s --version (CLI start)', runs, () => time(cdk8s, ['--version', '--check-upgrade', 'false']));
  const synth = measure('npm run synth (production)', runs, () => time('npm', ['run', '--silent', 'synth', '--', '--output', join(out, 'dist')]));
  const floorDir = join(out, 'floor');
  mkdirSync(floorDir);
  symlinkSync(join(root, 'node_modules'), join(floorDir, 'node_modules'));
  writeFileSync(join(floorDir, 'package.json'), JSON.stringify({ private: true, scripts: { synth: 'cdk8s synth --check-upgrade false' } }));
  writeFileSync(join(floorDir, 'cdk8s.yaml'), 'language: typescript\napp: node app.js\noutput: dist\n');
  writeFileSync(join(floorDir, 'app.js'), [
    "const { App, Chart, ApiObject } = require('cdk8s');",
    "const app = new App();",
    "new ApiObject(new Chart(app, 'floor'), 'ns', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'floor' } });",
    'app.synth();',
  ].join('\n'));
  const floor = measure('npm run synth (one-object app)', runs, () => time('npm', ['run', '--silent', 'synth'], {}, floorDir));
  const test = measure('npm test', Math.max(1, Math.ceil(runs / 2)), () => time('npm', ['test', '--silent'], { CI: 'true' }));
  const ratio = synth / cli;
  console.log('');
  console.log(`synth / CLI start: ${ratio.toFixed(2)}x (target <= 1.6x) ${ratio <= 1.6 ? 'OK' : 'OVER'}`);
  console.log(`floor / CLI start: ${(floor / cli).toFixed(2)}x (the same path with a one-object app; the target's headroom)`);
  console.log(`npm test: ${(test / 1000).toFixed(2)} s (target < 15 s) ${test < 15000 ? 'OK' : 'OVER'}`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
