import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { SECRETS } from '../../lib/secrets';
import { synthesize } from '../support/synth';
import { ROOT } from './fixtures/fake-cluster';

// What scripts/lib/manifests.mjs reads from the real synthesized output, and the guarantee that
// pruning can never select data: what the ApplySet may delete excludes Namespaces and PVCs.

let work: string;
let facts: string[][];
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'qingyu-manifests-'));
  const dist = join(work, 'dist');
  mkdirSync(dist);
  for (const f of synthesize('production').files) writeFileSync(join(dist, f.name), f.yaml);
  const r = spawnSync('node', [join(ROOT, 'scripts/lib/manifests.mjs'), 'prepare', dist, join(work, 'out')], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  facts = readFileSync(join(work, 'out', 'facts.tsv'), 'utf8').trimEnd().split('\n').map((l) => l.split('\t'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const kindsIn = (dir: string) =>
  readdirSync(dir).flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => (d.toJS() as any).kind));

test('keeps Namespaces, PersistentVolumeClaims and cluster-scoped objects out of the pruned ApplySet', () => {
  const members = kindsIn(join(work, 'out', 'members'));
  expect(members.length).toBeGreaterThan(10);
  for (const kind of ['Namespace', 'PersistentVolumeClaim', 'Secret', 'ClusterRole', 'ClusterRoleBinding']) expect(members).not.toContain(kind);
  expect(kindsIn(join(work, 'out', 'outside'))).toContain('Namespace');
});

test('every StatefulSet retains its volumes, so no deploy or prune deletes data', () => {
  const sts = facts.filter((f) => f[0] === 'workload' && f[1] === 'StatefulSet').map((f) => f[2]);
  expect(sts.length).toBeGreaterThan(0);
  for (const name of sts) expect(facts).toContainEqual(['pvc-retention', name, 'Retain', 'Retain']);
});

test('finds every referenced Secret key, and each is catalogued in lib/secrets.ts', () => {
  const catalogued = new Map(Object.values(SECRETS).map((s: any) => [s.name, Object.values(s.keys).map((k: any) => k.key)]));
  const keys = facts.filter((f) => f[0] === 'secret-key');
  expect(keys.length).toBeGreaterThan(0);
  for (const [, name, key] of keys) {
    if (catalogued.has(name)) expect(catalogued.get(name)).toContain(key);
  }
  expect(keys.map((k) => `${k[1]}/${k[2]}`)).toEqual(expect.arrayContaining(['go-backend-secrets/jwt-secret', 'python-ai-secrets/openai-api-key']));
});

test('lists the data-store images and the app Deployments from the output, not from a list', () => {
  expect(facts.filter((f) => f[0] === 'datastore-image').map((f) => f[1])).toEqual(expect.arrayContaining(['mongodb', 'redis']));
  expect(facts.filter((f) => f[0] === 'app-deployment').map((f) => f[1]).sort()).toEqual(['go-backend', 'python-ai']);
});
