/**
 * The policy gate: the checks of kube-score, kube-linter, Polaris, the `restricted` Pod Security
 * Standard and Checkov that apply to this platform, as rules over synthesized objects. Each
 * finding names the object, the rule and the fix. Used by `npm test` and, as a cdk8s
 * validation plugin (policy/plugin.ts), by every `cdk8s synth`.
 */

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
}

export interface Finding {
  readonly rule: string;
  /** `Kind/name`, plus `/container` where one container is at fault. */
  readonly object: string;
  readonly message: string;
  readonly fix: string;
}

export interface Rule {
  readonly id: string;
  /** What the rule protects against, for the README table. */
  readonly protects: string;
  /** Which public checks it stands for. */
  readonly source: string;
  readonly fix: string;
  check(objects: readonly K8sObject[]): Array<Omit<Finding, 'rule' | 'fix'>>;
}

const POD_TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet']);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PriorityClass', 'StorageClass', 'IngressClass']);
const RECOMMENDED_LABELS = ['name', 'instance', 'component', 'part-of', 'managed-by', 'version'].map((l) => `app.kubernetes.io/${l}`);
const RESTRICTED_VOLUME_TYPES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?)$/i;
const URL_CREDENTIALS = /[a-z][a-z0-9+.-]*:\/\/[^/\s:@$]+:[^/\s@$]+@/i;

interface Pod {
  readonly owner: K8sObject;
  readonly spec: any;
  readonly labels: Record<string, string>;
}

function pods(objects: readonly K8sObject[]): Pod[] {
  return objects
    .filter((o) => POD_TEMPLATE_KINDS.has(o.kind) && o.spec?.template?.spec)
    .map((o) => ({ owner: o, spec: o.spec.template.spec, labels: o.spec.template.metadata?.labels ?? {} }));
}

const ref = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
const containersOf = (spec: any): any[] => [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Replicas a workload runs at its smallest: the HPA minimum where one targets it. */
function minReplicas(objects: readonly K8sObject[], workload: K8sObject): number {
  const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.spec.scaleTargetRef.kind === workload.kind && o.spec.scaleTargetRef.name === workload.metadata.name);
  return hpa ? hpa.spec.minReplicas ?? 1 : workload.spec.replicas ?? 1;
}

function perContainer(objects: readonly K8sObject[], test: (c: any, pod: Pod) => string | undefined, which: 'all' | 'main' = 'all') {
  const out: Array<{ object: string; message: string }> = [];
  for (const pod of pods(objects)) {
    for (const c of which === 'all' ? containersOf(pod.spec) : pod.spec.containers) {
      const message = test(c, pod);
      if (message) out.push({ object: `${ref(pod.owner)}/${c.name}`, message });
    }
  }
  return out;
}

