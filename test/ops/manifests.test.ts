import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parseAllDocuments } from 'yaml';

import { SECRETS } from '../../lib/secrets';
import { synthesize } from '../support/synth';
import { lib, ROOT } from './fixtures/fake-cluster';

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

describe('facts are read by name', () => {
  const fields = (type: string) => facts.find((f) => f[0] === '#fields' && f[1] === type)!.slice(2);

  test('the file names every type\'s fields, and every record has as many', () => {
    for (const record of facts.filter((f) => f[0] !== '#fields')) {
      expect([record[0], record.length - 1]).toEqual([record[0], fields(record[0]).length]);
      for (const value of record) expect(value).not.toBe('');
    }
  });

  test('the app Deployments are found by their label, not by the file they are in', () => {
    const dist = join(work, 'renamed');
    mkdirSync(dist);
    for (const f of synthesize('production').files) writeFileSync(join(dist, f.name.replace('apps', 'services')), f.yaml);
    const r = spawnSync('node', [join(ROOT, 'scripts/lib/manifests.mjs'), 'facts', dist], { encoding: 'utf8' });
    const apps = r.stdout.split('\n').filter((l) => l.startsWith('app-deployment\t')).map((l) => l.split('\t')[1]);
    expect(apps.sort()).toEqual(['go-backend', 'python-ai']);
    const deployments = facts.filter((f) => f[0] === 'workload' && f[1] === 'Deployment').map((f) => f[2]);
    expect(deployments).toEqual(expect.arrayContaining(['grafana', 'kube-state-metrics']));
  });

  test('qy_facts picks fields by name, keeps empty ones, and refuses an unknown name', () => {
    const file = join(work, 'named.tsv');
    writeFileSync(file, '#fields\tthing\ta\tb\tc\nthing\t1\t\t3\nother\tx\nthing\t4\t5\t6\n');
    const run = (args: string) => lib(`QY_FACTS='${file}' qy_facts ${args}`);
    expect(run('thing c a').stdout).toBe('3\t1\n6\t4\n');
    expect(run('thing b c').stdout).toBe('\t3\n5\t6\n');
    expect(run('thing').stdout).toBe('1\t\t3\n4\t5\t6\n');
    const unknown = run('thing d');
    expect(unknown.status).toBe(3);
    expect(unknown.stderr.trim()).toBe("error: facts: 'thing' has no field 'd' (it has: a b c)");
  });

  test('every qy_facts call in scripts/ and verify/ names a type and fields that exist', () => {
    const known = new Map(facts.filter((f) => f[0] === '#fields').map((f) => [f[1], f.slice(2)]));
    const shell = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'scripts', 'verify', '.ci'], { cwd: ROOT, encoding: 'utf8' })
      .stdout.split('\n').filter((f) => /\.sh$|^\.ci\/run$/.test(f));
    const code = (f: string) => readFileSync(join(ROOT, f), 'utf8').split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
    const calls = shell.flatMap((f) => [...code(f).matchAll(/qy_facts ([a-z-]+)((?: [a-z][A-Za-z]*)*)/g)]
      .map((m) => ({ where: f, type: m[1], fields: m[2].trim().split(' ').filter(Boolean) })));
    expect(calls.length).toBeGreaterThan(20);
    for (const c of calls) {
      expect([c.where, c.type, known.has(c.type)]).toEqual([c.where, c.type, true]);
      for (const field of c.fields) {
        expect([c.where, c.type, field, known.get(c.type)!.includes(field)]).toEqual([c.where, c.type, field, true]);
      }
    }
  });
});
