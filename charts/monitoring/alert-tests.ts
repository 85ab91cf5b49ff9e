/**
 * The proofs of the alerting, as the real tools read them (verify/alerting runs them): the
 * promtool unit tests of every alert, built from each rule's firing and quiet cases, and the
 * routing and inhibition cases of an environment, built from its configuration (what it says
 * must happen), never from the rendered Alertmanager configuration under test.
 */
import { AlertingConfig, DEADMANS_SWITCH, NO_RECEIVER, ReceiverRole, WATCHDOG } from './alert-routing';
import { AlertCase, AlertGroup, AlertRule, PLATFORM_INHIBITIONS } from './alert-rules';

const TEMPLATE = /\{\{/;

/** Minutes in a Prometheus duration (`15m`, `1h`, `0m`). */
function minutes(duration: string): number {
  const m = /^(\d+)([smh])$/.exec(duration);
  if (!m) throw new Error(`unsupported duration '${duration}'`);
  return Number(m[1]) * { s: 1 / 60, m: 1, h: 60 }[m[2] as 's' | 'm' | 'h'];
}

function seriesOf(c: AlertCase, namespace: string): Array<{ series: string; values: string }> {
  return c.series.map(([metric, labels, values]) => {
    const all = { namespace, ...labels };
    const body = Object.entries(all).map(([k, v]) => `${k}="${v}"`).join(', ');
    return { series: `${metric}{${body}}`, values };
  });
}

/** The annotations of a firing case, as Prometheus renders them. */
export function expectedAnnotations(rule: AlertRule, runbookBaseUrl: string): Record<string, string> {
  const text = (field: 'summary' | 'description'): string => {
    const given = rule.fires[field];
    if (given !== undefined) return given;
    if (TEMPLATE.test(rule[field])) throw new Error(`${rule.alert}: its ${field} has templates, so its firing case must say how it renders`);
    return rule[field];
  };
  return { summary: text('summary'), description: text('description'), runbook_url: `${runbookBaseUrl}#${rule.alert.toLowerCase()}` };
}

/** The labels of a firing case's alert (promtool adds `alertname`). */
export function expectedLabels(rule: AlertRule, namespace: string): Record<string, string> {
  return { ...rule.fires.labels, severity: rule.severity, namespace, ...rule.labels };
}

/**
 * promtool's unit-test file for `rules.yaml`: per rule, one test where it fires (with exactly
 * the expected labels and annotations) and one where it stays quiet. Rules that share an alert
 * name (one "down" rule per component) get each other's quiet series, so that only the rule
 * under test fires.
 */
export function promtoolTests(groups: readonly AlertGroup[], o: { namespace: string; runbookBaseUrl: string }): Record<string, unknown> {
  const rules = groups.flatMap((g) => g.rules);
  const siblingsQuiet = (rule: AlertRule) => rules
    .filter((r) => r !== rule && r.alert === rule.alert)
    .flatMap((r) => ('never' in r.quiet ? [] : seriesOf(r.quiet, o.namespace)));
  const at = (rule: AlertRule, c: AlertCase) => `${c.atMinutes ?? minutes(rule.for) + 10}m`;
  const tests = rules.flatMap((rule) => {
    const firing = {
      interval: '1m',
      input_series: [...seriesOf(rule.fires, o.namespace), ...siblingsQuiet(rule)],
      alert_rule_test: [{
        eval_time: at(rule, rule.fires),
        alertname: rule.alert,
        exp_alerts: [{ exp_labels: expectedLabels(rule, o.namespace), exp_annotations: expectedAnnotations(rule, o.runbookBaseUrl) }],
      }],
    };
    if ('never' in rule.quiet) return [firing];
    const quiet = {
      interval: '1m',
      input_series: [...seriesOf(rule.quiet, o.namespace), ...siblingsQuiet(rule)],
      alert_rule_test: [{ eval_time: at(rule, rule.quiet), alertname: rule.alert, exp_alerts: [] }],
    };
    return [firing, quiet];
  });
  return { rule_files: ['rules.yaml'], evaluation_interval: '1m', tests };
}

/** A routing case of verify/alerting: the alert's labels and the receivers it must reach, in order. */
export interface RouteCase {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly receivers: readonly string[];
}

/** A live case: alerts fired together, what is delivered (to webhook receivers) and what is muted. */
export interface InhibitionScenario {
  readonly name: string;
  readonly fire: ReadonlyArray<{ readonly labels: Readonly<Record<string, string>> }>;
  readonly expect: {
    readonly delivered: ReadonlyArray<{ readonly receiver: string; readonly alertname: string }>;
    readonly suppressed: readonly string[];
  };
}

/** How the operator names a receiver of the AlertmanagerConfig `configName`. */
export const receiverName = (namespace: string, configName: string, receiver: string) => `${namespace}/${configName}/${receiver}`;

/** The operator's base configuration routes everything else to its empty receiver. */
const OPERATOR_ROOT_RECEIVER = 'null';

/**
 * What the configuration says must happen to each kind of alert: the Watchdog to the dead
 * man's switch, each severity to its receivers in the configured order, an alert of no known
 * severity to the default, and another namespace's alerts past the platform's routes.
 */
export function routeCases(config: AlertingConfig, namespace: string, configName: string): RouteCase[] {
  const name = (r: string) => receiverName(namespace, configName, r);
  const names = (roles: readonly ReceiverRole[]) => roles.map(name);
  const fallback = config.routes.warning[0] ?? config.routes.critical[0];
  const alert = (alertname: string, severity: string, extra: Record<string, string> = {}) =>
    ({ alertname, severity, namespace, job: 'redis', ...extra });
  return [
    { name: 'the Watchdog reaches the dead man\'s switch', labels: alert(WATCHDOG, 'none'),
      receivers: [name(config.receivers.deadmansSwitch ? DEADMANS_SWITCH : NO_RECEIVER)] },
    { name: 'critical reaches routes.critical, in order', labels: alert('QingyuComponentDown', 'critical'), receivers: names(config.routes.critical) },
    {
      name: 'warning reaches routes.warning, in order',
      labels: alert('QingyuTargetDown', 'warning', { pod: 'redis-0' }),
      receivers: config.routes.warning.length > 0 ? names(config.routes.warning) : [name(fallback)],
    },
    { name: 'an alert of no known severity reaches the default receiver', labels: alert('QingyuSomethingNew', 'info'), receivers: [name(fallback)] },
    { name: 'another namespace\'s alert passes the platform\'s routes by', labels: alert('QingyuComponentDown', 'critical', { namespace: `${namespace}-other` }),
      receivers: [OPERATOR_ROOT_RECEIVER] },
  ];
}

/**
 * One live scenario per inhibition of PLATFORM_INHIBITIONS: the source fires with a target it
 * mutes and an alert it must not mute (another job or volume). Deliveries are asserted for the
 * receivers that are webhooks (the only ones a test can record), suppression for all.
 */
export function inhibitionScenarios(config: AlertingConfig, namespace: string, configName: string): InhibitionScenario[] {
  const webhook = (role: ReceiverRole) => {
    const receiver = config.receivers[role];
    return receiver !== undefined && 'type' in receiver && receiver.type === 'webhook';
  };
  const fallback = config.routes.warning[0] ?? config.routes.critical[0];
  const to = (severity: 'critical' | 'warning', alertname: string) => {
    const roles = config.routes[severity].length > 0 ? config.routes[severity] : [fallback];
    return roles.filter(webhook).map((r) => ({ receiver: receiverName(namespace, configName, r), alertname }));
  };
  const a = (alertname: string, severity: string, extra: Record<string, string>) =>
    ({ labels: { alertname, severity, namespace, ...extra } });
  const covered = new Set(PLATFORM_INHIBITIONS.map((i) => Object.values(i.source)[0]));
  const scenarios: InhibitionScenario[] = [
    {
      name: 'no primary mutes the members down and behind, not the primary page',
      fire: [
        a('QingyuMongoDBNoPrimary', 'critical', { set: 'rs0', job: 'mongodb' }),
        a('QingyuMongoDBReplicaSetMemberUnhealthy', 'warning', { set: 'rs0', name: 'mongodb-2.mongodb-headless:27017' }),
        a('QingyuMongoDBInstanceDown', 'warning', { pod: 'mongodb-2', job: 'mongodb' }),
      ],
      expect: { delivered: to('critical', 'QingyuMongoDBNoPrimary'), suppressed: ['QingyuMongoDBInstanceDown', 'QingyuMongoDBReplicaSetMemberUnhealthy'] },
    },
    {
      name: 'a component down mutes its own warnings, not another component\'s',
      fire: [
        a('QingyuComponentDown', 'critical', { job: 'redis' }),
        a('QingyuRedisMemoryNearLimit', 'warning', { job: 'redis', pod: 'redis-0' }),
        a('QingyuEtcdDatabaseNearQuota', 'warning', { job: 'etcd', pod: 'etcd-0' }),
      ],
      expect: {
        delivered: [...to('critical', 'QingyuComponentDown'), ...to('warning', 'QingyuEtcdDatabaseNearQuota')],
        suppressed: ['QingyuRedisMemoryNearLimit'],
      },
    },
    {
      name: 'an almost-full volume mutes its own filling-up warning, not another volume\'s',
      fire: [
        a('QingyuPersistentVolumeAlmostFull', 'critical', { persistentvolumeclaim: 'data-mongodb-0' }),
        a('QingyuPersistentVolumeFillingUp', 'warning', { persistentvolumeclaim: 'data-mongodb-0' }),
        a('QingyuMongoDBReplicationLag', 'warning', { set: 'rs0', name: 'mongodb-1.mongodb-headless:27017' }),
      ],
      expect: {
        delivered: [...to('critical', 'QingyuPersistentVolumeAlmostFull'), ...to('warning', 'QingyuMongoDBReplicationLag')],
        suppressed: ['QingyuPersistentVolumeFillingUp'],
      },
    },
  ];
  const tested = new Set(scenarios.map((s) => s.fire[0].labels.alertname));
  for (const source of covered) {
    if (!tested.has(source)) throw new Error(`the inhibition by ${source} has no live scenario in inhibitionScenarios()`);
  }
  return scenarios;
}
