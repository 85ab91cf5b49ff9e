/**
 * The one model of what a synthesized output runs: its objects, the pods they make (including the
 * pods an operator makes from a custom resource), selectors, quantities and capacity. The policy
 * gate, the namespace's ResourceQuota, the platform report, the operations scripts' facts and the
 * tests all read the output through it, so a new kind (a CronJob, an operator's pods) is taught
 * once. Plain data in, plain data out: it works on `chart.toJson()` objects and on parsed YAML.
 */

/** A Kubernetes object as synthesized. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
}

/**
 * The label that sorts workloads by what they are: `app` on the application Deployments. The
 * operations scripts select by it (`rollback --apps-only` undoes what carries it) and policy
 * exceptions can be keyed by it, so an added app is found without a list of names.
 */
export const TIER_LABEL = 'qingyu.io/tier';

/** Kinds that exist once per cluster (never namespaced). */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'StorageClass',
  'PriorityClass', 'IngressClass', 'PersistentVolume', 'APIService', 'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding',
  'RuntimeClass', 'CSIDriver', 'VolumeSnapshotClass', 'GatewayClass', 'ClusterIssuer',
]);

export function isClusterScoped(o: K8sObject): boolean {
  return CLUSTER_SCOPED_KINDS.has(o.kind);
}

/** `Kind/name`. */
export const ref = (o: K8sObject): string => `${o.kind}/${o.metadata.name}`;

