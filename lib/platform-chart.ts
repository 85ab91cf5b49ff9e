import { ApiObject, Chart } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';

import { Component, INSTANCE, LABEL, MANAGED_BY, PART_OF } from './component';

/** Where the platform is installed: what every chart and construct needs to know about it. */
export interface PlatformIdentity {
  /** The namespace of every object. */
  readonly namespace: string;
  /** Cluster DNS domain of fully qualified Service names (`cluster.local`). */
  readonly clusterDomain: string;
  /** The environment (`production`), the version label of objects that serve the whole namespace. */
  readonly environment: string;
}

export interface PlatformChartProps {
  readonly platform: PlatformIdentity;
}

/**
 * The base of every chart: it owns the namespace, the `app.kubernetes.io/*` labels and the
 * naming policy. Objects get the namespace explicitly, names are never hashed, and every object
 * carries the labels of the `Component` it belongs to (or the chart's own, for objects that
 * serve the whole namespace).
 */
export class PlatformChart extends Chart {
  /**
   * The PlatformChart `c` is defined in; constructs call this for the namespace and DNS names.
   * (cdk8s answers `instanceof Chart` for every chart, so the test is the platform's own field.)
   */
  public static override of(c: IConstruct): PlatformChart {
    for (let scope: IConstruct | undefined = c; scope; scope = scope.node.scope) {
      if ((scope as Partial<PlatformChart>).platform !== undefined && scope instanceof Chart) return scope as PlatformChart;
    }
    throw new Error(`${c.node.path || c.node.id} must be created inside a PlatformChart (it needs the platform's namespace)`);
  }

  public readonly platform: PlatformIdentity;

  constructor(scope: Construct, id: string, props: PlatformChartProps) {
    super(scope, id, {
      namespace: props.platform.namespace,
      disableResourceNameHashes: true,
      labels: { [LABEL.partOf]: PART_OF, [LABEL.managedBy]: MANAGED_BY, [LABEL.instance]: INSTANCE },
    });
    this.platform = props.platform;
  }

  /** Fully qualified DNS name of a Service in the platform's namespace. */
  public serviceHost(serviceName: string): string {
    return `${serviceName}.${this.platform.namespace}.svc.${this.platform.clusterDomain}`;
  }

  /** Labels for objects that belong to the namespace as a whole rather than to one component. */
  protected get chartLabels(): Record<string, string> {
    return {
      [LABEL.name]: this.node.id,
      [LABEL.component]: 'platform',
      [LABEL.version]: this.platform.environment,
    };
  }

  /** The objects of the last rendering (`toJson`, which `app.synth()` calls once per chart). */
  public rendered: readonly any[] = [];

  public override toJson(): any[] {
    for (const child of this.node.findAll()) {
      if (!(child instanceof ApiObject) || Chart.of(child) !== this) continue;
      const labels = Component.of(child)?.labels ?? this.chartLabels;
      for (const [key, value] of Object.entries(labels)) {
        if (child.metadata.getLabel(key) === undefined) child.metadata.addLabel(key, value);
      }
    }
    const objects = super.toJson();
    this.rendered = objects;
    return objects;
  }
}
