import { ResourceSpec } from '../../lib/pod';

/**
 * What the pods the Prometheus Operator makes (Prometheus, Alertmanager) share: the resources
 * of its config-reloader sidecars, and resources in the operator CRDs' quantity type.
 */

/** The operator's config-reloader sidecars: its defaults (10m CPU, 50Mi) plus scratch space. */
export const CONFIG_RELOADER_RESOURCES: ResourceSpec = {
  cpuMillis: { request: 10, limit: 100 },
  memoryMiB: { request: 50, limit: 64 },
  ephemeralStorageMiB: { request: 16, limit: 64 },
};

/** Requests and limits in the operator CRD's quantity type. */
export function quantities<Q>(spec: ResourceSpec, q: (value: string) => Q): { requests: Record<string, Q>; limits: Record<string, Q> } {
  const of = (cpu: number, mem: number, eph: number) => ({ 'cpu': q(`${cpu}m`), 'memory': q(`${mem}Mi`), 'ephemeral-storage': q(`${eph}Mi`) });
  return {
    requests: of(spec.cpuMillis.request, spec.memoryMiB.request, spec.ephemeralStorageMiB.request),
    limits: of(spec.cpuMillis.limit, spec.memoryMiB.limit, spec.ephemeralStorageMiB.limit),
  };
}
