import { Lazy } from 'cdk8s';
import { Construct } from 'constructs';

import { PrometheusRule, PrometheusRuleSpecGroupsRulesExpr } from '../../imports/prometheusrule-monitoring.coreos.com';
import { AlertGroup, AlertRuleOptions, platformAlertGroups } from './alert-rules';

export interface PlatformAlertsProps {
  /** @default 'qingyu-alerts' */
  readonly name?: string;
  readonly namespace: string;
  /** Labels the Prometheus selects PrometheusRules by. */
  readonly selectionLabels: Readonly<Record<string, string>>;
  /**
   * Where the runbooks live; each alert links to `<runbookBaseUrl>#<alert name in lowercase>`.
   * @default 'docs/runbooks.md' (the path in this repository)
   */
  readonly runbookBaseUrl?: string;
  /**
   * The HTTP APIs and the `job` of every scraped component, read at synthesis: the monitoring
   * unit learns them after this construct exists (`scrape`, `watchApis`).
   */
  readonly targets: () => Pick<AlertRuleOptions, 'apis' | 'scrapeJobs' | 'scheduledJobs'>;
  /** Include the rules on kubelet and cAdvisor metrics (volumes filling up, CPU throttling). */
  readonly nodeMetrics: boolean;
  /** Include the rules about the platform's own Prometheus and Alertmanager. */
  readonly ownPrometheus: boolean;
  /** The platform runs MinIO. */
  readonly minio: boolean;
}

/**
 * The platform's alerting rules (charts/monitoring/alert-rules.ts) as one PrometheusRule, labelled for the
 * Prometheus that evaluates them. Every alert carries `severity` and `namespace` labels (for
 * Alertmanager routing, which matches on both) and `summary`, `description` and `runbook_url`
 * annotations.
 */
export class PlatformAlerts extends Construct {
  public readonly rule: PrometheusRule;
  public readonly runbookBaseUrl: string;
  private readonly props: PlatformAlertsProps;

  constructor(scope: Construct, id: string, props: PlatformAlertsProps) {
    super(scope, id);
    this.props = props;
    this.runbookBaseUrl = props.runbookBaseUrl ?? 'docs/runbooks.md';
    if (this.runbookBaseUrl.includes('#')) {
      throw new Error(`'runbookBaseUrl' must not contain a fragment ('#'), got '${this.runbookBaseUrl}'`);
    }
    this.rule = new PrometheusRule(this, 'rule', {
      metadata: { name: props.name ?? 'qingyu-alerts', labels: { ...props.selectionLabels } },
      spec: { groups: Lazy.any({ produce: () => this.renderGroups() }) as any },
    });
  }

  /** The alert groups as rendered (evaluates the scrape jobs now). */
  public get groups(): AlertGroup[] {
    return platformAlertGroups({
      namespace: this.props.namespace,
      ...this.props.targets(),
      nodeMetrics: this.props.nodeMetrics,
      ownPrometheus: this.props.ownPrometheus,
      minio: this.props.minio,
    });
  }

  private renderGroups() {
    return this.groups.map((g) => ({
      name: g.name,
      rules: g.rules.map((r) => ({
        alert: r.alert,
        expr: PrometheusRuleSpecGroupsRulesExpr.fromString(r.expr),
        for: r.for,
        labels: { severity: r.severity, namespace: this.props.namespace, ...r.labels },
        annotations: {
          summary: r.summary,
          description: r.description,
          runbook_url: `${this.runbookBaseUrl}#${r.alert.toLowerCase()}`,
        },
      })),
    }));
  }
}