/** Whether a non-empty equality selector matches `labels`. */
export function selects(selector: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>>): boolean {
  return !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Init containers, then containers, of a pod spec. */
export function containersOf(spec: any): any[] {
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

/**
 * A set of identical pods the output makes, and who makes them: a controller from a pod
 * template, or an operator from a custom resource (whose pod spec is only what the resource
 * says: the operator fills in the rest).
 */
export interface PodSet {
  readonly owner: K8sObject;
  readonly madeBy: 'controller' | 'operator';
  /** The labels the pods carry. */
  readonly labels: Readonly<Record<string, string>>;
  readonly spec: any;
  /** The volume claim templates of each pod (StatefulSets, an operator's storage). */
  readonly claims: readonly any[];
  /** Pods at the smallest and largest scale (HPA bounds, else the replica count), and the extra pods of a rollout. */
  readonly replicas: { readonly min: number; readonly max: number; readonly surge: number };
}

const TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

/** The claims a pod's generic ephemeral volumes make (one PVC per pod, gone with the pod). */
function ephemeralClaims(spec: any): any[] {
  return (spec?.volumes ?? []).filter((v: any) => v.ephemeral?.volumeClaimTemplate).map((v: any) => v.ephemeral.volumeClaimTemplate);
}

/** The HPA that scales `workload`, if any. */
export function autoscalerOf(objects: readonly K8sObject[], workload: K8sObject): K8sObject | undefined {
  return objects.find((h) => h.kind === 'HorizontalPodAutoscaler'
    && h.spec?.scaleTargetRef?.kind === workload.kind && h.spec?.scaleTargetRef?.name === workload.metadata.name);
}

/** Replicas a workload runs at its smallest: the HPA minimum where one targets it. */
export function minReplicas(objects: readonly K8sObject[], workload: K8sObject): number {
  const hpa = autoscalerOf(objects, workload);
  return hpa ? hpa.spec.minReplicas ?? 1 : workload.spec?.replicas ?? 1;
}

/** What the Prometheus Operator runs for each resource kind it turns into pods. */
const OPERATOR_WORKLOADS: Readonly<Record<string, { readonly container: string; readonly ports: readonly any[] }>> = {
  Prometheus: { container: 'prometheus', ports: [{ name: 'web', containerPort: 9090 }] },
  Alertmanager: {
    container: 'alertmanager',
    ports: [{ name: 'web', containerPort: 9093 }, { name: 'mesh-tcp', containerPort: 9094 }, { name: 'mesh-udp', containerPort: 9094, protocol: 'UDP' }],
  },
};

/**
 * The pods the Prometheus Operator runs for a Prometheus or Alertmanager resource:
 * `spec.replicas` pods of the main container (`spec.resources`) and the config-reloader
 * sidecar, with the containers and init containers the resource overrides merged in by name,
 * and one volume from `spec.storage.volumeClaimTemplate` each. The operator's selector labels
 * win over `spec.podMetadata`'s.
 */
function operatorPods(o: K8sObject): PodSet {
  const name = o.metadata.name;
  const { container, ports } = OPERATOR_WORKLOADS[o.kind];
  const overrides: any[] = o.spec?.containers ?? [];
  const reloader = overrides.some((c) => c.name === 'config-reloader') ? [] : [{ name: 'config-reloader' }];
  const kindLabel = o.kind.toLowerCase();
  return {
    owner: o,
    madeBy: 'operator',
    labels: {
      ...(o.spec?.podMetadata?.labels ?? {}),
      'app.kubernetes.io/name': kindLabel,
      'app.kubernetes.io/instance': name,
      'app.kubernetes.io/managed-by': 'prometheus-operator',
      [kindLabel]: name,
    },
    spec: {
      containers: [
        { name: container, resources: o.spec?.resources, ports },
        ...overrides.filter((c) => c.name !== container),
        ...reloader,
      ],
      initContainers: o.spec?.initContainers ?? [],
      securityContext: o.spec?.securityContext,
      serviceAccountName: o.spec?.serviceAccountName,
      automountServiceAccountToken: o.spec?.automountServiceAccountToken,
    },
    claims: o.spec?.storage?.volumeClaimTemplate ? [o.spec.storage.volumeClaimTemplate] : [],
    replicas: { min: o.spec?.replicas ?? 1, max: o.spec?.replicas ?? 1, surge: 0 },
  };
}

/** Every set of pods the output makes, in output order. */
export function podSets(objects: readonly K8sObject[]): PodSet[] {
  const sets: PodSet[] = [];
  for (const o of objects) {
    if (TEMPLATE_KINDS.has(o.kind) && o.spec?.template?.spec) {
      const hpa = autoscalerOf(objects, o);
      const fixed = o.spec.replicas ?? (o.kind === 'Job' ? o.spec.parallelism ?? 1 : 1);
      sets.push({
        owner: o,
        madeBy: 'controller',
        labels: o.spec.template.metadata?.labels ?? {},
        spec: o.spec.template.spec,
        claims: [...(o.kind === 'StatefulSet' ? o.spec.volumeClaimTemplates ?? [] : []), ...ephemeralClaims(o.spec.template.spec)],
        replicas: {
          min: hpa ? hpa.spec.minReplicas ?? 1 : fixed,
          max: hpa ? hpa.spec.maxReplicas : fixed,
          // A rolling Deployment runs its surge beside the old pods.
          surge: o.kind === 'Deployment' ? Number(o.spec.strategy?.rollingUpdate?.maxSurge ?? 1) || 1 : 0,
        },
      });
    } else if (o.kind === 'CronJob' && o.spec?.jobTemplate?.spec?.template?.spec) {
      const job = o.spec.jobTemplate.spec;
      // Forbid (or Replace) runs one Job at a time; Allow may overlap one more.
      const runs = o.spec.concurrencyPolicy === 'Allow' ? 2 : 1;
      sets.push({
        owner: o,
        madeBy: 'controller',
        labels: job.template.metadata?.labels ?? {},
        spec: job.template.spec,
        claims: ephemeralClaims(job.template.spec),
        replicas: { min: 0, max: runs * (job.parallelism ?? 1), surge: 0 },
      });
    } else if (o.kind in OPERATOR_WORKLOADS && o.apiVersion?.startsWith('monitoring.coreos.com/')) {
      sets.push(operatorPods(o));
    }
  }
  return sets;
}

// ---- quantities ----

const UNITS: Readonly<Record<string, number>> = {
  '': 1, 'm': 1e-3, 'k': 1e3, 'K': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12, 'P': 1e15,
  'Ki': 2 ** 10, 'Mi': 2 ** 20, 'Gi': 2 ** 30, 'Ti': 2 ** 40, 'Pi': 2 ** 50,
};

/** A Kubernetes quantity (`250m`, `512Mi`, `2`, `10Gi`, `1e3`) in base units. */
export function parseQuantity(q: string | number | undefined | null): number {
  if (q === undefined || q === null) return 0;
  if (typeof q === 'number') return q;
  const m = /^([0-9.]+(?:e[+-]?[0-9]+)?)([a-zA-Z]*)$/.exec(q.trim());
  if (!m || !(m[2] in UNITS)) throw new Error(`unsupported quantity '${q}'`);
  return Number(m[1]) * UNITS[m[2]];
}

// ---- capacity ----

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

const zero = (): Totals => ({ cpuMillis: 0, memoryMiB: 0, ephemeralStorageMiB: 0 });

function containerTotals(resources: any, kind: 'requests' | 'limits'): Totals {
  const r = resources?.[kind] ?? {};
  return {
    cpuMillis: Math.round(parseQuantity(r.cpu) * 1000),
    memoryMiB: Math.ceil(parseQuantity(r.memory) / 2 ** 20),
    ephemeralStorageMiB: Math.ceil(parseQuantity(r['ephemeral-storage']) / 2 ** 20),
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

/**
 * A pod's effective footprint, as the scheduler counts it: its containers together and its
 * sidecars (init containers that keep running), or its largest one-shot init container alone.
 */
export function podTotals(spec: any, kind: 'requests' | 'limits'): Totals {
  const init: any[] = spec?.initContainers ?? [];
  const sidecars = init.filter((c) => c.restartPolicy === 'Always');
  const running = [...(spec?.containers ?? []), ...sidecars]
    .reduce((acc: Totals, c: any) => add(acc, containerTotals(c.resources, kind)), zero());
  const oneShot = init.filter((c) => c.restartPolicy !== 'Always').reduce((acc: Totals, c: any) => max(acc, containerTotals(c.resources, kind)), zero());
  return max(running, oneShot);
}

/**
 * What the output asks of the cluster at its largest: requests and limits of every pod set at
 * its maximum scale plus its rollout surge, and the storage its claims ask for. The namespace's
 * ResourceQuota is derived from it, so the quota can never block the platform's own rollout.
 */
export function computeCapacity(objects: readonly K8sObject[]): Capacity {
  let requests = zero();
  let limits = zero();
  let largestContainer = zero();
  let pods = 0;
  let persistentVolumeClaims = 0;
  let storageGiB = 0;
  for (const set of podSets(objects)) {
    const count = set.replicas.max + set.replicas.surge;
    requests = add(requests, podTotals(set.spec, 'requests'), count);
    limits = add(limits, podTotals(set.spec, 'limits'), count);
    pods += count;
    for (const c of containersOf(set.spec)) largestContainer = max(largestContainer, containerTotals(c.resources, 'limits'));
    for (const t of set.claims) {
      persistentVolumeClaims += count;
      storageGiB += (parseQuantity(t.spec?.resources?.requests?.storage) / 2 ** 30) * count;
    }
  }
  for (const pvc of objects.filter((o) => o.kind === 'PersistentVolumeClaim')) {
    persistentVolumeClaims += 1;
    storageGiB += parseQuantity(pvc.spec.resources.requests.storage) / 2 ** 30;
  }
  return { requests, limits, pods, persistentVolumeClaims, storageGiB: Math.ceil(storageGiB), largestContainer };
}
