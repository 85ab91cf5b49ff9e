// `npm run synth [-- --output DIR]`: compile, check the configuration, run the app through
// `cdk8s synth` into a scratch directory and swap it into place only on success, so bad input
// or a failing validation leaves an existing dist/ exactly as it was.
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileIfStale } from './compile.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

function parseArgs(argv) {
  let output = 'dist';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--output' || argv[i] === '-o') output = argv[++i];
    else if (argv[i].startsWith('--output=')) output = argv[i].slice('--output='.length);
    else fail(`synth: unknown argument '${argv[i]}'; usage: npm run synth [-- --output DIR]`);
  }
  if (!output) fail('synth: --output needs a directory');
  return { output: resolve(process.cwd(), output) };
}

function fail(message, code = 2) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
}

const { output } = parseArgs(process.argv.slice(2));
await compileIfStale();

// The same check main.ts makes, made here first so that bad input ends with one line and the
// cdk8s CLI never starts (it would delete its output directory and wrap the message in noise).
const { loadConfig, ConfigError } = require(join(root, 'build', 'config', 'index.js'));
try {
  loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) fail(error.message);
  throw error;
}

const scratch = join(dirname(output), `.${basename(output)}-synth-${process.pid}`);
rmSync(scratch, { recursive: true, force: true });
const cli = spawnSync(
  join(root, 'node_modules', '.bin', 'cdk8s'),
  ['synth', '--check-upgrade', 'false', '--output', scratch],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', env: { ...process.env, CDK8S_RECORD_CONSTRUCT_METADATA: 'false' } },
);
const shown = (cli.stdout ?? '').split(scratch).join(output);
if (cli.status !== 0) {
  process.stdout.write(shown);
  rmSync(scratch, { recursive: true, force: true });
  fail(`synth failed (cdk8s exited with ${cli.status ?? cli.signal}); ${output} was left unchanged`, cli.status || 1);
}
if (existsSync(output)) {
  const old = `${scratch}-old`;
  renameSync(output, old);
  renameSync(scratch, output);
  rmSync(old, { recursive: true, force: true });
} else {
  renameSync(scratch, output);
}
process.stdout.write(shown);
