import * as kplus from 'cdk8s-plus-27';

import { Component } from '../../lib/component';
import { ownServiceAccount } from '../../lib/pod';

const k8s = kplus.k8s;

/**
 * A ServiceAccount named after `component`, a namespaced Role with `rules` and the binding
 * between them: the identity of a component that talks to the Kubernetes API. The account does
 * not mount its token by default; the pod that needs it says so.
 */
export function namespacedApiIdentity(component: Component, namespace: string, rules: kplus.k8s.PolicyRule[]): void {
  ownServiceAccount(component, component.name);
  new k8s.KubeRole(component, 'role', { metadata: { name: component.name }, rules });
  new k8s.KubeRoleBinding(component, 'role-binding', {
    metadata: { name: component.name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: component.name },
    subjects: [{ kind: 'ServiceAccount', name: component.name, namespace }],
  });
}
