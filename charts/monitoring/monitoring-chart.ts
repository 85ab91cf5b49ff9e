import { Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

import { PlatformConfig } from '../../config';
import { AlertmanagerConfig } from '../../imports/alertmanagerconfig-monitoring.coreos.com';
import { Component, Endpoint } from '../../lib/component';
import { fromSettings } from '../../lib/errors';
import { Peer } from '../../lib/flows';
import { metricsOf, Scraper, serviceMonitor } from '../../lib/metrics';
import { PlatformChart } from '../../lib/platform-chart';
import { alertmanagerConfigSpec } from './alert-routing';
import { PLATFORM_INHIBITIONS, ScheduledJob } from './alert-rules';
import { Grafana } from './grafana';
import { renderDashboard } from './grafana-dashboard';
import { KubeStateMetrics } from './kube-state-metrics';
import { PlatformAlertmanager } from './platform-alertmanager';
import { PlatformAlerts } from './platform-alerts';
import { platformDashboards } from './platform-dashboards';
import { PlatformPrometheus, PROMETHEUS_PORT } from './platform-prometheus';

const k8s = kplus.k8s;

/** Labels the platform's own Prometheus selects ServiceMonitors and PrometheusRules by. */
export const OWN_SELECTION_LABELS: Readonly<Record<string, string>> = { 'qingyu.io/prometheus': 'platform' };
/** Labels the platform's own Alertmanager selects its AlertmanagerConfig by. */
export const OWN_ALERTMANAGER_CONFIG_LABELS: Readonly<Record<string, string>> = { 'qingyu.io/alertmanager': 'platform' };
/** The label Grafana's dashboard sidecar (kube-prometheus-stack) looks for. */
export const DASHBOARD_LABEL = { grafana_dashboard: '1' } as const;

/** A CronJob with a window to succeed in (a BackupJob: its CronJob and its RPO). */
export interface Scheduled {
  readonly cronJob: { readonly name: string };
  readonly schedule: { readonly rpoMinutes: number };
}

/** An HTTP API the alerts and dashboards watch: an app whose metrics Service is its `job`. */
export interface HttpApi extends Component {
  /** Serves long-lived streams, so no latency alert. */
  readonly streams: boolean;
}

export interface MonitoringChartProps {
  readonly config: PlatformConfig;
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
 * Components join by object: `scrape(...)` gives each a ServiceMonitor in its own chart and a
 * "down" alert, `watchApis(...)` gives HTTP APIs their error-rate and latency alerts and panels.
 * Settings: `monitoring` in config/environments.ts.
 */
export class MonitoringChart extends PlatformChart {
  /** Who scrapes: the platform's Prometheus, or the stack's. */
  public readonly scraper: Scraper;
  /** Where PromQL queries go (go-backend's PROMETHEUS_ADDR): the platform's or the stack's Prometheus. */
  public readonly queryEndpoint: Endpoint;
  /** The platform's Prometheus, in `own` mode. */
  public readonly prometheus?: PlatformPrometheus;
  /** The platform's Alertmanager, in `own` mode. */
  public readonly alertmanager?: PlatformAlertmanager;
  /** Where alerts go (receivers, routes, inhibitions), for whichever Alertmanager selects it. */
  public readonly alertmanagerConfig: AlertmanagerConfig;
  /** kube-state-metrics for this namespace, in `own` mode (a stack brings its own). */
  public readonly kubeStateMetrics?: KubeStateMetrics;
  /** Grafana, in `own` mode. */
  public readonly grafana?: Grafana;
  public readonly alerts: PlatformAlerts;
  /** One ConfigMap per dashboard. */
  public readonly dashboards: readonly kplus.k8s.KubeConfigMap[];
  private readonly targets: Component[] = [];
  private readonly apis: HttpApi[] = [];
  private readonly scheduledJobs: ScheduledJob[] = [];

  constructor(scope: Construct, id: string, props: MonitoringChartProps) {
    super(scope, id, { platform: props.config });
    const { config } = props;
    const m = config.monitoring;
    const settings = `config ${config.environment}.monitoring`;
    const apiServer = config.network.kubernetesApi;

    if (m.mode === 'own') {
      const alertmanager = fromSettings(`${settings}.alertmanager`, () => new PlatformAlertmanager(this, 'alertmanager', {
        ...m.alertmanager,
        configSelector: OWN_ALERTMANAGER_CONFIG_LABELS,
        egress: m.alerting.egress,
      }));
      this.alertmanager = alertmanager;
      const prometheus = fromSettings(`${settings}.prometheus`, () => new PlatformPrometheus(this, 'prometheus', {
        ...m.prometheus,
        namespace: config.namespace,
        selectionLabels: OWN_SELECTION_LABELS,
        apiServer,
        alertmanager: { serviceName: alertmanager.service.name, endpoint: alertmanager.endpoint() },
      }));
      this.prometheus = prometheus;
      this.scraper = prometheus.scraper;
      this.queryEndpoint = prometheus.endpoint();
      // Itself too; the one target with no "down" alert, since it cannot report its own absence.
      serviceMonitor(prometheus, this.scraper);
    } else {
      const peer: Peer = {
        kind: 'namespace',
        namespace: m.stackNamespace,
        // The operator's label on every Prometheus pod it runs.
        podSelector: { 'app.kubernetes.io/name': 'prometheus' },
        description: 'kube-prometheus-stack Prometheus',
      };
      this.scraper = { peer, selectionLabels: { release: m.stackReleaseLabel } };
      // The chart's Prometheus Service: `<fullname>-prometheus`, fullname being the release name.
      const host = `${m.stackReleaseLabel}-prometheus.${m.stackNamespace}.svc.${config.clusterDomain}`;
      this.queryEndpoint = new Endpoint(peer, [host], PROMETHEUS_PORT.port, PROMETHEUS_PORT.name);
    }

    const specs = () => platformDashboards({
      namespace: config.namespace,
      apis: this.apis.map((a) => metricsOf(a).service),
      minio: config.milvus.objectStorage.type === 'minio',
    });
    // The dashboards' content is rendered at synthesis: the APIs they show join later (watchApis).
    this.dashboards = specs().map(
      (spec, i) =>
        new k8s.KubeConfigMap(this, `dashboard-${spec.uid}`, {
          metadata: {
            name: `grafana-dashboard-${spec.uid.replace(/^qingyu-/, '')}`,
            labels: { ...DASHBOARD_LABEL },
            annotations: { grafana_folder: 'Qingyu' },
          },
          data: Lazy.any({
            produce: () => {
              const rendered = specs()[i];
              return { [`${rendered.uid}.json`]: `${JSON.stringify(renderDashboard(rendered), null, 2)}\n` };
            },
          }),
        }),
    );

    if (this.prometheus) {
      const ksm = fromSettings(`${settings}.kubeStateMetrics`, () => new KubeStateMetrics(this, 'kube-state-metrics', {
        ...m.kubeStateMetrics,
        namespace: config.namespace,
        apiServer,
      }));
      this.kubeStateMetrics = ksm;
      this.grafana = fromSettings(`${settings}.grafana`, () => new Grafana(this, 'grafana', {
        ...m.grafana,
        prometheus: this.queryEndpoint,
        dashboards: this.dashboards,
      }));
      this.scrape(ksm, this.grafana, ...(this.alertmanager ? [this.alertmanager] : []));
    }

    this.alertmanagerConfig = new AlertmanagerConfig(this, 'alertmanager-config', {
      metadata: {
        name: 'qingyu',
        labels: { ...(m.mode === 'own' ? OWN_ALERTMANAGER_CONFIG_LABELS : m.stackAlertmanagerConfigLabels) },
      },
      spec: fromSettings(`${settings}.alerting`, () => alertmanagerConfigSpec(m.alerting, PLATFORM_INHIBITIONS)),
    });

    this.alerts = new PlatformAlerts(this, 'alerts', {
      namespace: config.namespace,
      selectionLabels: this.scraper.selectionLabels,
      runbookBaseUrl: props.runbookBaseUrl,
      targets: () => ({
        apis: this.apis.map((a) => ({ job: metricsOf(a).service, streams: a.streams })),
        scrapeJobs: [...new Set(this.targets.map((t) => metricsOf(t).service))].sort(),
        scheduledJobs: [...this.scheduledJobs],
      }),
      // Kubelet and cAdvisor metrics need node access, which only a cluster-wide stack has.
      nodeMetrics: m.mode === 'kube-prometheus-stack',
      ownPrometheus: m.mode === 'own',
      minio: config.milvus.objectStorage.type === 'minio',
    });
  }

  /**
   * Scrapes each target's metrics endpoint: a ServiceMonitor in the target's own scope (so in
   * its chart's file), the flow that lets the scraper in, and a "down" alert for its `job`.
   */
  public scrape(...targets: Component[]): void {
    for (const target of targets) {
      serviceMonitor(target, this.scraper);
      this.targets.push(target);
    }
  }

  /**
   * CronJobs that must succeed within their window (the backups, whose window is their RPO):
   * each gets an alert when its last success is older, or when it never succeeded.
   */
  public watchSchedules(...jobs: ReadonlyArray<Scheduled>): void {
    this.scheduledJobs.push(...jobs.map((j) => ({ cronJob: j.cronJob.name, maxAgeMinutes: j.schedule.rpoMinutes })));
  }

  /** The HTTP APIs: error-rate and latency alerts, and the API panels of the dashboards. */
  public watchApis(...apis: HttpApi[]): void {
    for (const api of apis) metricsOf(api);
    this.apis.push(...apis);
  }
}
