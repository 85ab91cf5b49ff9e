import { existsSync, renameSync, rmSync } from 'node:fs';

/**
 * Replaces `target` with the finished `scratch` directory in two renames, so a reader of
 * `target` sees the old files or the new ones, never a mix, and a failure before this point
 * leaves `target` exactly as it was.
 */
export function promote(scratch: string, target: string): void {
  if (!existsSync(target)) {
    renameSync(scratch, target);
    return;
  }
  const old = `${scratch}-old`;
  rmSync(old, { recursive: true, force: true });
  renameSync(target, old);
  renameSync(scratch, target);
  rmSync(old, { recursive: true, force: true });
}
