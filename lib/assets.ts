import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * A file of the repository (`assets/...`), found from the source tree (tests) or from build/
 * (the compiled app): the nearest directory above this module that holds package.json.
 */
export function readAsset(relativePath: string): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return readFileSync(join(dir, relativePath), 'utf8');
    if (dirname(dir) === dir) throw new Error(`cannot find the repository root above ${__dirname} to read ${relativePath}`);
  }
}

/** A short, order-independent checksum of named contents, for pod annotations that roll pods. */
export function contentChecksum(files: Readonly<Record<string, string>>): string {
  const canonical = JSON.stringify(Object.keys(files).sort().map((k) => [k, files[k]]));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}
