import * as kplus from 'cdk8s-plus-27';
import { ResourceSpec } from '../config';

const k8s = kplus.k8s;
const Quantity = k8s.Quantity;

/**
 * Pod-level security for the `restricted` Pod Security Standard: a non-root user the image
 * supports, its group owning mounted volumes, and the runtime's default seccomp profile.
 */
export function restrictedPodSecurity(user: { uid: number; gid: number; fsGroup?: number }): kplus.k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: user.uid,
    runAsGroup: user.gid,
    fsGroup: user.fsGroup ?? user.gid,
    // Skip the recursive chown of large data volumes when ownership is already right.
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container-level security: no privilege, no escalation, no capabilities, read-only root. */
export function restrictedContainerSecurity(options: { readOnlyRootFilesystem?: boolean } = {}): kplus.k8s.SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: options.readOnlyRootFilesystem ?? true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Requests and limits of a `ResourceSpec` as a Kubernetes `resources` block. */
export function resourceRequirements(spec: ResourceSpec): kplus.k8s.ResourceRequirements {
  const q = (cpu: number, mem: number, eph: number) => ({
    'cpu': Quantity.fromString(`${cpu}m`),
    'memory': Quantity.fromString(`${mem}Mi`),
    'ephemeral-storage': Quantity.fromString(`${eph}Mi`),
  });
  return {
    requests: q(spec.cpuMillis.request, spec.memoryMiB.request, spec.ephemeralStorageMiB.request),
    limits: q(spec.cpuMillis.limit, spec.memoryMiB.limit, spec.ephemeralStorageMiB.limit),
  };
}

/**
 * Spread replicas over nodes (hard: at most one more on any node) and zones (soft: zones may be
 * absent or uneven). `matchLabelKeys` is left out: it needs Kubernetes 1.27 with a feature gate.
 */
export function spreadConstraints(selector: Record<string, string>): kplus.k8s.TopologySpreadConstraint[] {
  return [
    { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: selector } },
    { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } },
  ];
}

/** Prefer nodes without another replica (kube-linter and kube-score look for host anti-affinity). */
export function preferredHostAntiAffinity(selector: Record<string, string>): kplus.k8s.Affinity {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } } },
      ],
    },
  };
}

/** A PodDisruptionBudget that lets one pod go at a time and never blocks draining a broken pod. */
export function podDisruptionBudget(
  scope: import('constructs').Construct,
  id: string,
  props: { name: string; selector: Record<string, string>; maxUnavailable?: number },
): kplus.k8s.KubePodDisruptionBudget {
  return new k8s.KubePodDisruptionBudget(scope, id, {
    metadata: { name: props.name },
    spec: {
      maxUnavailable: k8s.IntOrString.fromNumber(props.maxUnavailable ?? 1),
      selector: { matchLabels: props.selector },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  });
}

/** A writable scratch directory for a read-only root filesystem. */
export function scratchVolume(name: string, sizeMiB = 256): kplus.k8s.Volume {
  return { name, emptyDir: { sizeLimit: Quantity.fromString(`${sizeMiB}Mi`) } };
}
