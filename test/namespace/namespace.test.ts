import { parseQuantity } from '../../lib/manifest';
import { ALL_ENVIRONMENTS, find, ofKind, synthesize } from '../support/synth';

describe.each(ALL_ENVIRONMENTS)('%s namespace', (env) => {
  const { objects, config, files } = synthesize(env);

  test('is created first and enforces, audits and warns on the restricted Pod Security Standard, pinned', () => {
    const ns = files[0].objects[0];
    expect(ns.kind).toBe('Namespace');
    expect(ns.metadata.name).toBe(config.namespace);
    for (const mode of ['enforce', 'audit', 'warn']) {
      expect(ns.metadata.labels?.[`pod-security.kubernetes.io/${mode}`]).toBe('restricted');
      expect(ns.metadata.labels?.[`pod-security.kubernetes.io/${mode}-version`]).toBe('v1.27');
    }
  });

  test('has a quota that fits every workload at its HPA maximum plus a surge pod, and every Job, with headroom', () => {
    const hard = find(objects, 'ResourceQuota', 'platform').spec.hard;
    // Sum independently: each container's requests, times the most pods its workload runs.
    let cpu = 0;
    let memory = 0;
    let pods = 0;
    for (const w of [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'StatefulSet')]) {
      const hpa = ofKind(objects, 'HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.name === w.metadata.name);
      const n = (hpa ? hpa.spec.maxReplicas : w.spec.replicas ?? 1) + (w.kind === 'Deployment' ? 1 : 0);
      pods += n;
      for (const c of w.spec.template.spec.containers) {
        cpu += parseQuantity(c.resources.requests.cpu) * n;
        memory += parseQuantity(c.resources.requests.memory) * n;
      }
    }
    // Jobs and CronJobs (concurrencyPolicy Forbid): one pod each at a time.
    for (const j of [...ofKind(objects, 'Job'), ...ofKind(objects, 'CronJob').map((c) => c.spec.jobTemplate)]) {
      for (const c of j.spec.template.spec.containers) {
        cpu += parseQuantity(c.resources.requests.cpu);
        memory += parseQuantity(c.resources.requests.memory);
      }
      pods += 1;
    }
    expect(parseQuantity(hard['requests.cpu'])).toBeGreaterThanOrEqual(cpu);
    expect(parseQuantity(hard['requests.memory'])).toBeGreaterThanOrEqual(memory);
    expect(Number(hard.pods)).toBeGreaterThanOrEqual(pods);
    expect(parseQuantity(hard['requests.cpu'])).toBeLessThan(cpu * 2); // derived, not arbitrary
  });

  test('caps containers at the largest container the platform runs and defaults the rest', () => {
    const limit = find(objects, 'LimitRange', 'platform').spec.limits[0];
    const largest = Math.max(...[...ofKind(objects, 'Deployment'), ...ofKind(objects, 'StatefulSet')]
      .flatMap((w) => [...(w.spec.template.spec.initContainers ?? []), ...w.spec.template.spec.containers])
      .map((c) => parseQuantity(c.resources.limits.memory)));
    expect(parseQuantity(limit.max.memory)).toBeGreaterThanOrEqual(largest);
    expect(limit.defaultRequest).toBeDefined();
  });

  test('forbids LoadBalancer and NodePort Services', () => {
    const hard = find(objects, 'ResourceQuota', 'platform').spec.hard;
    expect([hard['services.loadbalancers'], hard['services.nodeports']]).toEqual([0, 0]);
  });
});
