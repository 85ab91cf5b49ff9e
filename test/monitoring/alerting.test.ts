import { Testing } from 'cdk8s';

import { AlertingConfig, alertmanagerConfigSpec } from '../../charts/monitoring/alert-routing';
import { PLATFORM_INHIBITIONS, platformAlertGroups } from '../../charts/monitoring/alert-rules';
import { expectedAnnotations, expectedLabels, inhibitionScenarios, promtoolTests, routeCases } from '../../charts/monitoring/alert-tests';
import { MonitoringChart } from '../../charts/monitoring/monitoring-chart';
import { loadConfig, PlatformConfig } from '../../config';
import { SECRETS } from '../../lib/secrets';
import { compositionError, withSection } from '../support/fixtures';
import { ALL_ENVIRONMENTS, find, K8sObject, ofKind, synthesize } from '../support/synth';

// Where alerts go, and proof that each alert can fire: the Alertmanager of `own` mode, the
// AlertmanagerConfig of both modes, and the unit cases every alert carries (verify/alerting
// runs them with promtool, amtool and a real Alertmanager).

const production = loadConfig({ QINGYU_ENV: 'production' });
const stack = synthesize('production with gateway and kube-prometheus-stack');
const withMonitoring = (m: Partial<PlatformConfig['monitoring']>) => withSection(production, 'monitoring', { ...production.monitoring, ...m });
const alerting = (a: Partial<AlertingConfig>) => withMonitoring({ alerting: { ...production.monitoring.alerting, ...a } });

/** The alert groups of one mode, a scheduled job included. */
const groupsOf = (own: boolean) => platformAlertGroups({
  namespace: 'qingyu',
  scrapeJobs: ['redis', 'mongodb'],
  apis: [{ job: 'go-backend', streams: false }, { job: 'python-ai', streams: true }],
  scheduledJobs: [{ cronJob: 'mongodb-backup', maxAgeMinutes: 1500 }],
  nodeMetrics: !own,
  ownPrometheus: own,
  minio: true,
});
/** Every rule either mode can emit. */
const ALL_RULES = [...groupsOf(true), ...groupsOf(false)].flatMap((g) => g.rules);

describe('every alert carries its proof', () => {
  test.each(ALL_RULES.map((r) => [r.alert, r]))('%s fires with labels its annotations can render', (_name, rule) => {
    const labels = expectedLabels(rule, 'qingyu');
    for (const field of ['summary', 'description'] as const) {
      for (const [, label] of rule[field].matchAll(/\$labels\.([a-zA-Z_]+)/g)) {
        expect([rule.alert, field, label, label in labels]).toEqual([rule.alert, field, label, true]);
      }
    }
    expect(() => expectedAnnotations(rule, 'docs/runbooks.md')).not.toThrow();
    expect(rule.fires.series.length > 0 || rule.expr === 'vector(1)').toBe(true);
  });

  test('only the Watchdog has no quiet case, and it says why', () => {
    const never = ALL_RULES.filter((r) => 'never' in r.quiet);
    expect([...new Set(never.map((r) => r.alert))]).toEqual(['Watchdog']);
  });

  test('promtool gets a firing and a quiet test per rule, and the quiet series of rules that share its name', () => {
    const groups = groupsOf(true);
    const rules = groups.flatMap((g) => g.rules);
    const tests = promtoolTests(groups, { namespace: 'qingyu', runbookBaseUrl: 'docs/runbooks.md' }).tests as any[];
    expect(tests).toHaveLength(rules.length * 2 - 1);
    const redisDown = tests.find((t) => t.alert_rule_test[0].alertname === 'QingyuComponentDown' && t.alert_rule_test[0].exp_alerts[0]?.exp_labels.job === 'redis');
    // mongodb's "down" rule must stay quiet while redis's fires.
    expect(redisDown.input_series.map((s: any) => s.series)).toContainEqual(expect.stringContaining('job="mongodb"'));
  });

  test('the production rules need no rule of the other mode', () => {
    const prod = synthesize('production');
    const names = new Set(ofKind(prod.objects, 'PrometheusRule').flatMap((r) => r.spec.groups.flatMap((g: any) => g.rules.map((x: any) => x.alert))));
    for (const alert of ['QingyuAlertmanagerNotificationsFailing', 'QingyuPrometheusNotConnectedToAlertmanager', 'QingyuCpuNearLimit', 'Watchdog']) {
      expect(names).toContain(alert);
    }
    expect(names).not.toContain('QingyuCpuThrottled');
  });
});

