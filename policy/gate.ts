import { EXCEPTIONS } from './exceptions';
import { evaluate, Finding, K8sObject, RULES } from './rules';

/**
 * The policy gate over synthesized objects: every rule, minus the reasoned exceptions. Both synth
 * paths run it: `npm run synth` on the objects it just rendered, `cdk8s synth` through the
 * validation plugin (policy/plugin.ts) on the files the CLI wrote.
 */
export function gate(objects: readonly K8sObject[]): Finding[] {
  return evaluate(objects, EXCEPTIONS);
}

/** The findings as lines a person reads: one per finding, grouped by rule, with the rule's fix. */
export function describeFindings(findings: readonly Finding[]): string[] {
  const lines: string[] = [];
  for (const rule of RULES) {
    const hits = findings.filter((f) => f.rule === rule.id);
    if (hits.length === 0) continue;
    lines.push(`policy ${rule.id} (${rule.source}): ${rule.fix}`);
    for (const f of hits) lines.push(`  ${f.object}: ${f.message}`);
  }
  return lines;
}
