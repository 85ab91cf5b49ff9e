import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';

import { ConfigInputs, EnvironmentName, loadConfig, PlatformConfig, S3ObjectStorageConfig } from '../../config';
import { composePlatform } from '../../main';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
}

export interface Synthesized {
  readonly config: PlatformConfig;
  /** File name -> raw YAML, in the order `kubectl apply -f dist` reads them. */
  readonly files: ReadonlyArray<{ readonly name: string; readonly yaml: string; readonly objects: K8sObject[] }>;
  readonly objects: K8sObject[];
}

const cache = new Map<string, Synthesized>();

/** Where test/support/global-setup.ts left each environment's output for this run. */
export const SHARED_OUTPUT_DIR_VARIABLE = 'QINGYU_TEST_SYNTH_DIR';

/**
 * Synthesizes the whole platform exactly as `npm run synth` writes dist/, and parses it.
 * The three environments are synthesized once per jest run (global setup) and shared by
 * every test file; other inputs are synthesized here.
 */
export function synthesize(inputs: ConfigInputs | EnvironmentName | VariantName = 'production'): Synthesized {
  const key = JSON.stringify(inputs);
  const hit = cache.get(key);
  if (hit) return hit;
  const shared = process.env[SHARED_OUTPUT_DIR_VARIABLE];
  const result = shared && typeof inputs === 'string' && existsSync(join(shared, `${inputs}.json`))
    ? (JSON.parse(readFileSync(join(shared, `${inputs}.json`), 'utf8')) as Synthesized)
    : isVariant(inputs)
      ? synthesizeConfig(VARIANTS[inputs]())
      : synthesizeUncached(inputs);
  cache.set(key, result);
  return result;
}

function isVariant(inputs: unknown): inputs is VariantName {
  return typeof inputs === 'string' && inputs in VARIANTS;
}

/** Synthesizes an environment or config inputs without any cache. */
function synthesizeUncached(inputs: ConfigInputs | EnvironmentName): Synthesized {
  return synthesizeConfig(loadConfig(typeof inputs === 'string' ? { QINGYU_ENV: inputs } : inputs));
}

/** Synthesizes the whole platform for a configuration variant (not cached). */
export function synthesizeConfig(config: PlatformConfig): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'qingyu-synth-'));
  try {
    const app = new App({ outdir });
    composePlatform(app, config);
    app.synth();
    const files = readdirSync(outdir)
      .sort()
      .map((name) => {
        const yaml = readFileSync(join(outdir, name), 'utf8');
        const objects = parseAllDocuments(yaml).map((d) => d.toJS() as K8sObject).filter((o) => o);
        return { name, yaml, objects };
      });
    return { config, files, objects: files.flatMap((f) => f.objects) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

export const ALL_ENVIRONMENTS: EnvironmentName[] = ['production', 'staging', 'development'];

/** An external S3-compatible store on the data centre's network, for the `s3` object-storage variant. */
export const S3_OBJECT_STORAGE: S3ObjectStorageConfig = {
  type: 's3',
  endpoint: 's3.dc1.example.internal',
  port: 443,
  region: 'cn-east-1',
  bucket: 'qingyu-milvus',
  tls: true,
  cidrs: ['10.20.30.0/24'],
};

/**
 * The modes no environment uses by default, so that the whole-output tests (schemas, policy,
 * references) cover them too: the Gateway API edge with an existing kube-prometheus-stack, and
 * Milvus on an external S3 store instead of the in-cluster MinIO.
 */
export const VARIANTS = {
  'production with gateway and kube-prometheus-stack': (): PlatformConfig => {
    const p = loadConfig({ QINGYU_ENV: 'production' });
    return { ...p, edge: { ...p.edge, mode: 'gateway' }, monitoring: { ...p.monitoring, mode: 'kube-prometheus-stack' } };
  },
  'production with external S3 object storage': (): PlatformConfig => {
    const p = loadConfig({ QINGYU_ENV: 'production' });
    return { ...p, milvus: { ...p.milvus, objectStorage: S3_OBJECT_STORAGE } };
  },
} as const;
export type VariantName = keyof typeof VARIANTS;

/** Every environment and every variant. */
export const ALL_OUTPUTS: Array<EnvironmentName | VariantName> = [...ALL_ENVIRONMENTS, ...(Object.keys(VARIANTS) as VariantName[])];

/** The one object of `kind` named `name`; fails loudly when missing or ambiguous. */
export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) {
    const have = objects.filter((o) => o.kind === kind).map((o) => o.metadata.name);
    throw new Error(`expected one ${kind} '${name}', found ${found.length} (have: ${have.join(', ') || 'none'})`);
  }
  return found[0];
}

export function ofKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

/** Pod template spec of a workload object. */
export function podSpec(workload: K8sObject): any {
  return workload.spec.template.spec;
}

export function container(workload: K8sObject, name: string): any {
  const c = [...(podSpec(workload).initContainers ?? []), ...podSpec(workload).containers].find((x: any) => x.name === name);
  if (!c) throw new Error(`${workload.kind} ${workload.metadata.name} has no container '${name}'`);
  return c;
}