describe.each(ALL_ENVIRONMENTS)('%s: the platform\'s own Alertmanager', (env) => {
  const { objects, config } = synthesize(env);
  const am = find(objects, 'Alertmanager', 'platform');
  const amConfig = find(objects, 'AlertmanagerConfig', 'qingyu');

  test('runs the configured image and members, on its own ServiceAccount without an API token', () => {
    expect(am.spec).toEqual(expect.objectContaining({
      replicas: config.monitoring.alertmanager.replicas,
      retention: `${config.monitoring.alertmanager.retentionHours}h`,
      serviceAccountName: 'alertmanager',
      automountServiceAccountToken: false,
    }));
    expect(find(objects, 'ServiceAccount', 'alertmanager').automountServiceAccountToken).toBe(false);
    expect(objects.some((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'alertmanager')).toBe(config.monitoring.alertmanager.replicas > 1);
  });

  test('loads exactly the platform\'s AlertmanagerConfig, from its own namespace', () => {
    const selector = am.spec.alertmanagerConfigSelector.matchLabels;
    expect(Object.entries(selector).every(([k, v]) => amConfig.metadata.labels![k] === v)).toBe(true);
    expect(am.spec.alertmanagerConfigNamespaceSelector).toBeUndefined();
  });

  test('is where Prometheus sends alerts, through the Service that selects its pods', () => {
    const prometheus = find(objects, 'Prometheus', 'platform');
    expect(prometheus.spec.alerting.alertmanagers).toEqual([{ namespace: config.namespace, name: 'alertmanager', port: 'web', apiVersion: 'v2' }]);
    const service = find(objects, 'Service', 'alertmanager');
    expect(service.spec.selector).toEqual({ 'app.kubernetes.io/name': 'alertmanager', 'alertmanager': 'platform' });
    expect(service.spec.ports).toEqual([expect.objectContaining({ name: 'web', port: 9093 })]);
  });
});

describe.each([
  ...ALL_ENVIRONMENTS.map((e): [string, K8sObject[], PlatformConfig] => [e, synthesize(e).objects, synthesize(e).config]),
  ['kube-prometheus-stack', stack.objects, stack.config] as [string, K8sObject[], PlatformConfig],
])('%s: routing', (_name, objects, config) => {
  const spec = find(objects, 'AlertmanagerConfig', 'qingyu').spec;
  const a = config.monitoring.alerting;
  const receiverNames = spec.receivers.map((r: any) => r.name);

  test('sends each severity to the configured receivers, in order, and the Watchdog first', () => {
    const [watchdog, ...routes] = spec.route.routes;
    expect(watchdog.matchers).toEqual([{ name: 'alertname', value: 'Watchdog' }]);
    expect(watchdog.receiver).toBe(a.receivers.deadmansSwitch ? 'deadmans-switch' : 'none');
    const bySeverity = (s: string) => routes.filter((r: any) => r.matchers[0].value === s).map((r: any) => r.receiver);
    expect(bySeverity('critical')).toEqual(a.routes.critical);
    expect(bySeverity('warning')).toEqual(a.routes.warning);
    for (const r of spec.route.routes) expect(receiverNames).toContain(r.receiver);
  });

  test('reads every secret from the catalogued Secret alertmanager-receivers, and holds none', () => {
    const refs = JSON.stringify(spec.receivers).match(/\{"key":"[^"]+","name":"[^"]+"\}/g) ?? [];
    const catalogued = Object.values(SECRETS.alertmanagerReceivers.keys).map((k) => k.key);
    for (const ref of refs) {
      const { key, name } = JSON.parse(ref);
      expect([name, catalogued.includes(key)]).toEqual([SECRETS.alertmanagerReceivers.name, true]);
    }
    expect(JSON.stringify(spec)).not.toMatch(/https?:\/\//);
  });

  test('carries every inhibition', () => {
    expect(spec.inhibitRules).toHaveLength(PLATFORM_INHIBITIONS.length);
  });
});

test('in kube-prometheus-stack mode: no Alertmanager of its own, and the AlertmanagerConfig carries the labels the stack selects', () => {
  expect(stack.objects.filter((o) => o.kind === 'Alertmanager')).toEqual([]);
  expect(find(stack.objects, 'AlertmanagerConfig', 'qingyu').metadata.labels).toEqual(expect.objectContaining(stack.config.monitoring.stackAlertmanagerConfigLabels));
});

describe('bad routing ends with one line naming the setting', () => {
  test.each([
    [alerting({ routes: { critical: ['email'], warning: ['chat'] } }), "config production.monitoring.alerting: 'routes.critical' names the receiver 'email', which 'receivers' does not configure (configured: pager, chat, deadmansSwitch)"],
    [alerting({ routes: { critical: [], warning: ['chat'] } }), "config production.monitoring.alerting: 'routes.critical' must name at least one receiver: a critical alert must reach a person"],
    [alerting({ repeatIntervalHours: { critical: 0, warning: 12 } }), "config production.monitoring.alerting: 'repeatIntervalHours.critical' must be a whole number of at least 1, got 0"],
    [withMonitoring({ alertmanager: { ...production.monitoring.alertmanager, replicas: 4 } }), "config production.monitoring.alertmanager: 'replicas' of Alertmanager must be a whole number from 1 to 3, got 4"],
  ])('%#', (config, message) => {
    expect(compositionError(config)).toBe(message);
  });
});

describe('the cases verify/alerting runs, from the configuration', () => {
  test('routes: the Watchdog, each severity, the default, and another namespace', () => {
    const cases = routeCases(production.monitoring.alerting, 'qingyu', 'qingyu');
    expect(cases.map((c) => [c.labels.alertname, c.receivers])).toEqual([
      ['Watchdog', ['qingyu/qingyu/deadmans-switch']],
      ['QingyuComponentDown', ['qingyu/qingyu/pager', 'qingyu/qingyu/chat']],
      ['QingyuTargetDown', ['qingyu/qingyu/chat']],
      ['QingyuSomethingNew', ['qingyu/qingyu/chat']],
      ['QingyuComponentDown', ['null']],
    ]);
  });

  test('inhibitions: one live scenario per inhibition; deliveries only to webhook receivers', () => {
    const dev = loadConfig({ QINGYU_ENV: 'development' });
    const scenarios = inhibitionScenarios(dev.monitoring.alerting, dev.namespace, 'qingyu');
    expect(scenarios).toHaveLength(PLATFORM_INHIBITIONS.length);
    expect(scenarios[1].expect.delivered).toEqual([
      { receiver: 'qingyu-dev/qingyu/chat', alertname: 'QingyuComponentDown' },
      { receiver: 'qingyu-dev/qingyu/chat', alertname: 'QingyuEtcdDatabaseNearQuota' },
    ]);
    // Production pages through PagerDuty and WeCom: suppression is still asserted.
    const prod = inhibitionScenarios(production.monitoring.alerting, 'qingyu', 'qingyu');
    expect(prod[1].expect.delivered).toEqual([]);
    expect(prod[1].expect.suppressed).toEqual(['QingyuRedisMemoryNearLimit']);
  });

  test('the unit renders one spec for the configured receivers only', () => {
    const staging = loadConfig({ QINGYU_ENV: 'staging' });
    const spec = alertmanagerConfigSpec(staging.monitoring.alerting, PLATFORM_INHIBITIONS);
    expect((spec.receivers ?? []).map((r) => r.name)).toEqual(['none', 'chat']);
  });

  test('a CronJob registered with watchSchedules gets its late alert', () => {
    const chart = new MonitoringChart(Testing.app(), 'monitoring', { config: production });
    chart.watchSchedules({ cronJob: { name: 'redis-backup' }, schedule: { rpoMinutes: 90 } });
    const late = chart.alerts.groups.flatMap((g) => g.rules).filter((r) => r.alert === 'QingyuCronJobLate');
    expect(late.map((r) => r.labels)).toEqual([{ cronjob: 'redis-backup' }]);
    expect(late[0].expr).toContain('> 5400');
  });
});
