import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

import JSON5 from 'json5';

import { IMAGES } from '../../config';

// renovate.json5's regex managers, applied here as Renovate applies them (per file, every match),
// so that a pin Renovate would not see fails a test instead of silently going stale.

const root = join(__dirname, '..', '..');
const config = JSON5.parse(readFileSync(join(root, 'renovate.json5'), 'utf8'));

interface Match { readonly file: string; readonly depName: string; readonly currentValue: string; readonly datasource?: string }

function filesMatching(patterns: readonly string[]): string[] {
  const regexes = patterns.map((p) => new RegExp(p.slice(1, -1)));
  const walk = (dir: string): string[] => readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = dir === '.' ? e.name : `${dir}/${e.name}`;
    if (e.isDirectory()) return ['node_modules', '.git', 'dist', 'build'].includes(e.name) ? [] : walk(rel);
    return [rel];
  });
  return walk('.').filter((f) => regexes.some((r) => r.test(f)));
}

function matches(manager: any): Match[] {
  return filesMatching(manager.managerFilePatterns).flatMap((file) => {
    const text = readFileSync(join(root, file), 'utf8');
    return manager.matchStrings.flatMap((m: string) => [...text.matchAll(new RegExp(m, 'g'))].map((x) => ({
      file: relative(root, join(root, file)),
      depName: x.groups!.depName,
      currentValue: x.groups!.currentValue,
      datasource: x.groups!.datasource ?? manager.datasourceTemplate,
    })));
  });
}

const [imagesManager, toolsManager] = config.customManagers;

test('the image manager finds every third-party image pin of config/images.ts, with its tag', () => {
  const found = matches(imagesManager).map((m) => `${m.depName}:${m.currentValue}`).sort();
  const pinned = Object.values(IMAGES)
    .filter((i) => !i.repository.startsWith('ghcr.io/qingyu-platform/')) // ours: QINGYU_IMAGE_TAG
    .map((i) => `${i.repository}:${i.tag}`).sort();
  expect(found).toEqual(pinned);
});

test('the tool manager finds every version variable of verify/ and .ci/run, with a datasource it knows', () => {
  const found = matches(toolsManager);
  const declared = filesMatching(toolsManager.managerFilePatterns).flatMap((file) =>
    [...readFileSync(join(root, file), 'utf8').matchAll(/^([A-Z0-9_]*VERSION)=(\S+)/gm)].map((x) => `${file} ${x[1]}=${x[2]}`));
  expect(declared.length).toBeGreaterThan(5);
  for (const line of declared) {
    const [file, assignment] = line.split(' ');
    const value = assignment.split('=')[1];
    expect([line, found.some((m) => m.file === file && m.currentValue === value)]).toEqual([line, true]);
  }
  for (const m of found) expect(['go', 'npm', 'pypi', 'docker', 'github-releases']).toContain(m.datasource);
});

test('every data store is held to its supported line, and Milvus and MinIO are never bumped automatically', () => {
  const rules: any[] = config.packageRules;
  const ruleFor = (name: string) => rules.find((r) => (r.matchPackageNames ?? []).includes(name));
  const lineOf = (tag: string) => tag.split('.').slice(0, 2).join('.');
  for (const image of [IMAGES.mongodb, IMAGES.redis, IMAGES.etcd, IMAGES.prometheus, IMAGES.grafana]) {
    const allowed = new RegExp(ruleFor(image.repository).allowedVersions.slice(1, -1));
    expect([image.repository, allowed.test(image.tag!)]).toEqual([image.repository, true]);
    // The next minor of the same major is not allowed: a line change is a decision.
    const [major, minor] = lineOf(image.tag!).replace(/^v/, '').split('.').map(Number);
    const next = `${image.tag!.startsWith('v') ? 'v' : ''}${major}.${minor + 1}.0`;
    expect([image.repository, next, allowed.test(next)]).toEqual([image.repository, next, false]);
  }
  for (const image of [IMAGES.milvus, IMAGES.minio, IMAGES.minioClient]) expect(ruleFor(image.repository).enabled).toBe(false);
});
