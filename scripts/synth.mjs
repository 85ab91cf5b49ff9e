// `npm run synth [-- --output DIR]`: the app and the policy gate in one process. It compiles
// build/ when a source is newer, composes the platform, renders it into a scratch directory,
// runs the gate on the objects it rendered, and only then swaps the scratch directory into place:
// bad input or a failing rule leaves an existing dist/ exactly as it was. `cdk8s synth` (the CLI)
// produces the same files through cdk8s.yaml; .ci/run compares the two.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire, enableCompileCache } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { compileIfStale } from './compile.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

function fail(message, code = 2) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
}

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

const { output } = parseArgs(process.argv.slice(2));
await compileIfStale();
// Node 24's on-disk cache of compiled code for build/ and node_modules (synth runs on every change).
enableCompileCache?.(join(root, 'node_modules', '.cache', 'qingyu-compile'));

const { App } = require('cdk8s');
const { loadConfig } = require(join(root, 'build', 'config', 'index.js'));
const { composePlatform } = require(join(root, 'build', 'main.js'));
const { isInputError } = require(join(root, 'build', 'lib', 'errors.js'));
const { gate, describeFindings } = require(join(root, 'build', 'policy', 'gate.js'));
const { promote } = require(join(root, 'build', 'policy', 'promote.js'));

const scratch = mkdtempSync(join(dirname(output), `.${basename(output)}-synth-`));
try {
  const app = new App({ outdir: scratch, recordConstructMetadata: false });
  const charts = composePlatform(app, loadConfig(process.env));
  app.synth();
  const findings = gate(charts.flatMap((chart) => chart.rendered));
  if (findings.length > 0) {
    process.stderr.write(`${describeFindings(findings).join('\n')}\n`);
    throw Object.assign(new Error(`the policy gate found ${findings.length} problem(s) (above); ${output} was left unchanged`), { name: 'PropError' });
  }
  promote(scratch, output);
} catch (error) {
  rmSync(scratch, { recursive: true, force: true });
  if (isInputError(error)) fail(error.message);
  process.stderr.write(`error: ${error?.stack ?? error}\n`);
  process.exit(1);
}
