/**
 * The version floor: advisories that are known to be exploited or that need no login, for the
 * images the platform runs. Configuration validation refuses an image whose version is affected
 * unless the advisory is accepted below with a reason (`ACCEPTED_ADVISORIES`), so a vulnerable
 * pin can never be deployed by accident, and an unfixable one only on the record.
 *
 * A version is read from the image's tag. A digest pin carries no version, so an image of a
 * component listed here must keep its tag next to the digest (`tag` and `digest` together,
 * rendered `repository:tag@sha256:...`): the floor judges the tag, the runtime pulls the digest.
 * A digest without a tag is refused for these components.
 */

export interface Advisory {
  /** CVE (or GHSA) identifier. */
  readonly id: string;
  /** What an attacker gets, in a few words. */
  readonly summary: string;
  /** Image repositories the advisory applies to, as written in the configuration. */
  readonly repositories: readonly string[];
  /**
   * First fixed version per release line (`major.minor`), as the source lists them. A version on
   * a line the source does not list is affected when it is below the newest listed fix: such a
   * line ended before the fix (Milvus 2.3 for a bug fixed in 2.4.24, 2.5.21 and 2.6.5), while a
   * line that began after it (MongoDB 8.3 for a fix in 8.2.3) carries the fix from its start.
   */
  readonly fixedIn: Readonly<Record<string, string>>;
  /** Listed by CISA as known exploited. */
  readonly knownExploited: boolean;
  /** Reachable without credentials. */
  readonly preAuth: boolean;
  readonly source: string;
}

export const ADVISORIES: readonly Advisory[] = [
  {
    id: 'CVE-2025-14847',
    summary: "'MongoBleed': zlib-compressed messages return uninitialized heap memory before authentication",
    repositories: ['mongo'],
    fixedIn: { '4.4': '4.4.30', '5.0': '5.0.32', '6.0': '6.0.27', '7.0': '7.0.28', '8.0': '8.0.17', '8.2': '8.2.3' },
    knownExploited: true,
    preAuth: true,
    source: 'https://jira.mongodb.org/browse/SERVER-115508',
  },
  {
    id: 'CVE-2026-9740',
    summary: 'BSON validation recursion crashes mongod before authentication',
    repositories: ['mongo'],
    fixedIn: { '7.0': '7.0.35' },
    knownExploited: false,
    preAuth: true,
    source: 'https://basefortify.eu/cve_reports/2026/06/cve-2026-9740.html',
  },
  {
    id: 'CVE-2025-49844',
    summary: "'RediShell': a use-after-free in the Lua parser gives remote code execution",
    repositories: ['redis'],
    fixedIn: { '7.2': '7.2.11' },
    knownExploited: true,
    preAuth: false,
    source: 'https://github.com/docker-library/official-images/pull/20011',
  },
  {
    id: 'CVE-2025-46817',
    summary: 'Lua unpack integer overflow, potential remote code execution',
    repositories: ['redis'],
    fixedIn: { '7.2': '7.2.11' },
    knownExploited: false,
    preAuth: false,
    source: 'https://github.com/redis/docker-library-redis/pull/478',
  },
  {
    id: 'CVE-2025-46818',
    summary: 'Lua metatables let a script run code as another user',
    repositories: ['redis'],
    fixedIn: { '7.2': '7.2.11' },
    knownExploited: false,
    preAuth: false,
    source: 'https://github.com/redis/docker-library-redis/pull/478',
  },
  {
    id: 'CVE-2025-46819',
    summary: 'Lua out-of-bounds read crashes the server',
    repositories: ['redis'],
    fixedIn: { '7.2': '7.2.11' },
    knownExploited: false,
    preAuth: false,
    source: 'https://github.com/redis/docker-library-redis/pull/478',
  },
  {
    id: 'CVE-2025-21605',
    summary: 'an unauthenticated client grows output buffers without limit (denial of service)',
    repositories: ['redis'],
    fixedIn: { '7.2': '7.2.8' },
    knownExploited: false,
    preAuth: true,
    source: 'https://github.com/redis/redis/pull/13993',
  },
  {
    id: 'CVE-2025-64513',
    summary: 'Proxy authentication bypass: an unauthenticated client gets full admin',
    repositories: ['milvusdb/milvus'],
    fixedIn: { '2.4': '2.4.24', '2.5': '2.5.21', '2.6': '2.6.5' },
    knownExploited: false,
    preAuth: true,
    source: 'https://github.com/milvus-io/milvus/security/advisories/GHSA-mhjq-8c7m-3f7p',
  },
  {
    id: 'CVE-2026-26190',
    summary: 'the metrics port serves the REST API and /expr without authentication',
    repositories: ['milvusdb/milvus'],
    fixedIn: { '2.5': '2.5.27', '2.6': '2.6.10' },
    knownExploited: false,
    preAuth: true,
    source: 'https://github.com/milvus-io/milvus/security/advisories/GHSA-7ppg-37fh-vcr6',
  },
  {
    id: 'CVE-2026-42154',
    summary: 'a crafted snappy payload on the unauthenticated remote-read endpoint exhausts memory',
    repositories: ['quay.io/prometheus/prometheus'],
    fixedIn: { '3.5': '3.5.2', '3.11': '3.11.3' },
    knownExploited: false,
    preAuth: true,
    source: 'https://github.com/prometheus/prometheus/security/advisories/GHSA-8rm2-7qqf-34qm',
  },
  {
    id: 'CVE-2024-9264',
    summary: 'SQL expressions pass user input to duckdb: command injection for any viewer',
    repositories: ['grafana/grafana'],
    fixedIn: { '11.0': '11.0.6', '11.1': '11.1.7', '11.2': '11.2.2' },
    knownExploited: false,
    preAuth: false,
    source: 'https://github.com/golang/vulndb/issues/3215',
  },
];

