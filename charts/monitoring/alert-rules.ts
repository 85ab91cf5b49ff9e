/**
 * The platform's alerts as data: what an on-call engineer needs. Every alert has a severity, a
 * `for` that rides out blips, a summary and description, a runbook section in
 * docs/runbooks.md named after the alert, and two unit cases: series on which it fires (with
 * the labels and the rendered annotations it must carry) and series on which it stays quiet.
 * The cases become promtool tests (alert-tests.ts) that CI runs with a real promtool.
 *
 * Metric sources:
 * - `up`: Prometheus itself, for every ServiceMonitor target (`job` = the scraped Service's name).
 * - kube-state-metrics (`kube_*`): the platform's own, limited to its namespace, in `own` mode;
 *   the stack's in kube-prometheus-stack mode.
 * - kubelet and cAdvisor (`kubelet_volume_stats_*`, `container_cpu_cfs_*`): scraped from every
 *   node, which only a cluster-wide stack does; those rules exist only with `nodeMetrics`.
 * - percona/mongodb_exporter with `--compatible-mode` (`mongodb_up`, `mongodb_mongod_replset_*`,
 *   `mongodb_dbstats_*`), oliver006/redis_exporter (`redis_*`), etcd's, MinIO's, Prometheus's
 *   and Alertmanager's own metrics.
 * - The applications: `http_requests_total{status}` and `http_request_duration_seconds_bucket`,
 *   as the Gin and FastAPI Prometheus middleware (prometheus-fastapi-instrumentator) export them;
 *   `status=~"5.."` also matches the instrumentator's grouped `5xx`.
 */
import type { Inhibition } from './alert-routing';
import { alertmanagerAlerts, apiAlerts, prometheusAlerts, watchdog } from './alerts/platform';
import { etcdAlerts, minioAlerts, mongodbAlerts, redisAlerts, volumeAlerts } from './alerts/stores';
import { capacityAlerts, jobAlerts, targetAlerts, workloadAlerts } from './alerts/workloads';

export type Severity = 'critical' | 'warning' | 'none';

/** One input series of a unit case: metric name, labels (the namespace is added), promtool values (`0x30`, `1+1x60`). */
export type Series = readonly [metric: string, labels: Readonly<Record<string, string>>, values: string];

export interface AlertCase {
  readonly series: readonly Series[];
  /** Minutes after the first sample at which the rule is evaluated. @default the rule's `for` plus 10 */
  readonly atMinutes?: number;
}

export interface FiringCase extends AlertCase {
  /** Labels of the alert besides `severity`, `namespace` and the rule's own `labels`. */
  readonly labels: Readonly<Record<string, string>>;
  /** The summary as Prometheus renders it. @default the rule's, when it has no template */
  readonly summary?: string;
  /** The description as Prometheus renders it. @default the rule's, when it has no template */
  readonly description?: string;
}

export interface AlertRule {
  /** Alert name; also the runbook section (`docs/runbooks.md#<lowercased name>`). */
  readonly alert: string;
  readonly expr: string;
  /** How long the condition must hold before the alert fires. */
  readonly for: string;
  readonly severity: Severity;
  readonly summary: string;
  readonly description: string;
  /** Labels besides `severity` (those an `absent()` result cannot carry). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Series on which the alert fires, and what it then says. */
  readonly fires: FiringCase;
  /** Series on which it stays quiet: the healthy state next to the failing one (or why none exists). */
  readonly quiet: AlertCase | { readonly never: string };
}

export interface AlertGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

/** A CronJob that must succeed at least every `maxAgeMinutes` (a backup's RPO). */
export interface ScheduledJob {
  readonly cronJob: string;
  readonly maxAgeMinutes: number;
}

export interface AlertRuleOptions {
  readonly namespace: string;
  /** `job` values (Service names) of every scraped component: each gets a "down" alert. */
  readonly scrapeJobs: readonly string[];
  /**
   * The HTTP APIs (`job` values of the application services, in order): every one has an error
   * rate alert, and those that do not stream a latency alert.
   */
  readonly apis: ReadonlyArray<{ readonly job: string; readonly streams: boolean }>;
  /** The CronJobs whose last success must be recent. */
  readonly scheduledJobs: readonly ScheduledJob[];
  /** Emit the rules on kubelet and cAdvisor metrics (volumes filling up, CPU throttling). */
  readonly nodeMetrics: boolean;
  /** Emit the rules about the platform's own Prometheus and Alertmanager. */
  readonly ownPrometheus: boolean;
  /** The platform runs MinIO (its capacity is watched). */
  readonly minio: boolean;
}

/** What every group builder gets: the options, and `ns`, the namespace matcher. */
export interface AlertContext extends AlertRuleOptions {
  readonly ns: string;
}

export function platformAlertGroups(o: AlertRuleOptions): AlertGroup[] {
  const c: AlertContext = { ...o, ns: `namespace="${o.namespace}"` };
  return [
    targetAlerts(c),
    workloadAlerts(c),
    jobAlerts(c),
    capacityAlerts(c),
    ...(o.nodeMetrics ? [volumeAlerts(c)] : []),
    mongodbAlerts(c),
    redisAlerts(c),
    etcdAlerts(c),
    ...(o.minio ? [minioAlerts(c)] : []),
    apiAlerts(c),
    ...(o.ownPrometheus ? [prometheusAlerts(c), alertmanagerAlerts(c)] : []),
    watchdog(c),
  ].filter((g) => g.rules.length > 0);
}

/**
 * What one alert implies about others, so that a person gets the cause and not its echoes
 * (Alertmanager mutes a target while its source fires; the namespace must match too).
 */
export const PLATFORM_INHIBITIONS: readonly Inhibition[] = [
  {
    source: { alertname: 'QingyuMongoDBNoPrimary' },
    target: { alertname: 'QingyuMongoDBReplicaSetMemberUnhealthy|QingyuMongoDBInstanceDown|QingyuMongoDBReplicationLag' },
    equal: ['namespace'],
    why: 'without a primary, the members that are down or behind are the cause already paged for',
  },
  {
    source: { alertname: 'QingyuComponentDown' },
    target: { severity: 'warning' },
    equal: ['namespace', 'job'],
    why: 'a component that is down explains its own targets down, errors and latency',
  },
  {
    source: { alertname: 'QingyuPersistentVolumeAlmostFull' },
    target: { alertname: 'QingyuPersistentVolumeFillingUp' },
    equal: ['namespace', 'persistentvolumeclaim'],
    why: 'the almost-full page already says the volume is filling',
  },
];

/** A scraped target's labels, as a ServiceMonitor gives them to every series it scrapes. */
export function target(job: string, pod: string, container = job): Record<string, string> {
  return { job, pod, container, service: job, endpoint: 'metrics', instance: `10.0.0.1:9100` };
}
