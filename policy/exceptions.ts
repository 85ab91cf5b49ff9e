import { TIER_LABEL } from '../lib/manifest';
import { PolicyException } from './rules';

/**
 * Findings we accept on purpose. Each names the rule, the object (`Kind/name[/container]`, or a
 * kind and labels) and why. Keep this list short: an exception is a decision someone must be
 * able to revisit.
 */
const APP_PROBES = 'The application contract (issue 3) is GET /health for readiness, liveness and startup, with '
  + 'liveness far more patient (6 x 10 s) than readiness (3 x 5 s); the apps keep /health free of dependency checks.';

export const EXCEPTIONS: readonly PolicyException[] = [
  // Every application Deployment (charts/apps), however many config.apps has.
  { rule: 'probes', kind: 'Deployment', labels: { [TIER_LABEL]: 'app' }, reason: APP_PROBES },
  {
    rule: 'service-account-token',
    object: 'Deployment/kube-state-metrics',
    reason: 'kube-state-metrics exists to watch the API server; its token is bound to a namespaced Role that can only '
      + 'list and watch the workloads, pods and claims of this namespace (no Secrets, no writes).',
  },
  {
    rule: 'zero-downtime-rollout',
    object: 'Deployment/grafana',
    reason: 'Grafana keeps its SQLite database on a ReadWriteOnce volume: a surge pod could not mount it '
      + '(and two writers would corrupt it), so it is replaced with Recreate; dashboards are briefly unavailable, no traffic is served by it.',
  },
];