/** An advisory the platform runs with on purpose: the image, why, and what limits exposure. */
export interface AcceptedAdvisory {
  readonly id: string;
  readonly repository: string;
  /** The release line it is accepted on (`2.3`); a move off the line ends the acceptance. */
  readonly line: string;
  readonly reason: string;
}

export const ACCEPTED_ADVISORIES: readonly AcceptedAdvisory[] = [
  {
    id: 'CVE-2025-64513',
    repository: 'milvusdb/milvus',
    line: '2.3',
    reason: "the design's Milvus 2.3.0 gets no fix; only python-ai and the milvus-auth Job may reach 19530 (NetworkPolicy), "
      + 'and the upgrade path 2.3 -> 2.4 -> 2.5 -> 2.6 is a one-line change of images.milvus (README "Milvus")',
  },
  {
    id: 'CVE-2026-26190',
    repository: 'milvusdb/milvus',
    line: '2.3',
    reason: 'no 2.3 fix; the REST API it concerns is off (proxy.http.enabled false: 404 on 2.3.0, measured), and only Prometheus '
      + 'may reach the metrics port 9091 (NetworkPolicy); fixed from 2.5.27 on the upgrade path',
  },
];

/** A version as numbers (`v7.0.14` -> [7, 0, 14]; `7.2.11-alpine` -> [7, 2, 11]), or undefined. */
export function parseVersion(tag: string): number[] | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+._].*)?$/.exec(tag);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Every advisory of the table that affects `repository` at `tag`, unless accepted. */
export function advisoriesAffecting(
  repository: string,
  tag: string,
  advisories: readonly Advisory[] = ADVISORIES,
  accepted: readonly AcceptedAdvisory[] = ACCEPTED_ADVISORIES,
): Advisory[] {
  const version = parseVersion(tag);
  if (!version) return [];
  const line = `${version[0]}.${version[1]}`;
  return advisories.filter((a) => {
    if (!a.repositories.includes(repository)) return false;
    const affected = compare(version, parseVersion(firstFix(a, line))!) < 0;
    return affected && !accepted.some((x) => x.id === a.id && x.repository === repository && x.line === line);
  });
}

/** The fix that applies to `line`: its own, else the newest the source lists (see `fixedIn`). */
function firstFix(a: Advisory, line: string): string {
  return a.fixedIn[line] ?? Object.values(a.fixedIn).reduce((x, y) => (compare(parseVersion(x)!, parseVersion(y)!) >= 0 ? x : y));
}

/** Whether the table judges images of `repository` (so their version must be readable). */
export function hasFloor(repository: string, advisories: readonly Advisory[] = ADVISORIES): boolean {
  return advisories.some((a) => a.repositories.includes(repository));
}

/** An affecting advisory and where it is fixed: `CVE-2025-14847 (fixed in 7.0.28)`. */
export function describeAdvisory(a: Advisory, tag: string): string {
  const version = parseVersion(tag)!;
  const line = `${version[0]}.${version[1]}`;
  const fixed = a.fixedIn[line];
  return fixed !== undefined
    ? `${a.id} (fixed in ${fixed})`
    : `${a.id} (no fix on the ${line} line; fixed in ${Object.values(a.fixedIn).join(', ')})`;
}
