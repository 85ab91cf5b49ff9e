/**
 * The platform's alerts as data: what an on-call engineer needs on day one. Every alert has a
 * severity, a `for` that rides out blips, a summary and description, and a runbook section in
 * docs/runbooks.md named after the alert.
 *
 * Metric sources:
 * - `up`: Prometheus itself, for every ServiceMonitor target (`job` = the scraped Service's name).
 * - kube-state-metrics (`kube_*`): the platform's own, limited to its namespace, in `own` mode;
 *   the stack's in kube-prometheus-stack mode.
 * - kubelet (`kubelet_volume_stats_*`): scraped from every node, which only a cluster-wide stack
 *   does; these rules are only emitted when `kubeletMetrics` is true.
 * - percona/mongodb_exporter 0.40 with `--compatible-mode` (`mongodb_up`,
 *   `mongodb_mongod_replset_*`), oliver006/redis_exporter (`redis_*`), etcd's own metrics.
 * - The applications: `http_requests_total{status}` and `http_request_duration_seconds_bucket`,
 *   as the Gin and FastAPI Prometheus middleware (prometheus-fastapi-instrumentator) export them;
 *   `status=~"5.."` also matches the instrumentator's grouped `5xx`.
 */

export type Severity = 'critical' | 'warning';

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
}

export interface AlertGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
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
  /** Emit the rules on kubelet volume statistics. */
  readonly kubeletMetrics: boolean;
  /** Emit the rules about the platform's own Prometheus. */
  readonly ownPrometheus: boolean;
}

