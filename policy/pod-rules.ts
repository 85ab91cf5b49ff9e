import { containersOf, K8sObject, podSets, ref } from '../lib/manifest';
import type { Rule } from './rules';

// The rules every pod must meet: Pod Security `restricted`, resources, probes, images, secrets.

const RESTRICTED_VOLUME_TYPES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?)$/i;
const URL_CREDENTIALS = /[a-z][a-z0-9+.-]*:\/\/[^/\s:@$]+:[^/\s@$]+@/i;

interface Pod {
  readonly owner: K8sObject;
  readonly spec: any;
  readonly labels: Readonly<Record<string, string>>;
}

/** The pods of pod templates: what the rules below can judge container by container. */
export function pods(objects: readonly K8sObject[]): Pod[] {
  return podSets(objects).filter((s) => s.madeBy === 'controller');
}

export function perContainer(objects: readonly K8sObject[], test: (c: any, pod: Pod) => string | undefined, which: 'all' | 'main' = 'all') {
  const out: Array<{ object: string; message: string }> = [];
  for (const pod of pods(objects)) {
    for (const c of which === 'all' ? containersOf(pod.spec) : pod.spec.containers) {
      const message = test(c, pod);
      if (message) out.push({ object: `${ref(pod.owner)}/${c.name}`, message });
    }
  }
  return out;
}

/** Kinds whose pods run to completion. */
const RUN_TO_COMPLETION = new Set(['Job', 'CronJob']);

