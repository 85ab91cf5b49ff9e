/**
 * The policy gate: the checks of kube-score, kube-linter, Polaris, the `restricted` Pod Security
 * Standard and Checkov that apply to this platform, as rules over synthesized objects. Each
 * finding names the object, the rule and the fix. Used by `npm test` and, as a cdk8s
 * validation plugin (policy/plugin.ts), by every `cdk8s synth`. The rules themselves are in
 * policy/pod-rules.ts and policy/object-rules.ts; they read the output through lib/manifest.ts.
 */
import { type K8sObject, selects } from '../lib/manifest';
import { OBJECT_RULES } from './object-rules';
import { POD_RULES } from './pod-rules';

export type { K8sObject };

export interface Finding {
  readonly rule: string;
  /** `Kind/name`, plus `/container` where one container is at fault. */
  readonly object: string;
  readonly message: string;
  readonly fix: string;
}

export interface Rule {
  readonly id: string;
  /** What the rule protects against, for the README table. */
  readonly protects: string;
  /** Which public checks it stands for. */
  readonly source: string;
  readonly fix: string;
  check(objects: readonly K8sObject[]): Array<Omit<Finding, 'rule' | 'fix'>>;
}

export const RULES: readonly Rule[] = [...POD_RULES, ...OBJECT_RULES];

/**
 * A finding the platform accepts on purpose, with the reason next to it. It names one object
 * (`Kind/name` or `Kind/name/container`), or every object of a kind that carries labels (so an
 * exception for what all apps share follows an added app without an edit here).
 */
export type PolicyException =
  | { readonly rule: string; readonly object: string; readonly reason: string }
  | { readonly rule: string; readonly kind: string; readonly labels: Readonly<Record<string, string>>; readonly reason: string };

/** Whether exception `e` covers a finding on `object` (`Kind/name[/container]`) among `objects`. */
export function exceptionMatcher(objects: readonly K8sObject[]): (e: PolicyException, object: string) => boolean {
  const labelsOf = new Map(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.labels ?? {}]));
  return (e, object) => {
    if ('object' in e) return e.object === object;
    const [kind, name] = object.split('/');
    return kind === e.kind && selects(e.labels, labelsOf.get(`${kind}/${name}`) ?? {});
  };
}

/** Runs every rule; findings matched by an exception are dropped. */
export function evaluate(objects: readonly K8sObject[], exceptions: readonly PolicyException[] = []): Finding[] {
  const matches = exceptionMatcher(objects);
  const findings: Finding[] = [];
  for (const rule of RULES) {
    for (const f of rule.check(objects)) {
      if (exceptions.some((e) => e.rule === rule.id && matches(e, f.object))) continue;
      findings.push({ rule: rule.id, object: f.object, message: f.message, fix: rule.fix });
    }
  }
  return findings;
}
