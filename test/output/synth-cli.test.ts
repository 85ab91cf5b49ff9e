import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parseAllDocuments } from 'yaml';

// The two synth paths end to end: `npm run synth` (scripts/synth.mjs, the app and the gate in one
// process) and `cdk8s synth` (the CLI, the app as cdk8s.yaml runs it, the gate as its plugin).
const root = join(__dirname, '..', '..');
let work: string;
let dist: string;

/** The environment a test gives, and nothing of the caller's QINGYU_* variables. */
function envWith(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('QINGYU_')));
  return { ...base, ...env };
}

function npmSynth(env: Record<string, string>) {
  return spawnSync(process.execPath, [join(root, 'scripts', 'synth.mjs'), '--output', dist], { cwd: root, env: envWith(env), encoding: 'utf8' });
}

/** `cdk8s synth` in a project of links to the real one, whose own dist/ is this test's. */
function cliSynth(env: Record<string, string>) {
  const project = join(work, 'project');
  return spawnSync(join(root, 'node_modules', '.bin', 'cdk8s'), ['synth', '--check-upgrade', 'false'], { cwd: project, env: envWith(env), encoding: 'utf8' });
}

function snapshotDir(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'qingyu-cli-'));
  const project = join(work, 'project');
  mkdirSync(project);
  for (const entry of ['node_modules', 'build', 'scripts', 'charts', 'cdk8s.yaml', 'package.json', 'package-lock.json']) {
    spawnSync('ln', ['-s', join(root, entry), join(project, entry)]);
  }
  dist = join(project, 'dist');
  mkdirSync(dist);
  writeFileSync(join(dist, '0000-previous.k8s.yaml'), 'kind: PreviousRelease\n');
});

afterEach(() => rmSync(work, { recursive: true, force: true }));

const INCONSISTENT_ETCD = JSON.stringify({ milvus: { etcd: { storage: { sizeGiB: 6 } } } });

describe.each([
  ['npm run synth', npmSynth],
  ['cdk8s synth', cliSynth],
])('%s', (_path, synth) => {
  test.each([
    [{ QINGYU_ENV: 'moon' }, "error: QINGYU_ENV: unknown environment 'moon'; expected one of: production, staging, development"],
    [{ QINGYU_IMAGE_TAG: 'bad tag!' }, "error: QINGYU_IMAGE_TAG: invalid image tag 'bad tag!'"],
    [{ QINGYU_IMAGE_TAG: 'latest' }, "error: QINGYU_IMAGE_TAG: 'latest' is not allowed"],
    [{ QINGYU_CONFIG_OVERRIDES: '{"redis":' }, 'error: QINGYU_CONFIG_OVERRIDES: not valid JSON'],
    // The configuration accepts it, the etcd construct refuses it: one rule, one line either way.
    [{ QINGYU_CONFIG_OVERRIDES: INCONSISTENT_ETCD }, "error: config production.milvus.etcd: 'quotaBackendBytes' (4294967296, 4 GiB) must be at most half of the volume, 'storage.sizeGiB' 6"],
  ])('refuses %j with one line, exit code 2 and dist/ untouched', (env, message) => {
    const before = snapshotDir(dist);
    const result = synth(env);
    expect(result.status).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(message);
    expect(result.stderr + result.stdout).not.toMatch(/\n\s+at /); // no stack trace
    expect(snapshotDir(dist)).toEqual(before);
  }, 60_000); // the first run in a fresh clone also compiles build/

  test('replaces dist/ as a whole on success, with Kubernetes objects only', () => {
    const result = synth({ QINGYU_ENV: 'development' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const files = readdirSync(dist);
    expect(files).not.toContain('0000-previous.k8s.yaml');
    expect(files.every((f) => /^\d{4}-[a-z]+\.k8s\.yaml$/.test(f))).toBe(true);
    expect(readFileSync(join(dist, files[0]), 'utf8')).toContain('name: qingyu-dev');
    for (const f of files) {
      for (const doc of parseAllDocuments(readFileSync(join(dist, f), 'utf8'))) {
        const o = doc.toJS();
        expect([f, typeof o.apiVersion, typeof o.kind, typeof o.metadata?.name]).toEqual([f, 'string', 'string', 'string']);
      }
    }
  }, 60_000);
});

test('the two paths write byte-identical files', () => {
  expect(npmSynth({ QINGYU_ENV: 'staging' }).status).toBe(0);
  const viaNpm = snapshotDir(dist);
  rmSync(dist, { recursive: true });
  mkdirSync(dist);
  expect(cliSynth({ QINGYU_ENV: 'staging' }).status).toBe(0);
  expect(snapshotDir(dist)).toEqual(viaNpm);
}, 60_000);
