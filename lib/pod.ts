import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

import { PropError } from './errors';

/**
 * What every pod of the platform is made of: images, resources, the restricted security
 * contexts, probes, spreading and disruption budgets. Constructs take these types as props; the
 * configuration (config/types.ts) uses the same ones.
 */

const k8s = kplus.k8s;
const Quantity = k8s.Quantity;

/** A container image: a repository plus exactly one of a tag or a digest. */
export interface ImageRef {
  readonly repository: string;
  /** A tag such as `v1.4.2`; never `latest`. */
  readonly tag?: string;
  /**
   * A content digest `sha256:<64 hex>`. With a tag too, the image is rendered
   * `repository:tag@digest`: the runtime pulls the digest, the tag names the release.
   */
  readonly digest?: string;
}

/** Requests and limits of one container. */
export interface ResourceSpec {
  readonly cpuMillis: { readonly request: number; readonly limit: number };
  readonly memoryMiB: { readonly request: number; readonly limit: number };
  /** Scratch space (emptyDirs, logs); kube-score and eviction both look at it. */
  readonly ephemeralStorageMiB: { readonly request: number; readonly limit: number };
}

/** A persistent volume claim per member of a StatefulSet. */
export interface StorageSpec {
  readonly sizeGiB: number;
  /** @default - the cluster's default StorageClass */
  readonly storageClassName?: string;
}

/**
 * `repository:tag`, `repository@sha256:...` when only a digest is pinned, or
 * `repository:tag@sha256:...` when both are (the runtime pulls the digest; the tag says which
 * release it is, for people and for the version floor).
 */
export function imageName(ref: ImageRef): string {
  if (ref.digest) return ref.tag ? `${ref.repository}:${ref.tag}@${ref.digest}` : `${ref.repository}@${ref.digest}`;
  if (ref.tag) return `${ref.repository}:${ref.tag}`;
  throw new Error(`image '${ref.repository}' has neither a tag nor a digest`);
}

/** The version an image runs, for the `app.kubernetes.io/version` label. */
export function imageVersion(ref: ImageRef): string {
  return ref.tag ?? ref.digest ?? 'unknown';
}

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

/**
 * The ServiceAccount `name` of one workload, whose API token is not mounted unless a pod asks
 * for it: every workload has an identity of its own, and only those that talk to the API hold a
 * token (CIS Kubernetes 5.1.5, 5.1.6).
 */
export function ownServiceAccount(scope: Construct, name: string): kplus.k8s.KubeServiceAccount {
  return new k8s.KubeServiceAccount(scope, 'service-account', { metadata: { name }, automountServiceAccountToken: false });
}

/**
 * The pod-level fields of a Job's pod (one-off or scheduled): it runs to its end once, as `user`
 * (restricted), under the ServiceAccount `serviceAccount` with no API token, without Service
 * links.
 */
export function runToCompletionPod(serviceAccount: string, user: { uid: number; gid: number }) {
  return {
    restartPolicy: 'Never',
    serviceAccountName: serviceAccount,
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: restrictedPodSecurity(user),
  } satisfies Partial<kplus.k8s.PodSpec>;
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

/**
 * Requests and limits of a `ResourceSpec` as a Kubernetes `resources` block; `prop` names the
 * spec in the message when a request is not a positive whole number or a limit is below it.
 */
export function resourceRequirements(spec: ResourceSpec, prop = 'resources'): kplus.k8s.ResourceRequirements {
  for (const [name, pair] of Object.entries(spec) as Array<[string, { request: number; limit: number }]>) {
    if (!Number.isInteger(pair.request) || pair.request < 1) {
      throw new PropError(`'${prop}.${name}.request' must be a whole number of at least 1, got ${pair.request}`);
    }
    if (!Number.isInteger(pair.limit) || pair.limit < pair.request) {
      throw new PropError(`'${prop}.${name}.limit' must be a whole number of at least the request (${pair.request}), got ${pair.limit}`);
    }
  }
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
  scope: Construct,
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

/**
 * A liveness probe that only asks whether the process still accepts connections on `port`.
 * Liveness must not follow the health of dependencies (a restart does not fix an unreachable
 * etcd or MongoDB, it makes the outage worse); readiness checks the health endpoint, so the two
 * probes differ in what they test, not only in their timing (kube-score pod-probes-identical).
 */
export function tcpLiveness(port: string, periodSeconds: number, failureThreshold: number, timeoutSeconds = 3): kplus.k8s.Probe {
  return {
    tcpSocket: { port: kplus.k8s.IntOrString.fromString(port) },
    periodSeconds,
    failureThreshold,
    timeoutSeconds,
    successThreshold: 1,
  };
}

/** An HTTP GET probe of `path` on the container's port named `port`. */
export function httpProbe(
  path: string, port: string, periodSeconds: number, failureThreshold: number, timeoutSeconds = 3,
): kplus.k8s.Probe {
  return {
    httpGet: { path, port: kplus.k8s.IntOrString.fromString(port) },
    periodSeconds,
    failureThreshold,
    timeoutSeconds,
    successThreshold: 1,
  };
}

/** A container as the platform writes one: its image and resources as typed values. */
export interface ContainerSpec extends Omit<kplus.k8s.Container, 'image' | 'imagePullPolicy' | 'resources'> {
  readonly image: ImageRef;
  readonly resources: ResourceSpec;
}

/**
 * A container with the platform's defaults: the image by tag or digest, `IfNotPresent` (the
 * pins are immutable), requests and limits, and the restricted security context unless the spec
 * brings its own. `resourcesProp` names the resources in a refusal (`exporter.resources`).
 */
export function container(spec: ContainerSpec, resourcesProp = 'resources'): kplus.k8s.Container {
  const { image, resources, ...rest } = spec;
  return {
    ...rest,
    image: imageName(image),
    imagePullPolicy: 'IfNotPresent',
    resources: resourceRequirements(resources, resourcesProp),
    securityContext: rest.securityContext ?? restrictedContainerSecurity(),
  };
}

/** A named TCP container port. */
export function containerPort(name: string, port: number): kplus.k8s.ContainerPort {
  return { name, containerPort: port, protocol: 'TCP' };
}

const STORAGE_CLASS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

/** Checks a volume request: a whole number of GiB, and a StorageClass name if one is named. */
export function checkStorage(spec: StorageSpec, prop = 'storage'): void {
  if (!Number.isInteger(spec.sizeGiB) || spec.sizeGiB < 1) {
    throw new PropError(`'${prop}.sizeGiB' must be a whole number of at least 1, got ${spec.sizeGiB}`);
  }
  if (spec.storageClassName !== undefined && !STORAGE_CLASS_NAME.test(spec.storageClassName)) {
    throw new PropError(`'${prop}.storageClassName' must be a StorageClass name (a DNS subdomain), got '${spec.storageClassName}'`);
  }
}
