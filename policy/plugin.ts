import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { EXCEPTIONS } from './exceptions';
import { evaluate, K8sObject, RULES } from './rules';

// Minimal shapes of the cdk8s CLI's validation plugin contract (cdk8s-cli/lib/plugins/validation).
interface ValidationContext {
  readonly manifests: readonly string[];
  readonly report: {
    addViolation(v: { ruleName: string; recommendation: string; fix: string; violatingResources: Array<{ resourceName: string; locations: string[]; manifestPath: string }> }): void;
    submit(status: 'success' | 'failure', metadata?: Record<string, string>): void;
  };
}

/**
 * The policy gate as a cdk8s validation plugin (cdk8s.yaml `validations:`): `cdk8s synth`
 * fails, and `npm run synth` leaves dist/ untouched, when any object breaks a rule that has
 * no reasoned exception in policy/exceptions.ts.
 */
export class QingyuPolicy {
  public async validate(context: ValidationContext): Promise<void> {
    const where = new Map<string, string>();
    const objects: K8sObject[] = [];
    for (const manifest of context.manifests) {
      for (const doc of parseAllDocuments(readFileSync(manifest, 'utf8'))) {
        const o = doc.toJS() as K8sObject | null;
        if (!o) continue;
        objects.push(o);
        where.set(`${o.kind}/${o.metadata?.name}`, manifest);
      }
    }
    const findings = evaluate(objects, EXCEPTIONS);
    for (const rule of RULES) {
      const hits = findings.filter((f) => f.rule === rule.id);
      if (hits.length === 0) continue;
      context.report.addViolation({
        ruleName: rule.id,
        recommendation: `${rule.protects} (${rule.source})`,
        fix: rule.fix,
        violatingResources: hits.map((f) => ({
          resourceName: f.object,
          locations: [f.message],
          manifestPath: where.get(f.object.split('/').slice(0, 2).join('/')) ?? 'unknown',
        })),
      });
    }
    context.report.submit(findings.length === 0 ? 'success' : 'failure', { objects: String(objects.length), rules: String(RULES.length) });
  }
}
