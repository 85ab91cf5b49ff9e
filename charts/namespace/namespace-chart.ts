import { ApiObject, Chart, JsonPatch, Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

import { PlatformConfig } from '../../config';
import { Capacity, computeCapacity } from '../../lib/manifest';
import { PlatformChart } from '../../lib/platform-chart';
import { NamespaceIsolation } from './namespace-isolation';

const k8s = kplus.k8s;

/** Pod Security Standard version the namespace pins (the oldest Kubernetes we support). */
export const POD_SECURITY_VERSION = 'v1.27';

/** Headroom the quota leaves above the platform's own peak (for Jobs, debugging, growth). */
export const QUOTA_HEADROOM = 1.25;

/** Defaults for containers that declare no resources (operator-injected sidecars). */
const CONTAINER_DEFAULTS = {
  defaultRequest: { 'cpu': '50m', 'memory': '64Mi', 'ephemeral-storage': '64Mi' },
  default: { 'cpu': '200m', 'memory': '128Mi', 'ephemeral-storage': '256Mi' },
};

function quantities(values: Record<string, string>): Record<string, kplus.k8s.Quantity> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, k8s.Quantity.fromString(v)]));
}

export interface NamespaceChartProps {
  readonly config: PlatformConfig;
}

/**
 * The namespace every other chart deploys into, first in `dist/` so that
 * `kubectl apply -f dist` works on an empty cluster. It enforces the `restricted`
 * Pod Security Standard, and carries a ResourceQuota and LimitRange computed from what the
 * other charts request at their largest scale, so they never block our own rollout.
 */
export class NamespaceChart extends PlatformChart {
  public readonly namespaceObject: kplus.k8s.KubeNamespace;

  private readonly sized: Chart[] = [];

  constructor(scope: Construct, id: string, props: NamespaceChartProps) {
    super(scope, id, { platform: props.config });
    const labels: Record<string, string> = {};
    for (const mode of ['enforce', 'audit', 'warn']) {
      labels[`pod-security.kubernetes.io/${mode}`] = 'restricted';
      labels[`pod-security.kubernetes.io/${mode}-version`] = POD_SECURITY_VERSION;
    }
    this.namespaceObject = new k8s.KubeNamespace(this, 'namespace', {
      metadata: { name: props.config.namespace, labels },
    });
    // A Namespace is cluster-scoped: drop the namespace the chart gives every object.
    ApiObject.of(this.namespaceObject).addJsonPatch(JsonPatch.remove('/metadata/namespace'));

    new NamespaceIsolation(this, 'isolation');

    // Computed when the app synthesizes, from every other chart's objects.
    const capacity = () => this.platformCapacity();
    const q = (value: number, unit: string) => k8s.Quantity.fromString(`${Math.ceil(value * QUOTA_HEADROOM)}${unit}`);
    new k8s.KubeResourceQuota(this, 'quota', {
      metadata: { name: 'platform' },
      spec: {
        hard: Lazy.any({
          produce: () => {
            const c = capacity();
            return {
              'requests.cpu': q(c.requests.cpuMillis, 'm'),
              'requests.memory': q(c.requests.memoryMiB, 'Mi'),
              'requests.ephemeral-storage': q(c.requests.ephemeralStorageMiB, 'Mi'),
              'limits.cpu': q(c.limits.cpuMillis, 'm'),
              'limits.memory': q(c.limits.memoryMiB, 'Mi'),
              'limits.ephemeral-storage': q(c.limits.ephemeralStorageMiB, 'Mi'),
              'pods': k8s.Quantity.fromNumber(Math.ceil(c.pods * QUOTA_HEADROOM)),
              'persistentvolumeclaims': k8s.Quantity.fromNumber(Math.ceil(c.persistentVolumeClaims * QUOTA_HEADROOM)),
              'requests.storage': q(c.storageGiB, 'Gi'),
              // Nothing of ours is exposed outside the cluster by a Service.
              'services.loadbalancers': k8s.Quantity.fromNumber(0),
              'services.nodeports': k8s.Quantity.fromNumber(0),
            };
          },
        }),
      },
    });
    new k8s.KubeLimitRange(this, 'limits', {
      metadata: { name: 'platform' },
      spec: {
        limits: [
          {
            type: 'Container',
            defaultRequest: quantities(CONTAINER_DEFAULTS.defaultRequest),
            default: quantities(CONTAINER_DEFAULTS.default),
            max: Lazy.any({
              produce: () => {
                const largest = capacity().largestContainer;
                return {
                  'cpu': k8s.Quantity.fromString(`${largest.cpuMillis}m`),
                  'memory': k8s.Quantity.fromString(`${largest.memoryMiB}Mi`),
                  'ephemeral-storage': k8s.Quantity.fromString(`${largest.ephemeralStorageMiB}Mi`),
                };
              },
            }),
          },
        ],
      },
    });
  }

  /** Sizes the quota and the LimitRange for what `charts` run at their peak (read at synthesis). */
  public sizeQuotaFor(...charts: Chart[]): void {
    this.sized.push(...charts);
  }

  private cached?: Capacity;

  /** Requests and limits of the sized charts at peak scale. */
  private platformCapacity(): Capacity {
    if (!this.cached) {
      // Each object's own JSON: Chart.toJson() would walk the dependency graph of every chart.
      const objects = this.sized.flatMap((chart) => chart.node.findAll()
        .filter((c): c is ApiObject => c instanceof ApiObject && Chart.of(c) === chart)
        .map((o) => o.toJson()));
      this.cached = computeCapacity(objects);
    }
    return this.cached;
  }
}
