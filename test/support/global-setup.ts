import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ALL_OUTPUTS, SHARED_OUTPUT_DIR_VARIABLE, synthesize } from './synth';

/** Synthesizes each environment and variant once for the whole run; workers inherit the directory. */
export default function globalSetup(): void {
  // build/ once, before any worker: the scripts the ops tests run (secrets-catalog.mjs, synth)
  // compile it when stale, and in a fresh clone every one of them would compile it again.
  execFileSync(process.execPath, [join(__dirname, '../../scripts/compile.mjs'), '--if-stale'], { stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'qingyu-jest-'));
  for (const output of ALL_OUTPUTS) writeFileSync(join(dir, `${output}.json`), JSON.stringify(synthesize(output)));
  process.env[SHARED_OUTPUT_DIR_VARIABLE] = dir;
}
