import { WATCHDOG } from '../alert-routing';
import { AlertContext, AlertGroup, AlertRule, target } from '../alert-rules';

/** The HTTP APIs: error rate, and latency of those that do not stream. */
export function apiAlerts(c: AlertContext): AlertGroup {
  const { ns } = c;
  const jobs = c.apis.map((a) => a.job);
  const rules: AlertRule[] = [];
  if (jobs.length > 0) {
    const apps = `job=~"${jobs.join('|')}"`;
    const job = jobs[0];
    const requests = (status: string, values: string) =>
      ['http_requests_total', { ...target(job, `${job}-abc`, job), method: 'GET', handler: '/api/v1/items', status }, values] as const;
    rules.push({
      alert: 'QingyuApiHighErrorRate',
      expr:
        `sum by (job) (rate(http_requests_total{${ns}, ${apps}, status=~"5.."}[5m])) ` +
        `/ sum by (job) (rate(http_requests_total{${ns}, ${apps}}[5m])) > 0.05`,
      for: '10m',
      severity: 'critical',
      summary: '{{ $labels.job }} answers {{ $value | humanizePercentage }} of requests with 5xx',
      description: 'More than 5% of the requests to {{ $labels.job }} have failed with a server error for 10 minutes.',
      fires: {
        series: [requests('200', '0+90x30'), requests('500', '0+10x30')],
        labels: { job },
        summary: `${job} answers 10% of requests with 5xx`,
        description: `More than 5% of the requests to ${job} have failed with a server error for 10 minutes.`,
      },
      quiet: { series: [requests('200', '0+99x30'), requests('500', '0+1x30')] },
    });
  }
  const latencyJobs = c.apis.filter((a) => !a.streams).map((a) => a.job);
  if (latencyJobs.length > 0) {
    const latencyJob = latencyJobs.length === 1 ? `job="${latencyJobs[0]}"` : `job=~"${latencyJobs.join('|')}"`;
    const job = latencyJobs[0];
    const bucket = (le: string, values: string) =>
      ['http_request_duration_seconds_bucket', { ...target(job, `${job}-abc`, job), method: 'GET', le }, values] as const;
    rules.push({
      alert: 'QingyuApiHighLatency',
      // Streaming APIs are left out: their responses are long by design.
      expr: `histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket{${ns}, ${latencyJob}}[5m]))) > 1`,
      for: '15m',
      severity: 'warning',
      summary: '{{ $labels.job }} p95 latency is {{ $value | humanizeDuration }}',
      description: 'The 95th percentile of {{ $labels.job }} request durations has been above 1 second for 15 minutes.',
      fires: {
        // Every request takes between 2 and 4 seconds.
        series: [bucket('1', '0x40'), bucket('2', '0x40'), bucket('4', '0+100x40'), bucket('+Inf', '0+100x40')],
        labels: { job },
        summary: `${job} p95 latency is 3.9s`,
        description: `The 95th percentile of ${job} request durations has been above 1 second for 15 minutes.`,
      },
      quiet: { series: [bucket('1', '0+100x40'), bucket('2', '0+100x40'), bucket('4', '0+100x40'), bucket('+Inf', '0+100x40')] },
    });
  }
  return { name: 'qingyu.api', rules };
}