export const RULES: readonly Rule[] = [
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
    check: (objects) => perContainer(objects, (c) => {
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
  {
    id: 'recommended-labels',
    protects: 'objects nobody can attribute, select, prune or report on',
    source: 'kube-score label-values; Polaris metadataAndInstanceMismatched; Kubernetes recommended labels',
    fix: 'create the object inside a PlatformChart and a Component so it gets the app.kubernetes.io labels',
    check: (objects) => objects.flatMap((o) => {
      const missing = RECOMMENDED_LABELS.filter((l) => !o.metadata.labels?.[l]);
      return missing.length ? [{ object: ref(o), message: `missing labels ${missing.join(', ')}` }] : [];
    }),
  },
  {
    id: 'explicit-namespace',
    protects: "objects landing in `default` or in whatever namespace the operator's context points at",
    source: 'kube-linter use-namespace; CKV_K8S_21',
    fix: 'create the object in a PlatformChart, which sets metadata.namespace',
    check: (objects) => objects
      .filter((o) => !CLUSTER_SCOPED.has(o.kind) && (!o.metadata.namespace || o.metadata.namespace === 'default'))
      .map((o) => ({ object: ref(o), message: `namespace is ${o.metadata.namespace ?? 'unset'}` })),
  },
  {
    id: 'hpa-owns-replicas',
    protects: 'every apply resetting the replica count the autoscaler chose',
    source: 'kube-score deployment-targeted-by-hpa-does-not-have-replicas-configured, horizontalpodautoscaler-has-target; kube-linter dangling-horizontalpodautoscaler; Polaris hpaMaxAvailability',
    fix: 'omit spec.replicas on HPA targets, point the HPA at an existing workload and give it maxReplicas > minReplicas',
    check: (objects) => objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').flatMap((hpa) => {
      const t = hpa.spec.scaleTargetRef;
      const target = objects.find((o) => o.kind === t.kind && o.metadata.name === t.name);
      if (!target) return [{ object: ref(hpa), message: `targets missing ${t.kind}/${t.name}` }];
      const problems: string[] = [];
      if (target.spec.replicas !== undefined) problems.push(`${ref(target)} sets replicas (${target.spec.replicas})`);
      if (!(hpa.spec.maxReplicas > (hpa.spec.minReplicas ?? 1))) problems.push('maxReplicas does not exceed minReplicas');
      return problems.map((message) => ({ object: ref(hpa), message }));
    }),
  },
  {
    id: 'disruption-budget',
    protects: 'node drains and upgrades taking down every replica at once (or being blocked forever)',
    source: 'kube-score deployment-/statefulset-has-poddisruptionbudget; Polaris missingPodDisruptionBudget, pdbDisruptionsIsZero; kube-linter pdb-*',
    fix: 'add a PodDisruptionBudget with maxUnavailable >= 1 and unhealthyPodEvictionPolicy: AlwaysAllow',
    check: (objects) => {
      const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
      const out: Array<{ object: string; message: string }> = [];
      for (const w of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')) {
        if (minReplicas(objects, w) < 2) continue;
        if (!pdbs.some((p) => selects(p.spec.selector?.matchLabels, w.spec.template.metadata?.labels ?? {}))) out.push({ object: ref(w), message: 'has several replicas and no PodDisruptionBudget' });
      }
      for (const p of pdbs) {
        if (p.spec.maxUnavailable === 0 || p.spec.maxUnavailable === '0%') out.push({ object: ref(p), message: 'maxUnavailable 0 blocks every eviction' });
        if (p.spec.minAvailable !== undefined) out.push({ object: ref(p), message: 'minAvailable can block evictions when the HPA scales down; use maxUnavailable' });
        if (!p.spec.unhealthyPodEvictionPolicy) out.push({ object: ref(p), message: 'unhealthyPodEvictionPolicy unset' });
      }
      return out;
    },
  },
  {
    id: 'spread-replicas',
    protects: 'all replicas on one node, lost together with it',
    source: 'kube-linter no-anti-affinity; kube-score pod-topology-spread-constraints, *-has-host-podantiaffinity; Polaris topologySpreadConstraint',
    fix: 'add a topologySpreadConstraint on kubernetes.io/hostname (and zone) or a pod anti-affinity',
    check: (objects) => objects.filter((o) => (o.kind === 'Deployment' || o.kind === 'StatefulSet') && minReplicas(objects, o) >= 1).flatMap((w) => {
      const spec = w.spec.template.spec;
      const spread = (spec.topologySpreadConstraints ?? []).some((t: any) => t.topologyKey === 'kubernetes.io/hostname');
      const anti = !!spec.affinity?.podAntiAffinity;
      const scales = minReplicas(objects, w) > 1 || objects.some((o) => o.kind === 'HorizontalPodAutoscaler' && o.spec.scaleTargetRef.name === w.metadata.name);
      return scales && !(spread && anti) ? [{ object: ref(w), message: 'replicas are not spread across nodes' }] : [];
    }),
  },
  {
    id: 'zero-downtime-rollout',
    protects: 'capacity dropping during a rollout',
    source: 'kube-linter no-rolling-update-strategy; kube-score deployment-strategy',
    fix: 'use a RollingUpdate strategy with maxUnavailable 0 (and a surge)',
    check: (objects) => objects.filter((o) => o.kind === 'Deployment').flatMap((d) => {
      const s = d.spec.strategy;
      return s?.type === 'RollingUpdate' && s.rollingUpdate?.maxUnavailable === 0 ? [] : [{ object: ref(d), message: `strategy ${s?.type ?? 'default'} may take pods down before new ones are ready` }];
    }),
  },
  {
    id: 'selectors-resolve',
    protects: 'Services, NetworkPolicies and PDBs that silently select nothing',
    source: 'kube-linter dangling-service, dangling-networkpolicy, mismatching-selector; kube-score service-targets-pod, statefulset-has-servicename',
    fix: 'select the pods through the Component selector; govern StatefulSets with a headless Service',
    check: (objects) => {
      const all = pods(objects);
      const labelSets = [...all.map((p) => p.labels), ...objects.filter((o) => o.kind === 'Prometheus').map((o) => o.spec.podMetadata?.labels ?? {})];
      const out: Array<{ object: string; message: string }> = [];
      for (const o of objects) {
        const sel = o.kind === 'Service' ? o.spec.selector : o.kind === 'PodDisruptionBudget' ? o.spec.selector?.matchLabels : o.kind === 'NetworkPolicy' ? o.spec.podSelector?.matchLabels : undefined;
        if (o.kind === 'NetworkPolicy' && Object.keys(sel ?? {}).length === 0) continue; // namespace-wide policy
        if (sel !== undefined && !labelSets.some((l) => selects(sel, l))) out.push({ object: ref(o), message: 'selects no pods' });
        if ((o.kind === 'Deployment' || o.kind === 'StatefulSet') && !selects(o.spec.selector?.matchLabels, o.spec.template.metadata?.labels ?? {})) out.push({ object: ref(o), message: 'selector does not match its pod template' });
        if (o.kind === 'StatefulSet') {
          const svc = objects.find((s) => s.kind === 'Service' && s.metadata.name === o.spec.serviceName);
          if (svc?.spec.clusterIP !== 'None') out.push({ object: ref(o), message: `serviceName ${o.spec.serviceName} is not a headless Service` });
        }
      }
      return out;
    },
  },
  {
    id: 'ports-and-env-resolve',
    protects: 'probes and Services aimed at ports no container opens, and settings silently overwritten',
    source: 'kube-linter liveness-port, readiness-port, startup-port, duplicate-env-var; kube-score service-targets-pod',
    fix: "name a port the container declares in every probe and every Service targetPort; set each env variable once",
    check: (objects) => {
      const out: Array<{ object: string; message: string }> = [];
      const declares = (c: any, port: unknown) =>
        (c.ports ?? []).some((p: any) => (typeof port === 'number' ? p.containerPort === port : p.name === port));
      out.push(...perContainer(objects, (c) => {
        for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
          const port = c[kind]?.httpGet?.port ?? c[kind]?.tcpSocket?.port ?? c[kind]?.grpc?.port;
          if (port !== undefined && !declares(c, port)) return `${kind} targets port ${port}, which the container does not declare`;
        }
        const names = (c.env ?? []).map((e: any) => e.name);
        const twice = names.find((n: string, i: number) => names.indexOf(n) !== i);
        return twice ? `env ${twice} is set twice` : undefined;
      }));
      const all = pods(objects);
      for (const svc of objects.filter((o) => o.kind === 'Service' && o.spec.selector)) {
        const selected = all.filter((p) => selects(svc.spec.selector, p.labels));
        for (const port of svc.spec.ports ?? []) {
          const target = port.targetPort ?? port.port;
          if (selected.length > 0 && !selected.some((p) => containersOf(p.spec).some((c) => declares(c, target)))) {
            out.push({ object: ref(svc), message: `port ${port.name ?? port.port} targets ${target}, which no selected container declares` });
          }
        }
      }
      return out;
    },
  },
  {
    id: 'network-isolation',
    protects: 'lateral movement from one compromised pod to every other',
    source: 'kube-score pod-networkpolicy; kube-linter non-isolated-pod; Polaris missingNetworkPolicy; CKV2_K8S_6',
    fix: 'keep the default-deny NetworkPolicy and connect components with Component.connect',
    check: (objects) => {
      const deny = objects.some((o) => o.kind === 'NetworkPolicy' && Object.keys(o.spec.podSelector?.matchLabels ?? {}).length === 0
        && (o.spec.policyTypes ?? []).includes('Ingress') && (o.spec.policyTypes ?? []).includes('Egress') && !o.spec.ingress && !o.spec.egress);
      return deny || !objects.some((o) => o.kind === 'Namespace') ? [] : [{ object: 'Namespace', message: 'no default-deny NetworkPolicy for ingress and egress' }];
    },
  },
  {
    id: 'internal-services',
    protects: 'a data store exposed outside the cluster',
    source: 'kube-linter exposed-services; kube-score service-type',
    fix: 'use ClusterIP Services; expose HTTP only through the Ingress or Gateway',
    check: (objects) => objects.filter((o) => o.kind === 'Service' && ['NodePort', 'LoadBalancer'].includes(o.spec.type)).map((o) => ({ object: ref(o), message: `type ${o.spec.type}` })),
  },
  {
    id: 'ingress-tls-no-snippets',
    protects: 'plain-text traffic and configuration injection through snippet annotations',
    source: 'Polaris tlsSettingsMissing; CKV_K8S_152/153/154',
    fix: 'give every Ingress spec.tls and express settings with the controller annotations, never *-snippet',
    check: (objects) => objects.filter((o) => o.kind === 'Ingress').flatMap((i) => [
      ...(i.spec.tls?.length ? [] : [{ object: ref(i), message: 'has no TLS' }]),
      ...Object.keys(i.metadata.annotations ?? {}).filter((a) => a.endsWith('-snippet')).map((a) => ({ object: ref(i), message: `uses ${a}` })),
    ]),
  },
  {
    id: 'least-privilege-rbac',
    protects: 'a workload that can read Secrets or take over the cluster',
    source: 'kube-linter wildcard-in-rules, access-to-secrets, access-to-create-pods, cluster-admin-role-binding; CKV_K8S_49/155-158',
    fix: 'grant named verbs on named resources in a namespaced Role; no wildcards, Secrets, pods/exec or cluster-admin',
    check: (objects) => objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole' || o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding').flatMap((o) => {
      if (o.kind.endsWith('Binding')) return o.roleRef?.name === 'cluster-admin' || o.kind === 'ClusterRoleBinding' ? [{ object: ref(o), message: `binds ${o.roleRef?.name} cluster-wide` }] : [];
      const problems: string[] = [];
      if (o.kind === 'ClusterRole') problems.push('is cluster-wide');
      for (const r of o.rules ?? []) {
        if ([...(r.verbs ?? []), ...(r.resources ?? []), ...(r.apiGroups ?? [])].includes('*')) problems.push('uses a wildcard');
        if ((r.resources ?? []).includes('secrets')) problems.push('can access Secrets');
        if ((r.resources ?? []).some((x: string) => ['pods/exec', 'pods/attach'].includes(x)) || ((r.resources ?? []).includes('pods') && (r.verbs ?? []).includes('create'))) problems.push('can run code in pods');
      }
      return problems.map((message) => ({ object: ref(o), message }));
    }),
  },
];

/** A finding the platform accepts on purpose, with the reason next to it. */
export interface PolicyException {
  readonly rule: string;
  /** `Kind/name` or `Kind/name/container`. */
  readonly object: string;
  readonly reason: string;
}

/** Runs every rule; findings matched by an exception are dropped. */
export function evaluate(objects: readonly K8sObject[], exceptions: readonly PolicyException[] = []): Finding[] {
  const findings: Finding[] = [];
  for (const rule of RULES) {
    for (const f of rule.check(objects)) {
      if (exceptions.some((e) => e.rule === rule.id && e.object === f.object)) continue;
      findings.push({ rule: rule.id, object: f.object, message: f.message, fix: rule.fix });
    }
  }
  return findings;
}

export function formatFinding(f: Finding): string {
  return `${f.object}: [${f.rule}] ${f.message}; fix: ${f.fix}`;
}
