import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  ACCEPTED_ADVISORIES,
  ADVISORIES,
  advisoriesAffecting,
  ENVIRONMENTS,
  ImageRef,
  IMAGES,
  parseVersion,
  PlatformConfig,
  validateConfig,
} from '../../config';
import { imageName } from '../../lib/pod';
import { synthesizeConfig } from '../support/synth';

/** The version just below `fixed` on its line (`7.0.28` -> `7.0.27`), or undefined at `x.y.0`. */
function justBelow(fixed: string): string | undefined {
  const [major, minor, patch] = parseVersion(fixed)!;
  return patch > 0 ? `${major}.${minor}.${patch - 1}` : undefined;
}

/** A tag in the repository's own style (Prometheus and etcd tags start with `v`). */
function tagLike(repository: string, version: string): string {
  const pinned = Object.values(IMAGES).find((i) => i.repository === repository)?.tag ?? '';
  return pinned.startsWith('v') ? `v${version}` : version;
}

const rows = ADVISORIES.flatMap((a) => Object.entries(a.fixedIn).flatMap(([line, fixed]) =>
  a.repositories.map((repository) => ({ id: a.id, repository, line, fixed }))));

describe('the version floor (config/advisories.ts)', () => {
  test.each(rows)('$id on $repository $line: refuses the version before $fixed and accepts $fixed', ({ id, repository, line, fixed }) => {
    const accepted = ACCEPTED_ADVISORIES.some((x) => x.id === id && x.repository === repository && x.line === line);
    const below = justBelow(fixed);
    if (below !== undefined && !accepted) {
      expect(advisoriesAffecting(repository, tagLike(repository, below)).map((a) => a.id)).toContain(id);
    }
    expect(advisoriesAffecting(repository, tagLike(repository, fixed)).map((a) => a.id)).not.toContain(id);
  });

  test('judges a line the advisory does not list by its newest fix: an older, ended line is affected', () => {
    // Milvus 2.3 has no fix for CVE-2025-64513 (fixed in 2.4.24, 2.5.21 and 2.6.5).
    expect(advisoriesAffecting('milvusdb/milvus', 'v2.3.5', ADVISORIES, []).map((a) => a.id)).toEqual(['CVE-2025-64513', 'CVE-2026-26190']);
    // Prometheus 2.x never got the remote-read fix; 3.13 started after it.
    expect(advisoriesAffecting('quay.io/prometheus/prometheus', 'v2.55.1').map((a) => a.id)).toEqual(['CVE-2026-42154']);
    expect(advisoriesAffecting('quay.io/prometheus/prometheus', 'v3.13.0')).toEqual([]);
  });

  test('lets an accepted advisory pass only on the line it was accepted for', () => {
    expect(advisoriesAffecting('milvusdb/milvus', 'v2.3.5')).toEqual([]);
    // Moving to 2.4 ends the 2.3 acceptance: 2.4.0 is below the 2.4 fix, and 2.4 never got the other.
    expect(advisoriesAffecting('milvusdb/milvus', 'v2.4.0').map((a) => a.id)).toEqual(['CVE-2025-64513', 'CVE-2026-26190']);
    expect(advisoriesAffecting('milvusdb/milvus', 'v2.5.27')).toEqual([]);
  });

  test('every acceptance names an advisory of the table, on a line it affects, with a reason', () => {
    for (const x of ACCEPTED_ADVISORIES) {
      const advisory = ADVISORIES.find((a) => a.id === x.id);
      expect(advisory?.repositories).toContain(x.repository);
      expect(advisoriesAffecting(x.repository, `v${x.line}.0`, ADVISORIES, []).map((a) => a.id)).toContain(x.id);
      expect(x.reason.length).toBeGreaterThan(40);
    }
  });

  test('every row cites its source and says what an attacker gets', () => {
    for (const a of ADVISORIES) {
      expect(a.source).toMatch(/^https:\/\//);
      expect(a.summary.length).toBeGreaterThan(20);
      expect(Object.keys(a.fixedIn).length).toBeGreaterThan(0);
    }
  });

  test('every pinned image is above the floor', () => {
    for (const ref of Object.values(IMAGES)) {
      expect([ref.repository, advisoriesAffecting(ref.repository, ref.tag!)]).toEqual([ref.repository, []]);
    }
  });
});

describe('configuration validation applies the floor', () => {
  const production = ENVIRONMENTS.production;
  const withMongo = (image: ImageRef): PlatformConfig => ({ ...production, mongodb: { ...production.mongodb, image } });

  test('refuses mongo 7.0.14 with one line naming the setting, the version and each advisory', () => {
    expect(validateConfig(withMongo({ repository: 'mongo', tag: '7.0.14' }))).toEqual([
      'config production.mongodb.image: mongo 7.0.14 is affected by CVE-2025-14847 (fixed in 7.0.28) and CVE-2026-9740 (fixed in 7.0.35)',
    ]);
  });

  test('refuses a line that ended before a fix, naming the lines that have it', () => {
    const milvus = { ...production.milvus, image: { repository: 'milvusdb/milvus', tag: 'v2.4.0' } };
    expect(validateConfig({ ...production, milvus })).toEqual([
      'config production.milvus.image: milvusdb/milvus v2.4.0 is affected by CVE-2025-64513 (fixed in 2.4.24) and '
      + 'CVE-2026-26190 (no fix on the 2.4 line; fixed in 2.5.27, 2.6.10)',
    ]);
  });

  test('refuses a digest alone for a component the floor judges, and accepts the tag with its digest', () => {
    const digest = `sha256:${'0a'.repeat(32)}`;
    expect(validateConfig(withMongo({ repository: 'mongo', digest }))).toEqual([
      'config production.mongodb.image: mongo is pinned by digest alone; keep the tag beside the digest, so that the version floor can judge it (config/advisories.ts)',
    ]);
    const pinned: ImageRef = { repository: 'mongo', tag: IMAGES.mongodb.tag, digest };
    expect(validateConfig(withMongo(pinned))).toEqual([]);
    expect(imageName(pinned)).toBe(`mongo:${IMAGES.mongodb.tag}@${digest}`);
  });
});

test('moving Milvus along its supported path is the one line images.milvus: 2.5.27, then 2.6.24', () => {
  const production = ENVIRONMENTS.production;
  for (const tag of ['v2.5.27', 'v2.6.24']) {
    const milvus = { ...production.milvus, image: { repository: 'milvusdb/milvus', tag } };
    const { objects } = synthesizeConfig({ ...production, milvus });
    const sts = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'milvus')!;
    expect(sts.spec.template.spec.containers[0].image).toBe(`milvusdb/milvus:${tag}`);
    expect(validateConfig({ ...production, milvus })).toEqual([]);
  }
});

test('no test states a pinned tag: tests read them from config/images.ts, so a Renovate bump passes on its own', () => {
  const testDir = join(__dirname, '..');
  const files = readdirSync(testDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
  const pins = Object.values(IMAGES).filter((i) => !i.repository.startsWith('ghcr.io/qingyu-platform/')).map((i) => i.tag!);
  const offenders = files.flatMap((f) => pins.filter((tag) => readFileSync(f, 'utf8').includes(tag)).map((tag) => `${f}: ${tag}`));
  expect(offenders).toEqual([]);
});
