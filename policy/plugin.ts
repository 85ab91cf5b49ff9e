import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

import { parseAllDocuments } from 'yaml';

import { FAILURE_MARKER } from '../lib/errors';
import { gate } from './gate';
import { promote } from './promote';
import { K8sObject, RULES } from './rules';

// Minimal shapes of the cdk8s CLI's validation plugin contract (cdk8s-cli/lib/plugins/validation).
interface ValidationContext {
  readonly manifests: readonly string[];
  readonly report: {
    addViolation(v: {
      ruleName: string;
      recommendation: string;
      fix: string;
      violatingResources: Array<{ resourceName: string; locations: string[]; manifestPath: string }>;
    }): void;
    submit(status: 'success' | 'failure', metadata?: Record<string, string>): void;
  };
}

export interface QingyuPolicyProps {
  /**
   * Where `cdk8s synth` writes (cdk8s.yaml `output`): a scratch directory, since the CLI deletes
   * its output directory before it runs the app.
   */
  readonly synthesizedTo?: string;
  /** Where the manifests go once they pass the gate (`dist`): promoted whole, never left half-written. */
  readonly promoteTo?: string;
}

/**
 * The policy gate as a cdk8s validation plugin (cdk8s.yaml `validations:`), for `cdk8s synth`:
 * - when the app refused its input (it writes the failure marker and has already printed the one
 *   line saying why), the synth stops here with exit code 2, before any file is promoted;
 * - it fails the synth when any object breaks a rule that has no reasoned exception;
 * - when the manifests pass and were written to `synthesizedTo`, it promotes them to `promoteTo`,
 *   so that an existing dist/ is replaced only by manifests that passed.
 */
export class QingyuPolicy {
  constructor(private readonly props: QingyuPolicyProps = {}) {}

  public async validate(context: ValidationContext): Promise<void> {
    if (context.manifests.some((m) => basename(m) === FAILURE_MARKER)) process.exit(2);

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
    const findings = gate(objects);
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

    const dir = context.manifests.length > 0 ? dirname(resolve(context.manifests[0])) : undefined;
    const { synthesizedTo, promoteTo } = this.props;
    if (findings.length === 0 && dir && synthesizedTo && promoteTo && dir === resolve(synthesizedTo)) {
      promote(dir, resolve(promoteTo));
      process.stdout.write(`Promoted the manifests to ${promoteTo}/\n`);
    }
  }
}
