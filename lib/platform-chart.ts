import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { PlatformConfig } from '../config';
import { Component, INSTANCE, LABEL, MANAGED_BY, PART_OF } from './component';

export interface PlatformChartProps {
  readonly config: PlatformConfig;
}

/**
 * The base of every chart: it owns the namespace, the `app.kubernetes.io/*` labels and the
 * naming policy. Objects get the namespace explicitly, names are never hashed, and every object
 * carries the labels of the `Component` it belongs to (or the chart's own, for objects that
 * serve the whole namespace).
 */
export class PlatformChart extends Chart {
  public readonly config: PlatformConfig;

  constructor(scope: Construct, id: string, props: PlatformChartProps) {
    super(scope, id, {
      namespace: props.config.namespace,
      disableResourceNameHashes: true,
      labels: { [LABEL.partOf]: PART_OF, [LABEL.managedBy]: MANAGED_BY, [LABEL.instance]: INSTANCE },
    });
    this.config = props.config;
  }

  /** Fully qualified DNS name of a Service in the platform's namespace. */
  public serviceHost(serviceName: string): string {
    return `${serviceName}.${this.config.namespace}.svc.${this.config.clusterDomain}`;
  }

  /** Labels for objects that belong to the namespace as a whole rather than to one component. */
  protected get chartLabels(): Record<string, string> {
    return {
      [LABEL.name]: this.node.id,
      [LABEL.component]: 'platform',
      [LABEL.version]: this.config.environment,
    };
  }

  public override toJson(): any[] {
    for (const child of this.node.findAll()) {
      if (!(child instanceof ApiObject) || Chart.of(child) !== this) continue;
      const labels = Component.of(child)?.labels ?? this.chartLabels;
      for (const [key, value] of Object.entries(labels)) {
        if (child.metadata.getLabel(key) === undefined) child.metadata.addLabel(key, value);
      }
    }
    return super.toJson();
  }
}
