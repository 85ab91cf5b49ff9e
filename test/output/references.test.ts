import { ENVIRONMENTS } from '../../config';
import { catalogueFor } from '../support/fixtures';
import { allContainers, describe as name, matches, podSources } from '../support/model';
import { ALL_OUTPUTS, K8sObject, ofKind, synthesize } from '../support/synth';

// Properties of the whole synthesized output: every reference one object makes to another
// resolves inside dist/ (or, for Secrets, to the catalogue that create-secrets.sh fills).

// The catalogue of every environment: the fixed Secrets and each composition's client credentials.
const catalogue = new Map<string, Set<string>>(
  Object.values(ENVIRONMENTS).flatMap((c) => catalogueFor(c)).map((s) => [s.name, new Set(Object.values(s.keys).map((k) => k.key))]),
);

describe.each(ALL_OUTPUTS)('%s', (env) => {
  const { objects, config } = synthesize(env);
  const sources = podSources(objects);
  const services = ofKind(objects, 'Service');
  const byKindName = (kind: string, n: string) => objects.find((o) => o.kind === kind && o.metadata.name === n);

  test('every Service selects pods, and every port it targets by name exists on them', () => {
    const problems: string[] = [];
    for (const svc of services) {
      const pods = sources.filter((s) => matches(svc.spec.selector, s.labels));
      if (pods.length === 0) problems.push(`${name(svc)} selects no pods`);
      for (const port of svc.spec.ports) {
        for (const pod of pods) {
          const ports = allContainers(pod.spec).flatMap((c: any) => c.ports ?? []);
          const ok = typeof port.targetPort === 'string'
            ? ports.some((p: any) => p.name === port.targetPort)
            : ports.some((p: any) => p.containerPort === (port.targetPort ?? port.port));
          if (!ok) problems.push(`${name(svc)} port ${port.name} targets ${port.targetPort}, absent from ${name(pod.object)}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('every workload selector matches its own pod template', () => {
    for (const s of sources.filter((x) => x.object.spec.selector)) {
      expect(matches(s.object.spec.selector.matchLabels, s.labels)).toBe(true);
    }
  });

  test('every probe port and every volume mount refers to something the pod declares', () => {
    const problems: string[] = [];
    for (const s of sources) {
      const claims = (s.object.spec.volumeClaimTemplates ?? []).map((t: any) => t.metadata);
      const volumes = new Set([...(s.spec.volumes ?? []), ...claims].map((v: any) => v.name));
      for (const c of allContainers(s.spec)) {
        const portNames = new Set((c.ports ?? []).map((p: any) => p.name));
        for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
          const port = c[kind]?.httpGet?.port ?? c[kind]?.tcpSocket?.port ?? c[kind]?.grpc?.port;
          if (typeof port === 'string' && !portNames.has(port)) problems.push(`${name(s.object)}/${c.name} ${kind} port ${port}`);
        }
        for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name)) problems.push(`${name(s.object)}/${c.name} mounts ${m.name}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('every ConfigMap, Secret and ServiceAccount a pod uses exists (Secrets in the catalogue, with the key)', () => {
    const problems: string[] = [];
    const checkSecret = (where: string, secret: string, key?: string) => {
      const keys = catalogue.get(secret);
      if (!keys && secret !== config.edge.tlsSecretName) problems.push(`${where} uses Secret ${secret}, not in lib/secrets.ts`);
      else if (keys && key && !keys.has(key)) problems.push(`${where} uses ${secret}[${key}], not in lib/secrets.ts`);
    };
    const checkConfigMap = (where: string, cm: string, key?: string, optional?: boolean) => {
      const obj = byKindName('ConfigMap', cm);
      if (!obj) {
        if (!optional) problems.push(`${where} uses missing ConfigMap ${cm}`);
      } else if (key && !(key in (obj.data ?? {})) && !(key in (obj.binaryData ?? {}))) problems.push(`${where} uses missing key ${cm}[${key}]`);
    };
    for (const s of sources) {
      const where = name(s.object);
      const sa = s.spec.serviceAccountName;
      if (sa && s.object.kind !== 'Prometheus' && !byKindName('ServiceAccount', sa)) problems.push(`${where} runs as missing ServiceAccount ${sa}`);
      for (const c of allContainers(s.spec)) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.configMapKeyRef;
          if (ref) checkConfigMap(where, ref.name, ref.key, ref.optional);
          if (e.valueFrom?.secretKeyRef) checkSecret(where, e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key);
        }
        for (const f of c.envFrom ?? []) {
          if (f.configMapRef) checkConfigMap(where, f.configMapRef.name, undefined, f.configMapRef.optional);
          if (f.secretRef) checkSecret(where, f.secretRef.name);
        }
      }
      const volumeSources = (s.spec.volumes ?? []).flatMap((v: any) => [v, ...(v.projected?.sources ?? [])]);
      for (const v of volumeSources) {
        if (v.configMap) {
          checkConfigMap(where, v.configMap.name, undefined, v.configMap.optional);
          for (const item of v.configMap.items ?? []) checkConfigMap(where, v.configMap.name, item.key, v.configMap.optional);
        }
        if (v.secret) {
          const secretName = v.secret.secretName ?? v.secret.name;
          checkSecret(where, secretName);
          for (const item of v.secret.items ?? []) checkSecret(where, secretName, item.key);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('every HorizontalPodAutoscaler and PodDisruptionBudget targets an existing workload', () => {
    for (const hpa of ofKind(objects, 'HorizontalPodAutoscaler')) {
      const ref = hpa.spec.scaleTargetRef;
      const target = byKindName(ref.kind, ref.name);
      expect(target && `${target.apiVersion}`).toBe(ref.apiVersion);
      expect(target!.spec.replicas).toBeUndefined();
    }
    for (const pdb of ofKind(objects, 'PodDisruptionBudget')) {
      expect(sources.filter((s) => matches(pdb.spec.selector.matchLabels, s.labels)).map((s) => name(s.object))).toHaveLength(1);
    }
  });

  test('every StatefulSet is governed by an existing headless Service', () => {
    for (const sts of ofKind(objects, 'StatefulSet')) {
      const svc = byKindName('Service', sts.spec.serviceName);
      expect(svc?.spec.clusterIP).toBe('None');
      expect(matches(svc!.spec.selector, sts.spec.template.metadata.labels)).toBe(true);
    }
  });

  test('every ServiceMonitor selects exactly one Service, which has the named port', () => {
    const problems: string[] = [];
    for (const sm of ofKind(objects, 'ServiceMonitor')) {
      const selected = services.filter((s) => matches(sm.spec.selector.matchLabels, s.metadata.labels ?? {}));
      if (selected.length !== 1) problems.push(`${name(sm)} selects ${selected.length} Services`);
      for (const ep of sm.spec.endpoints) {
        for (const s of selected) if (!s.spec.ports.some((p: any) => p.name === ep.port)) problems.push(`${name(sm)} port ${ep.port} missing on ${name(s)}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('every host:port in a setting points at a Service port in the output', () => {
    const suffix = `.${config.namespace}.svc.${config.clusterDomain}`;
    const addresses = new Set<string>();
    const addressPattern = new RegExp(`([a-z0-9.-]+)${suffix.replace(/\./g, '\\.')}:(\\d+)`, 'g');
    const collect = (text: string) => {
      for (const m of text.matchAll(addressPattern)) addresses.add(`${m[1]}:${m[2]}`);
    };
    // Settings split in two (`MILVUS_HOST` + `MILVUS_PORT`) are joined into one address.
    const collectPairs = (settings: Record<string, string>) => {
      for (const [key, host] of Object.entries(settings)) {
        const port = key.endsWith('_HOST') ? settings[`${key.slice(0, -'_HOST'.length)}_PORT`] : undefined;
        if (port !== undefined) collect(`${host}:${port}`);
      }
    };
    for (const cm of ofKind(objects, 'ConfigMap')) {
      Object.values<string>(cm.data ?? {}).forEach(collect);
      collectPairs(cm.data ?? {});
    }
    for (const s of sources) for (const c of allContainers(s.spec)) {
      (c.env ?? []).forEach((e: any) => e.value && collect(e.value));
      collectPairs(Object.fromEntries((c.env ?? []).filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value])));
      [...(c.args ?? []), ...(c.command ?? [])].forEach(collect);
    }
    expect(addresses.size).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const address of addresses) {
      const [host, port] = address.split(':');
      const labels = host.split('.');
      // `svc` or `pod-N.headless-svc` (a StatefulSet member's stable name).
      const svcName = labels[labels.length - 1];
      const svc = byKindName('Service', svcName);
      if (!svc) {
        problems.push(`${address}: no Service ${svcName}`);
        continue;
      }
      if (!svc.spec.ports.some((p: any) => String(p.port) === port)) problems.push(`${address}: Service ${svcName} has no port ${port}`);
      if (labels.length === 2) {
        const sts = ofKind(objects, 'StatefulSet').find((x) => x.spec.serviceName === svcName);
        const ordinal = /^(.*)-(\d+)$/.exec(labels[0]);
        if (!sts || !ordinal || ordinal[1] !== sts.metadata.name || Number(ordinal[2]) >= sts.spec.replicas) {
          problems.push(`${address}: not a member of a StatefulSet governed by ${svcName}`);
        }
      } else if (labels.length > 2) problems.push(`${address}: unexpected host shape`);
    }
    expect(problems).toEqual([]);
  });

  test('every Ingress backend is a Service port that exists', () => {
    for (const ing of ofKind(objects, 'Ingress')) {
      for (const rule of ing.spec.rules) for (const path of rule.http.paths) {
        const svc = byKindName('Service', path.backend.service.name) as K8sObject;
        expect(svc).toBeDefined();
        const port = path.backend.service.port;
        expect(svc.spec.ports.some((p: any) => (port.name ? p.name === port.name : p.port === port.number))).toBe(true);
      }
    }
  });
});
