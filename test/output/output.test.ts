import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { App } from 'cdk8s';

import { loadConfig } from '../../config';
import { LABEL } from '../../lib/component';
import { composePlatform } from '../../main';
import { ALL_ENVIRONMENTS, synthesize } from '../support/synth';

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PriorityClass']);
const REQUIRED_LABELS = Object.values(LABEL);
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function synthToDisk(env: string): Record<string, string> {
  const outdir = mkdtempSync(join(tmpdir(), 'qingyu-det-'));
  try {
    const app = new App({ outdir });
    composePlatform(app, loadConfig({ QINGYU_ENV: env }));
    app.synth();
    return Object.fromEntries(readdirSync(outdir).sort().map((f) => [f, readFileSync(join(outdir, f), 'utf8')]));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe.each(ALL_ENVIRONMENTS)('%s output', (env) => {
  const out = synthesize(env);

  test('is byte-identical across runs', () => {
    expect(synthToDisk(env)).toEqual(synthToDisk(env));
  });

  test('starts with the Namespace, alone in the first file', () => {
    expect(out.files[0].name).toBe('0000-namespace.k8s.yaml');
    expect(out.files[0].objects.map((o) => o.kind)).toContain('Namespace');
    expect(out.objects.findIndex((o) => o.kind === 'Namespace')).toBe(0);
  });

  test('has one file per chart, numbered in apply order', () => {
    out.files.forEach((f, i) => expect(f.name).toMatch(new RegExp(`^${String(i).padStart(4, '0')}-[a-z0-9-]+\\.k8s\\.yaml$`)));
    // The namespace first (quota, limits, default-deny), then monitoring, the stores before the
    // apps that use them, the edge after its backends, and the allow-policies last.
    expect(out.files.map((f) => f.name.replace(/^\d{4}-|\.k8s\.yaml$/g, ''))).toEqual(['namespace', 'monitoring', 'mongodb', 'redis', 'milvus', 'apps', 'edge', 'network']);
  });

  test('every object a pod template uses comes in the same file or an earlier one', () => {
    const fileOf = new Map<string, number>();
    out.files.forEach((f, i) => f.objects.forEach((o) => fileOf.set(`${o.kind}/${o.metadata.name}`, i)));
    const late: string[] = [];
    out.files.forEach((f, i) => {
      for (const w of f.objects.filter((o) => o.spec?.template?.spec)) {
        const spec = w.spec.template.spec;
        const uses = [
          ...(spec.serviceAccountName ? [`ServiceAccount/${spec.serviceAccountName}`] : []),
          ...(spec.volumes ?? []).flatMap((v: any) => [
            ...(v.configMap ? [`ConfigMap/${v.configMap.name}`] : []),
            ...(v.persistentVolumeClaim ? [`PersistentVolumeClaim/${v.persistentVolumeClaim.claimName}`] : []),
            ...(v.projected?.sources ?? []).filter((p: any) => p.configMap).map((p: any) => `ConfigMap/${p.configMap.name}`),
          ]),
          ...[...(spec.initContainers ?? []), ...spec.containers].flatMap((c: any) => [
            ...(c.envFrom ?? []).filter((e: any) => e.configMapRef).map((e: any) => `ConfigMap/${e.configMapRef.name}`),
            ...(c.env ?? []).filter((e: any) => e.valueFrom?.configMapKeyRef).map((e: any) => `ConfigMap/${e.valueFrom.configMapKeyRef.name}`),
          ]),
        ];
        for (const u of uses) if ((fileOf.get(u) ?? -1) > i) late.push(`${w.kind}/${w.metadata.name} uses ${u} from a later file`);
      }
    });
    expect(late).toEqual([]);
  });

  test('every namespaced object carries the namespace explicitly', () => {
    const missing = out.objects
      .filter((o) => !CLUSTER_SCOPED.has(o.kind) && o.metadata.namespace !== out.config.namespace)
      .map((o) => `${o.kind}/${o.metadata.name}`);
    expect(missing).toEqual([]);
    const clusterScopedWithNamespace = out.objects.filter((o) => CLUSTER_SCOPED.has(o.kind) && o.metadata.namespace);
    expect(clusterScopedWithNamespace).toEqual([]);
  });

  test('every object has the app.kubernetes.io labels with valid values', () => {
    const problems: string[] = [];
    for (const o of out.objects) {
      for (const label of REQUIRED_LABELS) {
        const value = o.metadata.labels?.[label];
        if (value === undefined) problems.push(`${o.kind}/${o.metadata.name} lacks ${label}`);
        else if (value.length > 63 || !LABEL_VALUE.test(value)) problems.push(`${o.kind}/${o.metadata.name} ${label}=${value}`);
      }
      if (o.metadata.labels?.[LABEL.partOf] !== 'qingyu') problems.push(`${o.kind}/${o.metadata.name} is not part-of qingyu`);
    }
    expect(problems).toEqual([]);
  });

  test('no two objects share a kind and name', () => {
    const keys = out.objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });

  test('names are readable DNS names without generated hashes', () => {
    const bad = out.objects
      .map((o) => o.metadata.name)
      .filter((n) => !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(n) || /-c8[0-9a-f]{6,}$/.test(n) || n.length > 63);
    expect(bad).toEqual([]);
  });
});