export const POD_RULES: readonly Rule[] = [
  {
    id: 'run-as-non-root',
    protects: 'a container escape landing as root on the node',
    source: 'PSS restricted; kube-linter run-as-non-root; Polaris runAsRootAllowed; CKV_K8S_23',
    fix: 'set runAsNonRoot: true and a non-zero runAsUser in the pod or container securityContext',
    check: (objects) => perContainer(objects, (c, pod) => {
      const nonRoot = c.securityContext?.runAsNonRoot ?? pod.spec.securityContext?.runAsNonRoot;
      const user = c.securityContext?.runAsUser ?? pod.spec.securityContext?.runAsUser;
      if (nonRoot !== true) return 'runAsNonRoot is not true';
      if (user === 0) return 'runAsUser is 0';
      return undefined;
    }),
  },
  {
    id: 'no-privilege-escalation',
    protects: 'setuid binaries and privileged mode turning a bug into node access',
    source: 'PSS restricted/baseline; kube-linter privilege-escalation-container, privileged-container; CKV_K8S_16, CKV_K8S_20',
    fix: 'set allowPrivilegeEscalation: false and leave privileged unset or false',
    check: (objects) => perContainer(objects, (c) => {
      if (c.securityContext?.allowPrivilegeEscalation !== false) return 'allowPrivilegeEscalation is not explicitly false';
      if (c.securityContext?.privileged === true) return 'privileged is true';
      return undefined;
    }),
  },
  {
    id: 'drop-all-capabilities',
    protects: 'kernel capabilities (NET_RAW, SYS_ADMIN, ...) available to an attacker',
    source: 'PSS restricted; Polaris insecureCapabilities; CKV_K8S_28/37',
    fix: "set capabilities.drop: ['ALL'] and add nothing but NET_BIND_SERVICE",
    check: (objects) => perContainer(objects, (c) => {
      const caps = c.securityContext?.capabilities ?? {};
      if (!(caps.drop ?? []).includes('ALL')) return 'capabilities.drop does not include ALL';
      const extra = (caps.add ?? []).filter((a: string) => a !== 'NET_BIND_SERVICE');
      return extra.length ? `adds capabilities ${extra.join(', ')}` : undefined;
    }),
  },
  {
    id: 'seccomp-runtime-default',
    protects: 'the full syscall surface of the kernel',
    source: 'PSS restricted; kube-score container-seccomp-profile; CKV_K8S_31',
    fix: "set seccompProfile.type: RuntimeDefault in the pod securityContext",
    check: (objects) => perContainer(objects, (c, pod) => {
      const type = c.securityContext?.seccompProfile?.type ?? pod.spec.securityContext?.seccompProfile?.type;
      return type === 'RuntimeDefault' || type === 'Localhost' ? undefined : `seccompProfile is ${type ?? 'unset'}`;
    }),
  },
  {
    id: 'read-only-root-filesystem',
    protects: 'an attacker (or a bug) modifying the image at run time',
    source: 'kube-linter no-read-only-root-fs; kube-score; Polaris notReadOnlyRootFilesystem; CKV_K8S_22',
    fix: 'set readOnlyRootFilesystem: true and mount emptyDirs where the process writes',
    check: (objects) => perContainer(objects, (c) => (c.securityContext?.readOnlyRootFilesystem === true ? undefined : 'root filesystem is writable')),
  },
  {
    id: 'restricted-volume-types',
    protects: 'host paths and other volume types the restricted Pod Security Standard forbids',
    source: 'PSS restricted (volume types); kube-linter sensitive-host-mounts; CKV_K8S_27',
    fix: 'use only configMap, secret, emptyDir, persistentVolumeClaim, projected, downwardAPI, csi or ephemeral volumes',
    check: (objects) => pods(objects).flatMap((pod) => (pod.spec.volumes ?? [])
      .map((v: any) => Object.keys(v).find((k) => k !== 'name'))
      .filter((type: string | undefined) => !type || !RESTRICTED_VOLUME_TYPES.has(type))
      .map((type: string) => ({ object: ref(pod.owner), message: `volume type ${type} is not allowed` }))),
  },
  {
    id: 'no-host-access',
    protects: "the node's network, processes and ports",
    source: 'PSS baseline; kube-linter host-network/host-pid/host-ipc; Polaris hostPortSet; CKV_K8S_17/18/19/26',
    fix: 'remove hostNetwork, hostPID, hostIPC and hostPort',
    check: (objects) => [
      ...pods(objects).filter((p) => p.spec.hostNetwork || p.spec.hostPID || p.spec.hostIPC).map((p) => ({ object: ref(p.owner), message: 'uses a host namespace' })),
      ...perContainer(objects, (c) => ((c.ports ?? []).some((p: any) => p.hostPort) ? 'declares a hostPort' : undefined)),
    ],
  },
  {
    id: 'resources',
    protects: 'noisy neighbours, OOM kills of other pods and unschedulable capacity surprises',
    source: 'kube-score container-resources, container-ephemeral-storage-request-and-limit; Polaris; kube-linter; CKV_K8S_10-13',
    fix: 'set requests and limits for cpu, memory and ephemeral-storage on every container',
    check: (objects) => perContainer(objects, (c) => {
      const missing: string[] = [];
      for (const kind of ['requests', 'limits']) {
        for (const r of ['cpu', 'memory', 'ephemeral-storage']) if (!c.resources?.[kind]?.[r]) missing.push(`${kind}.${r}`);
      }
      return missing.length ? `missing ${missing.join(', ')}` : undefined;
    }),
  },
  {
    id: 'probes',
    protects: 'traffic sent to pods that cannot serve, and hung processes never restarted',
    source: 'kube-score pod-probes, pod-probes-identical; kube-linter no-readiness-probe/no-liveness-probe; Polaris; CKV_K8S_8/9',
    fix: 'give every long-running container a readiness and a liveness probe, and make them differ',
    // Run-to-completion pods (Jobs, CronJobs) serve nothing and end on their own: no probes.
    check: (objects) => perContainer(objects, (c, pod) => {
      if (RUN_TO_COMPLETION.has(pod.owner.kind)) return undefined;
      if (!c.readinessProbe) return 'has no readinessProbe';
      if (!c.livenessProbe) return 'has no livenessProbe';
      // Like kube-score, compare what the probes test, not their timing.
      const handler = (p: any) => JSON.stringify(p.httpGet ?? p.exec ?? p.tcpSocket ?? p.grpc);
      if (handler(c.readinessProbe) === handler(c.livenessProbe)) return 'readiness and liveness probes test the same thing';
      return undefined;
    }, 'main'),
  },
  {
    id: 'pinned-images',
    protects: 'an unreviewed image arriving with the next pull',
    source: 'kube-linter latest-tag; kube-score container-image-tag; Polaris tagNotSpecified; CKV_K8S_14',
    fix: 'use a release tag (not latest) or a sha256 digest',
    check: (objects) => perContainer(objects, (c) => {
      const image: string = c.image ?? '';
      if (/@sha256:[a-f0-9]{64}$/.test(image)) return undefined;
      const tag = /:([^/:@]+)$/.exec(image)?.[1];
      return !tag || tag === 'latest' ? `image ${image} is not pinned` : undefined;
    }),
  },
  {
    id: 'service-account-token',
    protects: 'a compromised pod talking to the Kubernetes API',
    source: 'Polaris automountServiceAccountToken; kube-linter default-service-account, non-existent-service-account; CKV_K8S_38/41/42',
    fix: 'run under a dedicated ServiceAccount that exists and set automountServiceAccountToken: false unless the pod needs the API',
    check: (objects) => pods(objects).flatMap((pod) => {
      const sa = pod.spec.serviceAccountName;
      const problems: string[] = [];
      if (!sa || sa === 'default') problems.push('runs as the default ServiceAccount');
      else if (!objects.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === sa)) problems.push(`ServiceAccount ${sa} does not exist`);
      if (pod.spec.automountServiceAccountToken !== false) problems.push('mounts an API token');
      return problems.map((message) => ({ object: ref(pod.owner), message }));
    }),
  },
  {
    id: 'no-secret-literals',
    protects: 'secrets leaking through manifests, Git and `kubectl get -o yaml`',
    source: 'kube-linter env-var-secret; Polaris sensitiveContainerEnvVar/sensitiveConfigmapContent; CKV_K8S_35',
    fix: 'read the value from a Secret (secretKeyRef or a secret volume); keep credentials out of URLs',
    check: (objects) => [
      ...perContainer(objects, (c) => {
        for (const e of c.env ?? []) {
          if (e.value !== undefined && SECRET_NAME.test(e.name)) return `env ${e.name} is a literal`;
          if (e.value !== undefined && URL_CREDENTIALS.test(e.value)) return `env ${e.name} has credentials in a URL`;
        }
        return [...(c.args ?? []), ...(c.command ?? [])].some((a: string) => URL_CREDENTIALS.test(a)) ? 'credentials in a command-line URL' : undefined;
      }),
      ...objects.filter((o) => o.kind === 'ConfigMap').flatMap((cm) => Object.entries<string>(cm.data ?? {})
        .filter(([k, v]) => URL_CREDENTIALS.test(v) || (SECRET_NAME.test(k) && v.length > 0))
        .map(([k]) => ({ object: ref(cm), message: `key ${k} looks like a secret` }))),
      ...objects.filter((o) => o.kind === 'Secret').map((s) => ({ object: ref(s), message: 'a Secret with its value is in the manifests' })),
    ],
  },
];
