import { rmSync } from 'node:fs';

import { SHARED_OUTPUT_DIR_VARIABLE } from './synth';

export default function globalTeardown(): void {
  const dir = process.env[SHARED_OUTPUT_DIR_VARIABLE];
  if (dir) rmSync(dir, { recursive: true, force: true });
}