export function platformAlertGroups(o: AlertRuleOptions): AlertGroup[] {
  const ns = `namespace="${o.namespace}"`;
  const apps = `job=~"${o.apis.map((a) => a.job).join('|')}"`;
  const latencyJobs = o.apis.filter((a) => !a.streams).map((a) => a.job);
  const latencyJob = latencyJobs.length === 1 ? `job="${latencyJobs[0]}"` : `job=~"${latencyJobs.join('|')}"`;
  const groups: AlertGroup[] = [];

  groups.push({
    name: 'qingyu.targets',
    rules: [
      {
        alert: 'QingyuTargetDown',
        expr: `up{${ns}} == 0`,
        for: '5m',
        severity: 'warning',
        summary: '{{ $labels.job }} target {{ $labels.instance }} cannot be scraped',
        description: 'Prometheus has failed to scrape {{ $labels.pod }} ({{ $labels.job }}) for 5 minutes: the pod is down, not ready, or its metrics endpoint is broken.',
      },
      ...[...new Set(o.scrapeJobs)].sort().map(
        (job): AlertRule => ({
          alert: 'QingyuComponentDown',
          expr: `absent(up{${ns}, job="${job}"} == 1)`,
          for: '5m',
          severity: 'critical',
          summary: `${job} is down: no instance can be scraped`,
          description: `No instance of ${job} has answered a scrape for 5 minutes: every pod is down, or none exists.`,
          labels: { job },
        }),
      ),
    ],
  });

  groups.push({
    name: 'qingyu.workloads',
    rules: [
      {
        alert: 'QingyuDeploymentReplicasMismatch',
        expr: `kube_deployment_status_replicas_available{${ns}} < kube_deployment_spec_replicas{${ns}}`,
        for: '15m',
        severity: 'warning',
        summary: 'Deployment {{ $labels.deployment }} has fewer available pods than desired',
        description: 'Deployment {{ $labels.deployment }} has had {{ $value }} available replicas, fewer than desired, for 15 minutes (pods unschedulable, crashing or failing readiness).',
      },
      {
        alert: 'QingyuStatefulSetReplicasMismatch',
        expr: `kube_statefulset_status_replicas_ready{${ns}} < kube_statefulset_replicas{${ns}}`,
        for: '15m',
        severity: 'warning',
        summary: 'StatefulSet {{ $labels.statefulset }} has fewer ready members than desired',
        description: 'StatefulSet {{ $labels.statefulset }} has had {{ $value }} ready replicas, fewer than desired, for 15 minutes. A data store is running with reduced redundancy.',
      },
      {
        alert: 'QingyuPodCrashLooping',
        expr: `max_over_time(kube_pod_container_status_waiting_reason{${ns}, reason="CrashLoopBackOff"}[5m]) >= 1`,
        for: '15m',
        severity: 'warning',
        summary: 'Container {{ $labels.container }} of {{ $labels.pod }} is crash-looping',
        description: 'Container {{ $labels.container }} of pod {{ $labels.pod }} has been in CrashLoopBackOff for 15 minutes.',
      },
    ],
  });

  if (o.kubeletMetrics) {
    groups.push({
      name: 'qingyu.volumes',
      rules: [
        {
          alert: 'QingyuPersistentVolumeFillingUp',
          expr:
            `kubelet_volume_stats_available_bytes{${ns}} / kubelet_volume_stats_capacity_bytes{${ns}} < 0.15 ` +
            `and predict_linear(kubelet_volume_stats_available_bytes{${ns}}[6h], 4 * 24 * 3600) < 0`,
          for: '1h',
          severity: 'warning',
          summary: 'Volume {{ $labels.persistentvolumeclaim }} will be full within four days',
          description: 'PersistentVolumeClaim {{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} free and, at the rate of the last 6 hours, fills up within four days.',
        },
        {
          alert: 'QingyuPersistentVolumeAlmostFull',
          expr: `kubelet_volume_stats_available_bytes{${ns}} / kubelet_volume_stats_capacity_bytes{${ns}} < 0.05`,
          for: '5m',
          severity: 'critical',
          summary: 'Volume {{ $labels.persistentvolumeclaim }} is almost full',
          description: 'PersistentVolumeClaim {{ $labels.persistentvolumeclaim }} has only {{ $value | humanizePercentage }} free. The data store on it will stop accepting writes when it is full.',
        },
      ],
    });
  }

  groups.push({
    name: 'qingyu.mongodb',
    rules: [
      {
        alert: 'QingyuMongoDBInstanceDown',
        expr: `mongodb_up{${ns}} == 0`,
        for: '2m',
        severity: 'warning',
        summary: 'MongoDB member {{ $labels.pod }} does not answer its exporter',
        description: 'The mongodb_exporter sidecar of {{ $labels.pod }} cannot reach its mongod for 2 minutes.',
      },
      {
        alert: 'QingyuMongoDBReplicaSetMemberUnhealthy',
        expr: `min by (set, name) (mongodb_mongod_replset_member_health{${ns}}) == 0`,
        for: '2m',
        severity: 'warning',
        summary: 'Replica-set member {{ $labels.name }} of {{ $labels.set }} is unhealthy',
        description: 'A member of {{ $labels.set }} reports {{ $labels.name }} as down for 2 minutes. The set keeps its majority with one member down; a second failure stops writes.',
      },
      {
        alert: 'QingyuMongoDBNoPrimary',
        expr: `max by (set) (mongodb_mongod_replset_my_state{${ns}} == bool 1) == 0`,
        for: '1m',
        severity: 'critical',
        summary: 'Replica set {{ $labels.set }} has no primary',
        description: 'No member of {{ $labels.set }} has been PRIMARY for 1 minute: every write from go-backend and python-ai fails.',
      },
    ],
  });

  groups.push({
    name: 'qingyu.redis',
    rules: [
      {
        alert: 'QingyuRedisDown',
        expr: `redis_up{${ns}} == 0`,
        for: '1m',
        severity: 'critical',
        summary: 'Redis {{ $labels.pod }} is down',
        description: 'redis_exporter cannot reach Redis on {{ $labels.pod }} for 1 minute: caching and sessions are failing.',
      },
      {
        alert: 'QingyuRedisMemoryNearLimit',
        expr: `redis_memory_used_bytes{${ns}} / (redis_memory_max_bytes{${ns}} > 0) > 0.9`,
        for: '10m',
        severity: 'warning',
        summary: 'Redis {{ $labels.pod }} uses {{ $value | humanizePercentage }} of maxmemory',
        description: 'Redis {{ $labels.pod }} has used more than 90% of maxmemory for 10 minutes; it evicts keys or rejects writes, depending on its maxmemory-policy.',
      },
      {
        alert: 'QingyuRedisEvictingKeys',
        expr: `increase(redis_evicted_keys_total{${ns}}[10m]) > 0`,
        for: '0m',
        severity: 'warning',
        summary: 'Redis {{ $labels.pod }} evicted {{ $value | humanize }} keys in 10 minutes',
        description: 'Redis reached maxmemory and evicted keys under its maxmemory-policy: cache entries, and with a volatile-* policy also user sessions before their expiry, which logs those users out.',
      },
    ],
  });

  groups.push({
    name: 'qingyu.etcd',
    rules: [
      {
        alert: 'QingyuEtcdNoLeader',
        expr: `etcd_server_has_leader{${ns}} == 0`,
        for: '1m',
        severity: 'critical',
        summary: 'etcd member {{ $labels.pod }} has no leader',
        description: 'etcd member {{ $labels.pod }} has had no leader for 1 minute: Milvus cannot read or write its metadata.',
      },
      {
        alert: 'QingyuEtcdDatabaseNearQuota',
        expr: `etcd_mvcc_db_total_size_in_bytes{${ns}} / etcd_server_quota_backend_bytes{${ns}} > 0.8`,
        for: '10m',
        severity: 'warning',
        summary: 'etcd {{ $labels.pod }} database is at {{ $value | humanizePercentage }} of its quota',
        description: 'At the backend quota etcd raises a NOSPACE alarm and accepts only reads and deletes, which stops Milvus.',
      },
    ],
  });

  groups.push({
    name: 'qingyu.api',
    rules: [
      {
        alert: 'QingyuApiHighErrorRate',
        expr:
          `sum by (job) (rate(http_requests_total{${ns}, ${apps}, status=~"5.."}[5m])) ` +
          `/ sum by (job) (rate(http_requests_total{${ns}, ${apps}}[5m])) > 0.05`,
        for: '10m',
        severity: 'critical',
        summary: '{{ $labels.job }} answers {{ $value | humanizePercentage }} of requests with 5xx',
        description: 'More than 5% of the requests to {{ $labels.job }} have failed with a server error for 10 minutes.',
      },
      {
        alert: 'QingyuApiHighLatency',
        // Streaming APIs (python-ai) are left out: their responses are long by design.
        expr: `histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket{${ns}, ${latencyJob}}[5m]))) > 1`,
        for: '15m',
        severity: 'warning',
        summary: '{{ $labels.job }} p95 latency is {{ $value | humanizeDuration }}',
        description: 'The 95th percentile of {{ $labels.job }} request durations has been above 1 second for 15 minutes.',
      },
    ],
  });

  if (o.ownPrometheus) {
    groups.push({
      name: 'qingyu.prometheus',
      rules: [
        {
          alert: 'QingyuPrometheusConfigReloadFailed',
          expr: `max_over_time(prometheus_config_last_reload_successful{${ns}}[5m]) == 0`,
          for: '10m',
          severity: 'warning',
          summary: 'Prometheus {{ $labels.pod }} cannot load its configuration',
          description: 'The platform Prometheus keeps running on its previous configuration; new ServiceMonitors and rules are not applied.',
        },
        {
          alert: 'QingyuPrometheusRuleEvaluationFailures',
          expr: `increase(prometheus_rule_evaluation_failures_total{${ns}}[5m]) > 0`,
          for: '15m',
          severity: 'warning',
          summary: 'Prometheus {{ $labels.pod }} fails to evaluate rules',
          description: 'Rule evaluations have been failing for 15 minutes: alerts of the group {{ $labels.rule_group }} may not fire.',
        },
      ],
    });
  }

  return groups;
}
