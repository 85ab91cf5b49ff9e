import { q, renderDashboard, row, stat, table, timeseries } from '../../charts/monitoring/grafana-dashboard';
import { promqlErrors } from '../support/fixtures';
import { ALL_ENVIRONMENTS, K8sObject, ofKind, synthesize } from '../support/synth';

// The Grafana dashboards, reviewed apart from the monitoring chart's snapshot: there each
// dashboard is one line, here an outline of what it shows (every panel, its size, unit,
// thresholds and queries), and the renderer's full JSON once, for a small dashboard.

const dashboardsOf = (objects: K8sObject[]) =>
  ofKind(objects, 'ConfigMap').filter((c) => c.metadata.labels?.grafana_dashboard === '1');

/** What a dashboard shows, one line per row, panel and query. */
function outline(dashboard: any): string {
  const lines = [`${dashboard.title} (${dashboard.uid}): ${dashboard.description}`];
  for (const p of dashboard.panels) {
    if (p.type === 'row') {
      lines.push(`  == ${p.title}`);
      continue;
    }
    const d = p.fieldConfig.defaults;
    const range = [d.min, d.max].some((v) => v !== undefined) ? ` ${d.min ?? ''}..${d.max ?? ''}` : '';
    const thresholds = d.thresholds.steps.map((s: any) => `${s.value ?? '-'}:${s.color}`).join(' ');
    const { w, h, x, y } = p.gridPos;
    lines.push(`  ${p.type} "${p.title}" ${w}x${h}@${x},${y} [${d.unit}${range}] {${thresholds}}${p.description ? ` - ${p.description}` : ''}`);
    for (const t of p.targets) lines.push(`      ${t.expr}${t.legendFormat !== undefined ? `   => ${t.legendFormat}` : ''}`);
  }
  return lines.join('\n');
}

const prod = synthesize('production');

test('the dashboards, in outline, match their snapshot', () => {
  const outlines = dashboardsOf(prod.objects).map((cm) => outline(JSON.parse(Object.values<string>(cm.data)[0])));
  expect(outlines.join('\n\n')).toMatchSnapshot();
});

test('the renderer lays panels out left to right in rows of 24 and writes the Grafana JSON model', () => {
  const rendered = renderDashboard({
    uid: 'qingyu-test',
    title: 'Qingyu / Test',
    tags: ['qingyu'],
    items: [
      row('Health'),
      stat('Up', [q('sum(up)')], { thresholds: [{ value: 1, color: 'red' }], baseColor: 'red' }),
      timeseries('Requests', [q('sum(rate(http_requests_total[5m]))', 'rps')], { unit: 'reqps', width: 18 }),
      table('Versions', [q('count by (version) (build_info)')]),
    ],
  });
  expect(rendered).toMatchSnapshot();
});

describe.each(ALL_ENVIRONMENTS)('%s', (env) => {
  const { objects } = synthesize(env);

  test('every dashboard is valid JSON whose panels and queries all use the Prometheus datasource and valid PromQL', () => {
    const dashboards = dashboardsOf(objects);
    expect(dashboards.map((d) => d.metadata.name).sort()).toEqual([
      'grafana-dashboard-etcd-minio', 'grafana-dashboard-milvus', 'grafana-dashboard-mongodb', 'grafana-dashboard-overview', 'grafana-dashboard-redis',
    ]);
    for (const cm of dashboards) {
      const files = Object.entries<string>(cm.data);
      expect(files).toHaveLength(1);
      const [file, json] = files[0];
      const dashboard = JSON.parse(json);
      expect(file).toBe(`${dashboard.uid}.json`);
      const panels = dashboard.panels.filter((p: any) => p.type !== 'row');
      expect(panels.length).toBeGreaterThan(3);
      for (const panel of panels) {
        expect(panel.datasource).toEqual({ type: 'prometheus', uid: 'prometheus' });
        expect(panel.targets.length).toBeGreaterThan(0);
        for (const target of panel.targets) {
          expect(target.datasource).toEqual({ type: 'prometheus', uid: 'prometheus' });
          expect({ panel: panel.title, errors: promqlErrors(target.expr) }).toEqual({ panel: panel.title, errors: [] });
        }
      }
    }
  });

  test('no panel overlaps another, and none leaves the 24-column grid', () => {
    for (const cm of dashboardsOf(objects)) {
      const panels = JSON.parse(Object.values<string>(cm.data)[0]).panels;
      const cells = new Set<string>();
      for (const p of panels) {
        const { w, h, x, y } = p.gridPos;
        expect([p.title, x + w <= 24]).toEqual([p.title, true]);
        for (let i = x; i < x + w; i++) {
          for (let j = y; j < y + h; j++) {
            expect([p.title, cells.has(`${i},${j}`)]).toEqual([p.title, false]);
            cells.add(`${i},${j}`);
          }
        }
      }
    }
  });
});
