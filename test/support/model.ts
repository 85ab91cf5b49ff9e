import { K8sObject } from './synth';

/** Something that runs pods: a workload's template, or an operator-managed pod set. */
export interface PodSource {
  readonly object: K8sObject;
  readonly labels: Record<string, string>;
  readonly spec: any;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);

/** Every set of pods the output creates, with the labels the pods carry. */
export function podSources(objects: K8sObject[]): PodSource[] {
  const sources: PodSource[] = [];
  for (const o of objects) {
    if (WORKLOAD_KINDS.has(o.kind)) {
      sources.push({ object: o, labels: o.spec.template.metadata?.labels ?? {}, spec: o.spec.template.spec });
    } else if (o.kind === 'Prometheus' && o.apiVersion.startsWith('monitoring.coreos.com/')) {
      // The operator creates these pods with podMetadata's labels; its own containers expose `web` (9090).
      sources.push({
        object: o,
        labels: o.spec.podMetadata?.labels ?? {},
        spec: { containers: [{ name: 'prometheus', ports: [{ name: 'web', containerPort: 9090 }] }, ...(o.spec.containers ?? [])] },
      });
    }
  }
  return sources;
}

export function matches(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export function allContainers(spec: any): any[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

export function describe(o: K8sObject): string {
  return `${o.kind}/${o.metadata.name}`;
}
