/**
 * Small typed builders for Grafana dashboards (schema version 39, Grafana 11). Dashboards are
 * written as TypeScript data and rendered to the JSON Grafana provisions from files; every panel
 * and query uses the Prometheus datasource by its fixed uid, so the same JSON works in the
 * platform's Grafana and in a kube-prometheus-stack Grafana (whose datasource uid is also
 * `prometheus`).
 *
 * @see https://grafana.com/docs/grafana/latest/dashboards/build-dashboards/view-dashboard-json-model/
 */

/** uid of the provisioned Prometheus datasource. */
export const PROMETHEUS_DATASOURCE_UID = 'prometheus';
export const PROMETHEUS_DATASOURCE = { type: 'prometheus', uid: PROMETHEUS_DATASOURCE_UID } as const;

/** Grafana field units used here. */
export type Unit = 'short' | 'percentunit' | 'bytes' | 's' | 'reqps' | 'ops' | 'none';

export interface Query {
  readonly expr: string;
  /** Legend template, e.g. `{{pod}}`. @default - Grafana's automatic legend */
  readonly legend?: string;
}

export interface Threshold {
  readonly value: number;
  readonly color: 'green' | 'yellow' | 'orange' | 'red';
}

export interface PanelOptions {
  readonly unit?: Unit;
  readonly description?: string;
  /** Width in grid columns (of 24). @default 12 (timeseries), 6 (stat) */
  readonly width?: number;
  /** Height in grid rows. @default 8 (timeseries), 4 (stat) */
  readonly height?: number;
  /** Colour steps above the base colour. */
  readonly thresholds?: readonly Threshold[];
  /** Colour below the first threshold. @default 'green' */
  readonly baseColor?: Threshold['color'];
  readonly min?: number;
  readonly max?: number;
}

export interface Panel {
  readonly kind: 'timeseries' | 'stat' | 'table';
  readonly title: string;
  readonly queries: readonly Query[];
  readonly options: PanelOptions;
}

export interface Row {
  readonly kind: 'row';
  readonly title: string;
}

export const timeseries = (title: string, queries: readonly Query[], options: PanelOptions = {}): Panel => ({
  kind: 'timeseries', title, queries, options,
});
export const stat = (title: string, queries: readonly Query[], options: PanelOptions = {}): Panel => ({
  kind: 'stat', title, queries, options,
});
/** A table of the instant values of the queries (current state, one row per series). */
export const table = (title: string, queries: readonly Query[], options: PanelOptions = {}): Panel => ({
  kind: 'table', title, queries, options,
});
export const row = (title: string): Row => ({ kind: 'row', title });
export const q = (expr: string, legend?: string): Query => (legend === undefined ? { expr } : { expr, legend });

export interface DashboardSpec {
  /** Stable uid (links and the provisioned file name use it). */
  readonly uid: string;
  readonly title: string;
  readonly tags: readonly string[];
  readonly description?: string;
  readonly items: ReadonlyArray<Panel | Row>;
}

const GRID_WIDTH = 24;

/** Renders a dashboard as Grafana's JSON model: panels laid out left to right, rows full width. */
export function renderDashboard(spec: DashboardSpec): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  let id = 1;
  const newLine = () => {
    y += rowHeight;
    x = 0;
    rowHeight = 0;
  };
  for (const item of spec.items) {
    if (item.kind === 'row') {
      if (x > 0) newLine();
      panels.push({ id: id++, type: 'row', title: item.title, collapsed: false, gridPos: { h: 1, w: GRID_WIDTH, x: 0, y }, panels: [] });
      y += 1;
      continue;
    }
    const w = item.options.width ?? (item.kind === 'stat' ? 6 : 12);
    const h = item.options.height ?? (item.kind === 'stat' ? 4 : 8);
    if (w < 1 || w > GRID_WIDTH) throw new Error(`panel '${item.title}' of dashboard ${spec.uid}: 'width' must be 1 to ${GRID_WIDTH}, got ${w}`);
    if (x + w > GRID_WIDTH) newLine();
    panels.push(renderPanel(item, id++, { h, w, x, y }));
    x += w;
    rowHeight = Math.max(rowHeight, h);
  }
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description ?? '',
    tags: [...spec.tags],
    editable: false,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    timezone: 'browser',
    annotations: { list: [] },
    templating: { list: [] },
    links: [],
    panels,
  };
}

function renderPanel(panel: Panel, id: number, gridPos: { h: number; w: number; x: number; y: number }): Record<string, unknown> {
  const o = panel.options;
  const steps = [{ color: o.baseColor ?? 'green', value: null as number | null }, ...(o.thresholds ?? []).map((t) => ({ color: t.color, value: t.value }))];
  const defaults: Record<string, unknown> = {
    unit: o.unit ?? 'short',
    thresholds: { mode: 'absolute', steps },
    ...(o.min !== undefined ? { min: o.min } : {}),
    ...(o.max !== undefined ? { max: o.max } : {}),
  };
  const instant = panel.kind === 'table';
  const targets = panel.queries.map((query, i) => ({
    refId: String.fromCharCode(65 + i),
    datasource: PROMETHEUS_DATASOURCE,
    expr: query.expr,
    ...(query.legend !== undefined ? { legendFormat: query.legend } : {}),
    ...(instant ? { instant: true, range: false, format: 'table' } : { range: true }),
  }));
  const options: Record<string, unknown> =
    panel.kind === 'timeseries'
      ? { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } }
      : panel.kind === 'stat'
        ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background', graphMode: 'area', textMode: 'auto' }
        : { showHeader: true };
  return {
    id,
    type: panel.kind,
    title: panel.title,
    description: o.description ?? '',
    datasource: PROMETHEUS_DATASOURCE,
    gridPos,
    targets,
    fieldConfig: { defaults, overrides: [] },
    options,
    ...(panel.kind === 'table' ? { transformations: [{ id: 'merge', options: {} }] } : {}),
  };
}
