/**
 * What the platform asks of the cluster, computed from synthesized objects: requests and limits
 * at the largest scale the workloads can reach (HPA maximum plus one surge pod per rolling
 * Deployment), and the storage its StatefulSets claim. The namespace's ResourceQuota is derived
 * from it, so the quota can never block our own rollout.
 */

export interface Totals {
  cpuMillis: number;
  memoryMiB: number;
  ephemeralStorageMiB: number;
}

export interface Capacity {
  readonly requests: Totals;
  readonly limits: Totals;
  readonly pods: number;
  readonly persistentVolumeClaims: number;
  readonly storageGiB: number;
  /** The largest limits of any single container, for the LimitRange's `max`. */
  readonly largestContainer: Totals;
}

const UNITS: Record<string, number> = { '': 1, 'm': 1e-3, 'k': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12, 'Ki': 1024, 'Mi': 1024 ** 2, 'Gi': 1024 ** 3, 'Ti': 1024 ** 4 };

/** Parses a Kubernetes quantity (`250m`, `512Mi`, `2`, `10Gi`) into base units. */
export function parseQuantity(q: string | number | undefined): number {
  if (q === undefined) return 0;
  if (typeof q === 'number') return q;
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q.trim());
  if (!m || !(m[2] in UNITS)) throw new Error(`unsupported quantity '${q}'`);
  return Number(m[1]) * UNITS[m[2]];
}

const zero = (): Totals => ({ cpuMillis: 0, memoryMiB: 0, ephemeralStorageMiB: 0 });

function containerTotals(resources: any, kind: 'requests' | 'limits'): Totals {
  const r = resources?.[kind] ?? {};
  return {
    cpuMillis: Math.round(parseQuantity(r.cpu) * 1000),
    memoryMiB: Math.ceil(parseQuantity(r.memory) / 1024 ** 2),
    ephemeralStorageMiB: Math.ceil(parseQuantity(r['ephemeral-storage']) / 1024 ** 2),
  };
}

const add = (a: Totals, b: Totals, times = 1): Totals => ({
  cpuMillis: a.cpuMillis + b.cpuMillis * times,
  memoryMiB: a.memoryMiB + b.memoryMiB * times,
  ephemeralStorageMiB: a.ephemeralStorageMiB + b.ephemeralStorageMiB * times,
});
const max = (a: Totals, b: Totals): Totals => ({
  cpuMillis: Math.max(a.cpuMillis, b.cpuMillis),
  memoryMiB: Math.max(a.memoryMiB, b.memoryMiB),
  ephemeralStorageMiB: Math.max(a.ephemeralStorageMiB, b.ephemeralStorageMiB),
});

/** A pod's effective footprint: its containers together, or its largest init container. */
function podTotals(spec: any, kind: 'requests' | 'limits'): Totals {
  const running = (spec.containers ?? []).reduce((acc: Totals, c: any) => add(acc, containerTotals(c.resources, kind)), zero());
  const init = (spec.initContainers ?? []).reduce((acc: Totals, c: any) => max(acc, containerTotals(c.resources, kind)), zero());
  return max(running, init);
}

/** Pods a workload can run at once: HPA maximum (or replicas), plus a surge pod while rolling. */
function peakPods(objects: readonly any[], o: any): number {
  const hpa = objects.find((h) => h.kind === 'HorizontalPodAutoscaler' && h.spec.scaleTargetRef.kind === o.kind && h.spec.scaleTargetRef.name === o.metadata.name);
  const replicas = hpa ? hpa.spec.maxReplicas : o.spec.replicas ?? 1;
  const surge = o.kind === 'Deployment' ? Number(o.spec.strategy?.rollingUpdate?.maxSurge ?? 1) || 1 : 0;
  return replicas + surge;
}

/**
 * The pod the operator runs for a Prometheus resource, as far as resources go: the `prometheus`
 * container with `spec.resources`, the sidecars and init containers the resource overrides
 * (merged by name into the operator's), and the operator's config-reloader sidecar when it is
 * not overridden (then counted as nothing here: the platform always overrides it).
 */
export function prometheusPodSpec(o: any): { containers: any[]; initContainers: any[] } {
  const sidecars: any[] = o.spec.containers ?? [];
  const reloader = sidecars.some((c) => c.name === 'config-reloader') ? [] : [{ name: 'config-reloader', resources: undefined }];
  return { containers: [{ name: 'prometheus', resources: o.spec.resources }, ...sidecars, ...reloader], initContainers: o.spec.initContainers ?? [] };
}

export function computeCapacity(objects: readonly any[]): Capacity {
  let requests = zero();
  let limits = zero();
  let largestContainer = zero();
  let pods = 0;
  let persistentVolumeClaims = 0;
  let storageGiB = 0;
  for (const o of objects) {
    let spec: any;
    let count = 0;
    if (o.kind === 'Deployment' || o.kind === 'StatefulSet') {
      spec = o.spec.template.spec;
      count = peakPods(objects, o);
    } else if (o.kind === 'Prometheus') {
      spec = prometheusPodSpec(o);
      count = o.spec.replicas ?? 1;
    } else continue;
    requests = add(requests, podTotals(spec, 'requests'), count);
    limits = add(limits, podTotals(spec, 'limits'), count);
    pods += count;
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) largestContainer = max(largestContainer, containerTotals(c.resources, 'limits'));
    const claims = o.kind === 'StatefulSet' ? o.spec.volumeClaimTemplates ?? [] : o.kind === 'Prometheus' && o.spec.storage?.volumeClaimTemplate ? [o.spec.storage.volumeClaimTemplate] : [];
    for (const t of claims) {
      persistentVolumeClaims += count;
      storageGiB += (parseQuantity(t.spec?.resources?.requests?.storage) / 1024 ** 3) * count;
    }
  }
  for (const pvc of objects.filter((o) => o.kind === 'PersistentVolumeClaim')) {
    persistentVolumeClaims += 1;
    storageGiB += parseQuantity(pvc.spec.resources.requests.storage) / 1024 ** 3;
  }
  return { requests, limits, pods, persistentVolumeClaims, storageGiB: Math.ceil(storageGiB), largestContainer };
}
