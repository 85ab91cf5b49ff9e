import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// `npm run synth` end to end: the wrapper, the cdk8s CLI and the compiled app.
const root = join(__dirname, '..', '..');
let work: string;
let dist: string;

function synth(env: Record<string, string>) {
  const { QINGYU_ENV: _e, QINGYU_IMAGE_TAG: _t, ...base } = process.env;
  return spawnSync(process.execPath, [join(root, 'scripts', 'synth.mjs'), '--output', dist], {
    cwd: root,
    env: { ...base, ...env },
    encoding: 'utf8',
  });
}

function snapshotDir(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'qingyu-cli-'));
  dist = join(work, 'dist');
  mkdirSync(dist);
  writeFileSync(join(dist, '0000-previous.k8s.yaml'), 'kind: PreviousRelease\n');
});

afterEach(() => rmSync(work, { recursive: true, force: true }));

test.each([
  [{ QINGYU_ENV: 'moon' }, "error: QINGYU_ENV: unknown environment 'moon'; expected one of: production, staging, development"],
  [{ QINGYU_IMAGE_TAG: 'bad tag!' }, "error: QINGYU_IMAGE_TAG: invalid image tag 'bad tag!'"],
  [{ QINGYU_IMAGE_TAG: 'latest' }, "error: QINGYU_IMAGE_TAG: 'latest' is not allowed"],
  [{ QINGYU_IMAGE_TAG: 'sha256:123' }, "error: QINGYU_IMAGE_TAG: invalid digest 'sha256:123'"],
])('refuses %j with one line, a non-zero exit and dist/ untouched', (env, message) => {
  const before = snapshotDir(dist);
  const result = synth(env);
  expect(result.status).not.toBe(0);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).toContain(message);
  expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(snapshotDir(dist)).toEqual(before);
  expect(readdirSync(work)).toEqual(['dist']); // no scratch directory left behind
}, 30_000); // the first run in a fresh clone also compiles build/

test('replaces dist/ as a whole on success', () => {
  const result = synth({ QINGYU_ENV: 'development' });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const files = readdirSync(dist);
  expect(files).not.toContain('0000-previous.k8s.yaml');
  expect(files[0]).toMatch(/^0000-namespace\.k8s\.yaml$/);
  expect(readFileSync(join(dist, files[0]), 'utf8')).toContain('name: qingyu-dev');
  expect(readdirSync(work)).toEqual(['dist']);
}, 30_000);
