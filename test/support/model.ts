import { containersOf, podSets, ref, selects } from '../../lib/manifest';
import { K8sObject } from './synth';

// The tests read the output through the same model as the policy gate and the quota.

/** Something that runs pods: a workload's template, or an operator-managed pod set. */
export interface PodSource {
  readonly object: K8sObject;
  readonly labels: Record<string, string>;
  readonly spec: any;
}

/** Every set of pods the output creates, with the labels the pods carry. */
export function podSources(objects: K8sObject[]): PodSource[] {
  return podSets(objects).map((s) => ({ object: s.owner, labels: { ...s.labels }, spec: s.spec }));
}

export const matches = selects;
export const allContainers = containersOf;
export const describe = ref;
