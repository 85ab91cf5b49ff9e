import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parseAllDocuments } from 'yaml';

import { computeCapacity } from '../../lib/manifest';
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
  // the Prometheus Operator's pods, selected by the operator's labels
  expect(r.stdout).toContain('w_prometheus["platform<br/>Prometheus ×2"]');
  expect(r.stdout).toContain('s_prometheus -.-> w_prometheus');
});

test('sums capacity per pod (an init container counts alone) and at the minimum and maximum scale', () => {
  // mongodb: containers 0.5 + 0.05 CPU requested, the init container 2 alone: the pod needs 2
  expect(r.stdout).toContain('| mongodb | StatefulSet | 3 | 2 / 2.2 | 2.06 GiB / 4.13 GiB | 50 GiB |');
  expect(r.stdout).toContain('| go-backend | Deployment | 3–10 | 0.25 / 1 | 256 MiB / 512 MiB | 0 |');
  // Prometheus: 0.5 CPU + its config-reloader sidecar's 0.01 (the resource overrides it by name)
  expect(r.stdout).toContain('| platform | Prometheus | 2 | 0.51 / 1.1 | 1.05 GiB / 2.06 GiB | 20 GiB |');
  // 3 x 2 + 3 x 0.25 + 2 x 0.51 = 7.77 at minimum; 3 x 2 + 10 x 0.25 + 2 x 0.51 = 9.52 at maximum;
  // 3 x 50 GiB + 2 x 20 GiB of volumes
  expect(r.stdout).toContain('| minimum (HPA min) | 8 | 7.77 | 11.8 | 9.04 GiB | 18 GiB | 190 GiB |');
  expect(r.stdout).toContain('| maximum (HPA max) | 15 | 9.52 | 18.8 | 10.79 GiB | 21.5 GiB | 190 GiB |');
});

test('counts a Prometheus as lib/manifest.ts does for the ResourceQuota: replicas, resources, sidecar, volumes', () => {
  const yaml = readFileSync(join(FIXTURE_RELEASE, 'dist', '0005-monitoring.k8s.yaml'), 'utf8');
  const prometheus = parseAllDocuments(yaml).map((d) => d.toJS()).filter((o) => o.kind === 'Prometheus');
  expect(prometheus).toHaveLength(1);
  const code = `import { readFileSync } from 'node:fs';
    import { capacity, model } from '${join(ROOT, 'scripts/report.mjs')}';
    process.stdout.write(JSON.stringify(capacity(model(JSON.parse(readFileSync(0, 'utf8')))).max));`;
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', input: JSON.stringify(prometheus) });
  expect(out.stderr).toBe('');
  const reported = JSON.parse(out.stdout);
  const quota = computeCapacity(prometheus);
  expect(quota.pods).toBe(2);
  expect(reported.pods).toBe(quota.pods);
  expect(reported.cpuReq * 1000).toBeCloseTo(quota.requests.cpuMillis);
  expect(reported.cpuLim * 1000).toBeCloseTo(quota.limits.cpuMillis);
  expect(reported.memReq / 2 ** 20).toBeCloseTo(quota.requests.memoryMiB);
  expect(reported.memLim / 2 ** 20).toBeCloseTo(quota.limits.memoryMiB);
  expect(reported.storage / 2 ** 30).toBeCloseTo(quota.storageGiB);
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
