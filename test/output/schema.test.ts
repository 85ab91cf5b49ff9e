import { ALL_OUTPUTS, K8sObject, synthesize } from '../support/synth';

// Every object of every environment (and mode variant) validates against the Kubernetes API schema and the CRD
// schemas, through maintained models (kubernetes-models; @kubernetes-models/* for the CRDs).
// Unknown fields are caught later by `kubectl apply --dry-run=server --validate=strict` and
// kubeconform -strict in verify/ (see README).

function modelFor(o: K8sObject): { validate(): void } {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const path =
    group === 'monitoring.coreos.com' ? `@kubernetes-models/prometheus-operator/${group}/${version}/${o.kind}`
    : group === 'gateway.networking.k8s.io' ? `@kubernetes-models/gateway-api/${group}/${version}/${o.kind}`
    : `kubernetes-models/${group ? `${group}/` : ''}${version}/${o.kind}`;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Model = require(path)[o.kind];
  if (!Model) throw new Error(`no schema model for ${o.apiVersion} ${o.kind}`);
  return new Model(o);
}

describe.each(ALL_OUTPUTS)('%s', (env) => {
  const { objects } = synthesize(env);

  test.each(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o] as const))('%s matches its API schema', (_name, o) => {
    expect(() => modelFor(o).validate()).not.toThrow();
  });

  test('uses only stable API versions, but for the AlertmanagerConfig', () => {
    // The operator's CRD serves AlertmanagerConfig as v1alpha1 only (v1beta1 needs its conversion webhook).
    const unstable = objects.filter((o) => /(alpha|beta)\d*$/.test(o.apiVersion)).map((o) => `${o.apiVersion} ${o.kind}`);
    expect(unstable.filter((v) => v !== 'monitoring.coreos.com/v1alpha1 AlertmanagerConfig')).toEqual([]);
  });
});

test('the schema check rejects an invalid object', () => {
  const bad = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'three', selector: {}, template: {} } } as unknown as K8sObject;
  expect(() => modelFor(bad).validate()).toThrow(/replicas must be integer/);
});
