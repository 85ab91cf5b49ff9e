import { CLUSTER_SCOPED_KINDS, containersOf, minReplicas, podSets, ref, selects } from '../lib/manifest';
import { catalogueSecrets } from '../lib/secrets';
import { perContainer, pods } from './pod-rules';
import type { Rule } from './rules';

// The rules on objects and how they fit together: labels, namespaces, scaling, disruption,
// selectors and ports that resolve, isolation, exposure and RBAC.

const RECOMMENDED_LABELS = ['name', 'instance', 'component', 'part-of', 'managed-by', 'version'].map((l) => `app.kubernetes.io/${l}`);

/** The Secrets each container of a pod reads: env, envFrom, and the volumes it mounts. */
function secretsRead(spec: any): Array<{ container: string; secret: string }> {
  const byVolume = new Map<string, string[]>();
  for (const v of spec.volumes ?? []) {
    const names = [v.secret?.secretName, ...(v.projected?.sources ?? []).map((p: any) => p.secret?.name)].filter(Boolean);
    byVolume.set(v.name, names);
  }
  return containersOf(spec).flatMap((c: any) => [
    ...(c.env ?? []).map((e: any) => e.valueFrom?.secretKeyRef?.name),
    ...(c.envFrom ?? []).map((e: any) => e.secretRef?.name),
    ...(c.volumeMounts ?? []).flatMap((m: any) => byVolume.get(m.name) ?? []),
  ].filter(Boolean).map((secret: string) => ({ container: c.name, secret })));
}

/** `Kind/name/container` against a pattern of lib/secrets.ts `adminOnly`: `*` is any run of characters but `/`. */
const matchesUser = (pattern: string, user: string) =>
  new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`).test(user);

export const OBJECT_RULES: readonly Rule[] = [
  {
    id: 'admin-credentials',
    protects: "a client holding a store's administrative credentials: one compromised pod owning the whole store",
    source: 'least privilege (issue 18); CIS Kubernetes 5.4.1',
    fix: "give the client a user of its own (the store's user(...)); a store's admin Secret is read only by the containers its catalogue entry names",
    check: (objects) => {
      const admin = new Map(catalogueSecrets().filter((s) => s.adminOnly).map((s) => [s.name, s.adminOnly!]));
      return podSets(objects).flatMap((set) => secretsRead(set.spec)
        .filter(({ secret }) => admin.has(secret))
        .filter(({ container, secret }) => !admin.get(secret)!.some((p) => matchesUser(p, `${ref(set.owner)}/${container}`)))
        .map(({ container, secret }) => ({ object: `${ref(set.owner)}/${container}`, message: `reads ${secret}, a store's administrative credentials` })));
    },
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
      .filter((o) => !CLUSTER_SCOPED_KINDS.has(o.kind) && (!o.metadata.namespace || o.metadata.namespace === 'default'))
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
      // Every pod the output makes, the ones an operator makes from a custom resource included.
      const labelSets = podSets(objects).map((p) => p.labels);
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
