import { PolicyException } from './rules';

/**
 * Findings we accept on purpose. Each names the rule, the object (`Kind/name[/container]`)
 * and why. Keep this list short: an exception is a decision someone must be able to revisit.
 */
export const EXCEPTIONS: readonly PolicyException[] = [
  {
    rule: 'zero-downtime-rollout',
    object: 'Deployment/grafana',
    reason: 'Grafana keeps its SQLite database on a ReadWriteOnce volume: a surge pod could not mount it '
      + '(and two writers would corrupt it), so it is replaced with Recreate; dashboards are briefly unavailable, no traffic is served by it.',
  },
];
