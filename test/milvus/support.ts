import { Testing } from 'cdk8s';

import { MilvusChart } from '../../charts/milvus/milvus-chart';
import { MilvusConfig, PlatformConfig } from '../../config';
import { flowsOf, fqdn as fqdnIn, objectsOf, scrapeForTest, SMALL } from '../support/fixtures';
import { container, K8sObject, synthesize } from '../support/synth';

// What the milvus unit's tests share: the production output and the unit alone on the small config.

export const prod = synthesize('production');
export const milvusFile = (env = prod) => env.files.find((f) => f.name.endsWith('-milvus.k8s.yaml'))!;
export const fqdn = (service: string) => fqdnIn(prod.config, service);
export const etcdConfig = prod.config.milvus.etcd;
export const minioConfig = (() => {
  const storage = prod.config.milvus.objectStorage;
  if (storage.type !== 'minio') throw new Error('production runs the in-cluster MinIO');
  return storage;
})();

export function envOf(workload: K8sObject, name: string): Record<string, any> {
  return Object.fromEntries(container(workload, name).env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
}

/** The milvus unit alone, from the small config with `milvus` changed, its three stores scraped. */
export function milvusChart(change: (c: MilvusConfig) => MilvusConfig = (c) => c) {
  const config: PlatformConfig = { ...SMALL, milvus: change(SMALL.milvus) };
  const chart = new MilvusChart(Testing.app(), 'milvus', { config });
  scrapeForTest(chart.etcd, ...(chart.minio ? [chart.minio] : []), chart.milvus);
  return { config, chart, objects: objectsOf(chart), flows: flowsOf(chart) };
}
export const smallFqdn = (service: string) => fqdnIn(SMALL, service);
