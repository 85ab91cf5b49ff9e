import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ROOT } from './fixtures/fake-cluster';

// `npm run lint:sh` is shellcheck over a list of globs: a script left out of it is never checked.

/** Tracked files that are shell scripts: named *.sh, or starting with a sh/bash shebang. */
function shellScripts(): string[] {
  const files = spawnSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
  return files.filter((f) => {
    if (f.endsWith('.sh')) return true;
    try {
      return /^#!.*\b(ba)?sh\b/.test(readFileSync(join(ROOT, f), 'utf8').slice(0, 100).split('\n')[0]);
    } catch {
      return false; // deleted in the working tree
    }
  });
}

test('lint:sh shellchecks every shell script in the repository', () => {
  const command: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts['lint:sh'];
  const globs = command.split(/\s+/).filter((word) => word !== 'shellcheck' && !word.startsWith('-'));
  const checked = spawnSync('bash', ['-c', 'shopt -s nullglob dotglob; for f in $1; do printf "%s\\n" "$f"; done', 'lint:sh', globs.join(' ')], {
    cwd: ROOT,
    encoding: 'utf8',
  }).stdout.split('\n');
  const scripts = shellScripts();
  expect(scripts).toContain('scripts/deploy.sh');
  expect(scripts.filter((f) => !checked.includes(f))).toEqual([]);
});
