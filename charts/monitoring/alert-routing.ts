/**
 * Where alerts go, as data: the receivers an environment configures, the routes by severity
 * and the inhibitions, rendered as the `spec` of one AlertmanagerConfig. The same object
 * configures the platform's own Alertmanager (`own` mode, which selects it) and a shared
 * stack's (`kube-prometheus-stack` mode). The Prometheus Operator turns it into Alertmanager's
 * configuration: it names each receiver `<namespace>/<name>/<receiver>`, nests the route under
 * its root with `continue: true`, and adds a `namespace` matcher to every route and inhibition.
 *
 * Secrets are references to keys of the Secret `alertmanager-receivers` (lib/secrets.ts); the
 * operator reads them in the cluster. None is in this file or in dist/.
 */
import {
  AlertmanagerConfigSpec,
  AlertmanagerConfigSpecInhibitRulesSourceMatchMatchType as SourceMatchType,
  AlertmanagerConfigSpecInhibitRulesTargetMatchMatchType as TargetMatchType,
  AlertmanagerConfigSpecReceivers,
} from '../../imports/alertmanagerconfig-monitoring.coreos.com';
import { PropError } from '../../lib/errors';
import { SECRETS } from '../../lib/secrets';

/** The receivers an alert can go to, by role; each is optional. */
export type ReceiverRole = 'pager' | 'chat' | 'email';

/**
 * Where alerts go. Every secret a receiver needs (a URL with its token, a routing key, a
 * password) is a key of the Secret `alertmanager-receivers` (lib/secrets.ts), created in the
 * cluster by scripts/create-secrets.sh; none is in the configuration or in dist/.
 */
export interface AlertingConfig {
  readonly receivers: {
    /** Pages a person: PagerDuty (Events API v2; key `pager-routing-key`), or a webhook (`pager-url`). */
    readonly pager?: { readonly type: 'pagerduty' } | { readonly type: 'webhook' };
    /**
     * The team's chat: a WeCom application (`chat-api-secret`), a Slack incoming webhook
     * (`chat-url`) or any webhook receiver (`chat-url`).
     */
    readonly chat?:
      | { readonly type: 'wechat'; readonly corpId: string; readonly agentId: string; readonly toParty: string }
      | { readonly type: 'slack'; readonly channel: string }
      | { readonly type: 'webhook' };
    /** Mail through an SMTP relay that requires STARTTLS (password `email-password`). */
    readonly email?: {
      readonly to: string;
      readonly from: string;
      /** `host:port` of the relay. */
      readonly smarthost: string;
      readonly authUsername: string;
    };
    /**
     * The dead man's switch: a webhook that expects the always-firing Watchdog every few
     * minutes and raises its own alarm when it stops (`deadmans-switch-url`). Without it the
     * Watchdog goes nowhere.
     */
    readonly deadmansSwitch?: { readonly type: 'webhook' };
  };
  /** Which receivers each severity reaches, in order; critical must reach at least one. */
  readonly routes: { readonly critical: readonly ReceiverRole[]; readonly warning: readonly ReceiverRole[] };
  /** Labels that make one notification (alerts sharing them are sent together). */
  readonly groupBy: readonly string[];
  /** Wait before the first notification of a new group, to batch alerts that fire together. */
  readonly groupWaitSeconds: number;
  /** Wait before notifying about alerts added to a group already notified. */
  readonly groupIntervalMinutes: number;
  /** Re-send a still-firing group after this long, per severity. */
  readonly repeatIntervalHours: { readonly critical: number; readonly warning: number };
  /**
   * Where Alertmanager may connect to deliver (the receivers' addresses and ports), for its
   * NetworkPolicy. PagerDuty, WeCom and Slack are public HTTPS endpoints.
   */
  readonly egress: { readonly cidrs: readonly string[]; readonly except: readonly string[]; readonly ports: readonly number[] };
}

/** The receiver of the Watchdog when there is no dead man's switch, and of nothing else. */
export const NO_RECEIVER = 'none';
export const DEADMANS_SWITCH = 'deadmans-switch';
/** The always-firing alert that proves the whole pipeline, end to end, to the dead man's switch. */
export const WATCHDOG = 'Watchdog';

/** One inhibition: while an alert matching `source` fires, alerts matching `target` that share the `equal` labels are muted. */
export interface Inhibition {
  readonly source: Readonly<Record<string, string>>;
  /** Values are regular expressions when they contain `|`. */
  readonly target: Readonly<Record<string, string>>;
  readonly equal: readonly string[];
  readonly why: string;
}

/**
 * Equality matchers, or regular-expression ones for values with `|`, in the CRD's form. An
 * equality matcher leaves `matchType` out (equality is the CRD's meaning of none): a bare `=` in
 * YAML is YAML 1.1's `value` tag, which PyYAML-based tools (checkov) cannot load.
 */
function matchers<T>(labels: Readonly<Record<string, string>>, regex: T): Array<{ name: string; value: string; matchType?: T }> {
  return Object.entries(labels).map(([name, value]) => (value.includes('|') ? { name, value, matchType: regex } : { name, value }));
}
/** Matchers of the nested routes, which the CRD passes through as written. */
const routeMatchers = (labels: Readonly<Record<string, string>>) => matchers(labels, '=~');

