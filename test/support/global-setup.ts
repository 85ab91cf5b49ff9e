import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_ENVIRONMENTS, SHARED_OUTPUT_DIR_VARIABLE, synthesizeUncached } from './synth';

/** Synthesizes each environment once for the whole run; workers inherit the directory. */
export default function globalSetup(): void {
  const dir = mkdtempSync(join(tmpdir(), 'qingyu-jest-'));
  for (const env of ALL_ENVIRONMENTS) writeFileSync(join(dir, `${env}.json`), JSON.stringify(synthesizeUncached(env)));
  process.env[SHARED_OUTPUT_DIR_VARIABLE] = dir;
}