/** The platform's own Prometheus: its configuration, its rules, and its way to Alertmanager. */
export function prometheusAlerts(c: AlertContext): AlertGroup {
  const { ns } = c;
  const prometheus = target('prometheus', 'prometheus-platform-0');
  return {
    name: 'qingyu.prometheus',
    rules: [
      {
        alert: 'QingyuPrometheusConfigReloadFailed',
        expr: `max_over_time(prometheus_config_last_reload_successful{${ns}}[5m]) == 0`,
        for: '10m',
        severity: 'warning',
        summary: 'Prometheus {{ $labels.pod }} cannot load its configuration',
        description: 'The platform Prometheus keeps running on its previous configuration; new ServiceMonitors and rules are not applied.',
        fires: {
          series: [['prometheus_config_last_reload_successful', prometheus, '0x30']],
          labels: prometheus,
          summary: 'Prometheus prometheus-platform-0 cannot load its configuration',
        },
        quiet: { series: [['prometheus_config_last_reload_successful', prometheus, '1x30']] },
      },
      {
        alert: 'QingyuPrometheusRuleEvaluationFailures',
        expr: `increase(prometheus_rule_evaluation_failures_total{${ns}}[5m]) > 0`,
        for: '15m',
        severity: 'warning',
        summary: 'Prometheus {{ $labels.pod }} fails to evaluate rules',
        description: 'Rule evaluations have been failing for 15 minutes: alerts of the group {{ $labels.rule_group }} may not fire.',
        fires: {
          series: [['prometheus_rule_evaluation_failures_total', { ...prometheus, rule_group: '/etc/prometheus/rules/qingyu.yaml;qingyu.api' }, '0+1x40']],
          labels: { ...prometheus, rule_group: '/etc/prometheus/rules/qingyu.yaml;qingyu.api' },
          summary: 'Prometheus prometheus-platform-0 fails to evaluate rules',
          description: 'Rule evaluations have been failing for 15 minutes: alerts of the group /etc/prometheus/rules/qingyu.yaml;qingyu.api may not fire.',
        },
        quiet: { series: [['prometheus_rule_evaluation_failures_total', { ...prometheus, rule_group: '/etc/prometheus/rules/qingyu.yaml;qingyu.api' }, '0x40']] },
      },
      {
        alert: 'QingyuPrometheusNotConnectedToAlertmanager',
        expr: `max by (namespace, pod) (prometheus_notifications_alertmanagers_discovered{${ns}}) < 1`,
        for: '10m',
        severity: 'critical',
        summary: 'Prometheus {{ $labels.pod }} knows no Alertmanager',
        description: 'Prometheus {{ $labels.pod }} has discovered no Alertmanager for 10 minutes: every alert it fires goes nowhere (this one reaches you only through another Prometheus replica, or the dead man\'s switch).',
        fires: {
          series: [['prometheus_notifications_alertmanagers_discovered', prometheus, '0x30']],
          labels: { pod: 'prometheus-platform-0' },
          summary: 'Prometheus prometheus-platform-0 knows no Alertmanager',
          description: 'Prometheus prometheus-platform-0 has discovered no Alertmanager for 10 minutes: every alert it fires goes nowhere (this one reaches you only through another Prometheus replica, or the dead man\'s switch).',
        },
        quiet: { series: [['prometheus_notifications_alertmanagers_discovered', prometheus, '2x30']] },
      },
      {
        alert: 'QingyuPrometheusNotificationsFailing',
        expr: `sum by (namespace, pod) (rate(prometheus_notifications_errors_total{${ns}}[5m])) `
          + `/ sum by (namespace, pod) (rate(prometheus_notifications_sent_total{${ns}}[5m])) > 0.01`,
        for: '15m',
        severity: 'warning',
        summary: 'Prometheus {{ $labels.pod }} fails to send {{ $value | humanizePercentage }} of its alerts to Alertmanager',
        description: 'Alerts that do not reach Alertmanager are not notified. Check the Alertmanager pods and the NetworkPolicy between them.',
        fires: {
          series: [
            ['prometheus_notifications_errors_total', { ...prometheus, alertmanager: 'http://10.0.0.2:9093/api/v2/alerts' }, '0+10x40'],
            ['prometheus_notifications_sent_total', { ...prometheus, alertmanager: 'http://10.0.0.2:9093/api/v2/alerts' }, '0+100x40'],
          ],
          labels: { pod: 'prometheus-platform-0' },
          summary: 'Prometheus prometheus-platform-0 fails to send 10% of its alerts to Alertmanager',
        },
        quiet: {
          series: [
            ['prometheus_notifications_errors_total', { ...prometheus, alertmanager: 'http://10.0.0.2:9093/api/v2/alerts' }, '0x40'],
            ['prometheus_notifications_sent_total', { ...prometheus, alertmanager: 'http://10.0.0.2:9093/api/v2/alerts' }, '0+100x40'],
          ],
        },
      },
    ],
  };
}

/** The platform's own Alertmanager: the last step before a person. */
export function alertmanagerAlerts(c: AlertContext): AlertGroup {
  const { ns } = c;
  const am = target('alertmanager', 'alertmanager-platform-0');
  return {
    name: 'qingyu.alertmanager',
    rules: [
      {
        alert: 'QingyuAlertmanagerNotificationsFailing',
        expr: `sum by (namespace, pod, integration) (rate(alertmanager_notifications_failed_total{${ns}}[5m])) > 0`,
        for: '10m',
        severity: 'critical',
        summary: 'Alertmanager {{ $labels.pod }} fails to deliver to {{ $labels.integration }}',
        description: 'Notifications through {{ $labels.integration }} have been failing for 10 minutes: the receiver rejects them (a revoked key or URL in the Secret alertmanager-receivers), or the NetworkPolicy or a proxy blocks the way out.',
        fires: {
          series: [['alertmanager_notifications_failed_total', { ...am, integration: 'pagerduty', reason: 'clientError' }, '0+1x30']],
          labels: { pod: 'alertmanager-platform-0', integration: 'pagerduty' },
          summary: 'Alertmanager alertmanager-platform-0 fails to deliver to pagerduty',
          description: 'Notifications through pagerduty have been failing for 10 minutes: the receiver rejects them (a revoked key or URL in the Secret alertmanager-receivers), or the NetworkPolicy or a proxy blocks the way out.',
        },
        quiet: { series: [['alertmanager_notifications_failed_total', { ...am, integration: 'pagerduty', reason: 'clientError' }, '3x30']] },
      },
      {
        alert: 'QingyuAlertmanagerConfigReloadFailed',
        expr: `max_over_time(alertmanager_config_last_reload_successful{${ns}}[5m]) == 0`,
        for: '10m',
        severity: 'warning',
        summary: 'Alertmanager {{ $labels.pod }} cannot load its configuration',
        description: 'Alertmanager keeps routing with its previous configuration: a changed receiver or route is not in effect.',
        fires: {
          series: [['alertmanager_config_last_reload_successful', am, '0x30']],
          labels: am,
          summary: 'Alertmanager alertmanager-platform-0 cannot load its configuration',
        },
        quiet: { series: [['alertmanager_config_last_reload_successful', am, '1x30']] },
      },
    ],
  };
}

/** Always firing, routed to the dead man's switch: silence from it means the pipeline is broken. */
export function watchdog(c: AlertContext): AlertGroup {
  return {
    name: 'qingyu.watchdog',
    rules: [
      {
        alert: WATCHDOG,
        expr: 'vector(1)',
        for: '0m',
        severity: 'none',
        summary: 'Alerting works: this alert always fires',
        description: 'The Watchdog fires all the time so that the dead man\'s switch receives it every few minutes; when the switch stops receiving it, Prometheus, Alertmanager or the way between them and the receiver is broken.',
        labels: { namespace: c.namespace },
        fires: { series: [], labels: {} },
        quiet: { never: 'it always fires: its silence is the failure, and the dead man\'s switch outside the platform detects it' },
      },
    ],
  };
}
