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

/** The lines of the ops scripts (and their libraries) that pipe into a grep that stops reading at its first match. */
function earlyExitGreps(read: (file: string) => string = (f) => readFileSync(join(ROOT, f), 'utf8')): string[] {
  const files = shellScripts().filter((f) => /^scripts\/(lib\/)?[^/]+\.sh$/.test(f));
  return files.flatMap((f) =>
    read(f)
      .split('\n')
      .map((line, i) => ({ line, at: `${f}:${i + 1}` }))
      .filter(({ line }) => !/^\s*#/.test(line) && /(^|[^|])\|\s*grep\s+(-[A-Za-z]*[qm]|--quiet|--max-count)/.test(line))
      .map(({ at, line }) => `${at}: ${line.trim()}`),
  );
}

test('the ops scripts never pipe into grep -q/-m: under pipefail the writer dies of SIGPIPE and the check fails at random', () => {
  // (`qy_facts ... | grep -qx NAME` made `create-secrets.sh --overwrite NAME` fail now and then.)
  // Read the output whole first: `grep -qx -- "$x" <<<"$(producer)"`.
  expect(earlyExitGreps()).toEqual([]);
  // and the rule sees the line that failed
  expect(earlyExitGreps(() => '  qy_facts secret name | grep -qx -- "$name" || qy_die x\n')).not.toEqual([]);
  expect(earlyExitGreps(() => '  [[ -n $a ]] || grep -qx -- "$key" <<<"$refs" || continue\n')).toEqual([]);
});
