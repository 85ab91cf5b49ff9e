import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { PlatformChart, PlatformChartProps } from '../lib/platform-chart';

/** Pod Security Standard version the namespace pins (the oldest Kubernetes we support). */
export const POD_SECURITY_VERSION = 'v1.27';

/**
 * The namespace every other chart deploys into, first in `dist/` so that
 * `kubectl apply -f dist` works on an empty cluster. It enforces the `restricted`
 * Pod Security Standard.
 */
export class NamespaceChart extends PlatformChart {
  public readonly namespaceObject: kplus.k8s.KubeNamespace;

  constructor(scope: Construct, id: string, props: PlatformChartProps) {
    super(scope, id, props);
    const labels: Record<string, string> = {};
    for (const mode of ['enforce', 'audit', 'warn']) {
      labels[`pod-security.kubernetes.io/${mode}`] = 'restricted';
      labels[`pod-security.kubernetes.io/${mode}-version`] = POD_SECURITY_VERSION;
    }
    this.namespaceObject = new kplus.k8s.KubeNamespace(this, 'namespace', {
      metadata: { name: this.config.namespace, labels },
    });
    // A Namespace is cluster-scoped: drop the namespace the chart gives every object.
    ApiObject.of(this.namespaceObject).addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  }
}
