import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE_RELEASE, ROOT } from './fixtures/fake-cluster';

// `npm run report` on the fixture release: the diagram's flows come from the NetworkPolicies
// (or from env host:port values without them), the capacity table adds up at both HPA bounds.

const report = (dist: string) =>
  spawnSync(process.execPath, [join(ROOT, 'scripts/report.mjs'), '--dist', dist, '--env', 'fixture'], { encoding: 'utf8' });

let r: ReturnType<typeof report>;
beforeAll(() => {
  r = report(join(FIXTURE_RELEASE, 'dist'));
});

test('draws workloads, Services and the flows the NetworkPolicies allow', () => {
  expect(r.stderr).toBe('');
  expect(r.stdout).toContain('```mermaid\nflowchart LR');
  expect(r.stdout).toContain('w_go_backend["go-backend<br/>Deployment ×3–10 (HPA)"]');
  expect(r.stdout).toContain('s_mongodb(["svc mongodb<br/>mongodb:27017"])');
  expect(r.stdout).toContain('w_go_backend -->|"27017/TCP"| s_mongodb');
  expect(r.stdout).toMatch(/x_\d -->\|"8080\/TCP"\| s_go_backend/);
  expect(r.stdout).toContain('[["ingress-nginx/all pods"]]');
  expect(r.stdout).toContain('w_go_backend -->|"443/TCP"| x_');
});

test('sums capacity per pod (an init container counts alone) and at the minimum and maximum scale', () => {
  // mongodb: containers 0.5 + 0.05 CPU requested, the init container 2 alone: the pod needs 2
  expect(r.stdout).toContain('| mongodb | StatefulSet | 3 | 2 / 2.2 | 2.06 GiB / 4.13 GiB | 50 GiB |');
  expect(r.stdout).toContain('| go-backend | Deployment | 3–10 | 0.25 / 1 | 256 MiB / 512 MiB | 0 |');
  // 3 x 2 + 3 x 0.25 = 6.75 at minimum; 3 x 2 + 10 x 0.25 = 8.5 at maximum; 3 x 50 GiB of volumes
  expect(r.stdout).toContain('| minimum (HPA min) | 6 | 6.75 | 9.6 | 6.94 GiB | 13.88 GiB | 150 GiB |');
  expect(r.stdout).toContain('| maximum (HPA max) | 13 | 8.5 | 16.6 | 8.69 GiB | 17.38 GiB | 150 GiB |');
});

test('falls back to env host:port values for the flows when there are no NetworkPolicies', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qingyu-report-'));
  try {
    cpSync(join(FIXTURE_RELEASE, 'dist'), dir, { recursive: true, filter: (src) => !src.endsWith('0001-network.k8s.yaml') });
    const fallback = report(dir);
    expect(fallback.stdout).toContain('from the env host:port values');
    expect(fallback.stdout).toContain('w_go_backend -->|"27017/TCP"| s_mongodb');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--write replaces only the marked section of the document', () => {
  const code = `import { replaceSection, BEGIN, END } from '${join(ROOT, 'scripts/report.mjs')}';
    const doc = '# Title\\n\\nintro\\n\\n' + BEGIN + '\\nold\\n' + END + '\\n\\nafter\\n';
    process.stdout.write(JSON.stringify([replaceSection(doc, 'new\\n'), replaceSection('# Only\\n', 'x\\n')]));`;
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  const [replaced, appended] = JSON.parse(out.stdout);
  expect(replaced).toMatch(/^# Title\n\nintro\n\n<!-- BEGIN platform-report .*-->\nnew\n<!-- END platform-report -->\n\nafter\n$/);
  expect(appended).toMatch(/^# Only\n\n<!-- BEGIN platform-report .*-->\nx\n<!-- END platform-report -->\n$/);
});