const secret = (key: { key: string }) => ({ name: SECRETS.alertmanagerReceivers.name, key: key.key });
const keys = SECRETS.alertmanagerReceivers.keys;

/** The AlertmanagerConfig receivers of the configured roles (and the Watchdog's). */
function receivers(r: AlertingConfig['receivers']): AlertmanagerConfigSpecReceivers[] {
  const out: AlertmanagerConfigSpecReceivers[] = [{ name: NO_RECEIVER }];
  if (r.pager?.type === 'pagerduty') {
    out.push({ name: 'pager', pagerdutyConfigs: [{ routingKey: secret(keys.pagerRoutingKey), sendResolved: true }] });
  } else if (r.pager?.type === 'webhook') {
    out.push({ name: 'pager', webhookConfigs: [{ urlSecret: secret(keys.pagerUrl), sendResolved: true }] });
  }
  const chat = r.chat;
  if (chat?.type === 'wechat') {
    out.push({
      name: 'chat',
      wechatConfigs: [{
        apiSecret: secret(keys.chatApiSecret), corpId: chat.corpId, agentId: chat.agentId, toParty: chat.toParty, sendResolved: true,
      }],
    });
  } else if (chat?.type === 'slack') {
    out.push({ name: 'chat', slackConfigs: [{ apiUrl: secret(keys.chatUrl), channel: chat.channel, sendResolved: true }] });
  } else if (chat?.type === 'webhook') {
    out.push({ name: 'chat', webhookConfigs: [{ urlSecret: secret(keys.chatUrl), sendResolved: true }] });
  }
  if (r.email) {
    const e = r.email;
    out.push({
      name: 'email',
      emailConfigs: [{
        to: e.to, from: e.from, smarthost: e.smarthost, authUsername: e.authUsername,
        authPassword: secret(keys.emailPassword), requireTls: true, sendResolved: true,
      }],
    });
  }
  if (r.deadmansSwitch) {
    // Resolved notices would mean "the Watchdog stopped", which the switch learns by silence.
    out.push({ name: DEADMANS_SWITCH, webhookConfigs: [{ urlSecret: secret(keys.deadmansSwitchUrl), sendResolved: false }] });
  }
  return out;
}

/**
 * The AlertmanagerConfig `spec`: the Watchdog to the dead man's switch (every 5 minutes), then
 * each severity to its receivers in order (`continue` between them, so a critical alert pages
 * and also shows in chat), and the inhibitions. An alert of no known severity goes to the first
 * warning receiver, so nothing is dropped silently.
 */
export function alertmanagerConfigSpec(config: AlertingConfig, inhibitions: readonly Inhibition[]): AlertmanagerConfigSpec {
  const configured = (role: ReceiverRole) => config.receivers[role] !== undefined;
  for (const severity of ['critical', 'warning'] as const) {
    for (const role of config.routes[severity]) {
      if (!configured(role)) {
        throw new PropError(`'routes.${severity}' names the receiver '${role}', which 'receivers' does not configure (configured: ${
          Object.keys(config.receivers).join(', ') || 'none'})`);
      }
    }
  }
  if (config.routes.critical.length === 0) {
    throw new PropError("'routes.critical' must name at least one receiver: a critical alert must reach a person");
  }
  const seconds = (n: number, what: string) => {
    if (!Number.isInteger(n) || n < 0) throw new PropError(`'${what}' must be a whole number of at least 0, got ${n}`);
    return n;
  };
  const groupWait = `${seconds(config.groupWaitSeconds, 'groupWaitSeconds')}s`;
  const groupInterval = `${seconds(config.groupIntervalMinutes, 'groupIntervalMinutes')}m`;
  const repeat = (severity: 'critical' | 'warning') => {
    const hours = config.repeatIntervalHours[severity];
    if (!Number.isInteger(hours) || hours < 1) throw new PropError(`'repeatIntervalHours.${severity}' must be a whole number of at least 1, got ${hours}`);
    return `${hours}h`;
  };
  if (config.groupBy.length === 0) throw new PropError("'groupBy' must name at least one label (an empty list sends every alert on its own)");

  const bySeverity = (['critical', 'warning'] as const).flatMap((severity) =>
    config.routes[severity].map((receiver, i, all) => ({
      receiver,
      matchers: routeMatchers({ severity }),
      repeatInterval: repeat(severity),
      // Every receiver but the last lets the alert on to the next.
      ...(i < all.length - 1 ? { continue: true } : {}),
    })));
  return {
    route: {
      receiver: config.routes.warning[0] ?? config.routes.critical[0],
      groupBy: [...config.groupBy],
      groupWait,
      groupInterval,
      repeatInterval: repeat('warning'),
      routes: [
        {
          receiver: config.receivers.deadmansSwitch ? DEADMANS_SWITCH : NO_RECEIVER,
          matchers: routeMatchers({ alertname: WATCHDOG }),
          groupWait: '0s',
          groupInterval: '1m',
          repeatInterval: '5m',
        },
        ...bySeverity,
      ],
    },
    receivers: receivers(config.receivers),
    inhibitRules: inhibitions.map((i) => ({
      sourceMatch: matchers(i.source, SourceMatchType.VALUE_EQUAL_TILDE),
      targetMatch: matchers(i.target, TargetMatchType.VALUE_EQUAL_TILDE),
      equal: [...i.equal],
    })),
  };
}
