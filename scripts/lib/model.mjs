// The one model of synthesized output (lib/manifest.ts), for the .mjs scripts: compiled into
// build/ when a source is newer, then loaded from there. Scripts never keep a copy of it.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { compileIfStale } from '../compile.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
await compileIfStale();

/** lib/manifest.ts: K8sObject helpers, podSets, selects, parseQuantity, podTotals, computeCapacity. */
export const manifest = createRequire(import.meta.url)(join(root, 'build', 'lib', 'manifest.js'));
