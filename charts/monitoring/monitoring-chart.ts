import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Component } from '../../lib/component';
import { FlowTable, Peer } from '../../lib/flows';
import { Grafana } from './grafana';
import { KubeStateMetrics } from './kube-state-metrics';
import { renderDashboard } from './grafana-dashboard';
import { METRICS_SERVICE_LABEL, MetricsScraper } from '../../lib/metrics';
import { PlatformAlerts } from './platform-alerts';
import { PlatformChart, PlatformChartProps } from '../../lib/platform-chart';
import { platformDashboards } from './platform-dashboards';
import { PlatformPrometheus, PROMETHEUS_PORT } from './platform-prometheus';

const k8s = kplus.k8s;

/** Labels the platform's own Prometheus selects ServiceMonitors and PrometheusRules by. */
export const OWN_SELECTION_LABELS: Readonly<Record<string, string>> = { 'qingyu.io/prometheus': 'platform' };
/** The label Grafana's dashboard sidecar (kube-prometheus-stack) looks for. */
export const DASHBOARD_LABEL = { grafana_dashboard: '1' } as const;
/** `job` labels of the applications: their Service names (charts/apps/apps-chart.ts). */
export const APP_JOBS = { goBackend: 'go-backend', pythonAi: 'python-ai' } as const;

export interface MonitoringChartProps extends PlatformChartProps {
  /**
   * Base URL of the runbooks; alerts link to `<runbookBaseUrl>#<alert>`. Point it at the
   * rendered docs/runbooks.md of this repository.
   * @default 'docs/runbooks.md'
   */
  readonly runbookBaseUrl?: string;
}

/**
 * Observability. `monitoring.mode` decides who scrapes:
 * - `own`: the platform's own Prometheus (Prometheus Operator) limited to this namespace,
 *   kube-state-metrics for this namespace, and Grafana with the datasource and dashboards
 *   provisioned.
 * - `kube-prometheus-stack`: an existing stack; ServiceMonitors and rules carry its `release`
 *   label and its Prometheus in `monitoring.stackNamespace` is allowed to scrape.
 * In both modes the chart emits the alerting rules and the dashboards as ConfigMaps labelled
 * `grafana_dashboard: "1"` (the stack's Grafana sidecar picks them up; our Grafana mounts them).
 *
 * Create it before the charts with metrics (they need `scraper`); apply it after them.
 */
export class MonitoringChart extends PlatformChart {
  public readonly scraper: MetricsScraper;
  /** The platform's Prometheus, in `own` mode. */
  public readonly prometheus?: PlatformPrometheus;
  /** kube-state-metrics for this namespace, in `own` mode (a stack brings its own). */
  public readonly kubeStateMetrics?: KubeStateMetrics;
  /** Grafana, in `own` mode. */
  public readonly grafana?: Grafana;
  public readonly alerts: PlatformAlerts;
  /** One ConfigMap per dashboard. */
  public readonly dashboards: readonly kplus.k8s.KubeConfigMap[];
  private readonly stackPrometheus?: { readonly peer: Peer; readonly address: string };

  constructor(scope: Construct, id: string, props: MonitoringChartProps) {
    super(scope, id, props);
    const { config } = this;
    const m = config.monitoring;

    if (m.mode === 'own') {
      this.prometheus = new PlatformPrometheus(this, 'prometheus', {
        config: m.prometheus,
        namespace: config.namespace,
        selectionLabels: OWN_SELECTION_LABELS,
        apiServer: config.network.kubernetesApi,
      });
      this.scraper = this.prometheus.scraper;
    } else {
      const peer: Peer = {
        kind: 'namespace',
        namespace: m.stackNamespace,
        // The operator's label on every Prometheus pod it runs.
        podSelector: { 'app.kubernetes.io/name': 'prometheus' },
        description: 'kube-prometheus-stack Prometheus',
      };
      this.scraper = { peer, selectionLabels: { release: m.stackReleaseLabel } };
      this.stackPrometheus = {
        peer,
        // The chart's Prometheus Service: `<fullname>-prometheus`, fullname being the release name.
        address: `${m.stackReleaseLabel}-prometheus.${m.stackNamespace}.svc.${config.clusterDomain}:${PROMETHEUS_PORT.port}`,
      };
    }

    this.dashboards = platformDashboards({ namespace: config.namespace, apps: APP_JOBS }).map(
      (spec) =>
        new k8s.KubeConfigMap(this, `dashboard-${spec.uid}`, {
          metadata: {
            name: `grafana-dashboard-${spec.uid.replace(/^qingyu-/, '')}`,
            labels: { ...DASHBOARD_LABEL },
            annotations: { grafana_folder: 'Qingyu' },
          },
          data: { [`${spec.uid}.json`]: `${JSON.stringify(renderDashboard(spec), null, 2)}\n` },
        }),
    );

    if (this.prometheus) {
      this.kubeStateMetrics = new KubeStateMetrics(this, 'kube-state-metrics', {
        config: m.kubeStateMetrics,
        namespace: config.namespace,
        scraper: this.scraper,
        apiServer: config.network.kubernetesApi,
      });
      this.grafana = new Grafana(this, 'grafana', {
        config: m.grafana,
        prometheus: this.prometheus.endpoint(),
        dashboards: this.dashboards,
        scraper: this.scraper,
      });
    }

    this.alerts = new PlatformAlerts(this, 'alerts', {
      namespace: config.namespace,
      selectionLabels: this.scraper.selectionLabels,
      runbookBaseUrl: props.runbookBaseUrl,
      apps: APP_JOBS,
      scrapeJobs: () => this.scrapeJobs(),
      // Kubelet volume statistics need node access, which only a cluster-wide stack has.
      kubeletMetrics: m.mode === 'kube-prometheus-stack',
      ownPrometheus: m.mode === 'own',
    });
  }

  /** Records that `from` queries Prometheus and returns the `host:port` it connects to. */
  public connectToPrometheus(from: Component, purpose: string): string {
    if (this.prometheus) return from.connect(this.prometheus.endpoint(), purpose).address;
    const stack = this.stackPrometheus!;
    FlowTable.of(this).add({
      from: { kind: 'component', component: from },
      to: stack.peer,
      port: PROMETHEUS_PORT.port,
      protocol: 'TCP',
      purpose,
    });
    return stack.address;
  }

  /**
   * The `job` label of every target the scraper scrapes: the name of the metrics Service of
   * each component a ServiceMonitor was added for (the flow `addServiceMonitor` records).
   * The platform's own Prometheus is left out: it cannot alert on its own absence.
   */
  public scrapeJobs(): string[] {
    const jobs = new Set<string>();
    for (const flow of FlowTable.of(this).flows) {
      if (flow.from !== this.scraper.peer || flow.to.kind !== 'component') continue;
      const target = flow.to.component;
      if (target === this.prometheus) continue;
      const services = target.node
        .findAll()
        .filter((c): c is ApiObject => c instanceof ApiObject && c.kind === 'Service' && c.metadata.getLabel(METRICS_SERVICE_LABEL) === 'true');
      if (services.length === 0) jobs.add(target.name);
      for (const s of services) jobs.add(s.name);
    }
    return [...jobs].sort();
  }
}
