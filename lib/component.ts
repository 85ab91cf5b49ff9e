import { Construct, IConstruct } from 'constructs';
import { FlowTable } from './flows';

/** The `app.kubernetes.io/part-of` value of everything we deploy. */
export const PART_OF = 'qingyu';
/** The `app.kubernetes.io/instance` value: one installation of the platform per namespace. */
export const INSTANCE = 'qingyu';
export const MANAGED_BY = 'cdk8s';

export const LABEL = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  version: 'app.kubernetes.io/version',
} as const;

export interface ComponentProps {
  /**
   * Stable, readable name of the component (`go-backend`, `mongodb`). It names the workload,
   * its Service and its pods' selector: other components and people use it, so it is a contract.
   */
  readonly name: string;
  /** Role within the platform (`api`, `ai`, `database`, `cache`, `monitoring`, ...). */
  readonly component: string;
  /** Version of what runs (an image tag); rendered as a valid label value. */
  readonly version: string;
}

/**
 * A named part of the platform. Every API object defined inside it carries its
 * `app.kubernetes.io/*` labels (stamped by `PlatformChart`), and its `selector` picks exactly
 * its pods. Components are the nodes of the flow table that NetworkPolicies are derived from.
 */
export class Component extends Construct {
  /** The nearest component enclosing `c`, if any. */
  public static of(c: IConstruct): Component | undefined {
    for (let scope: IConstruct | undefined = c; scope; scope = scope.node.scope) {
      if (scope instanceof Component) return scope;
    }
    return undefined;
  }

  public readonly name: string;
  public readonly component: string;
  public readonly version: string;

  constructor(scope: Construct, id: string, props: ComponentProps) {
    super(scope, id);
    this.name = props.name;
    this.component = props.component;
    this.version = toLabelValue(props.version);
  }

  /** Labels that select this component's pods; stable across versions. */
  public get selector(): Record<string, string> {
    return { [LABEL.name]: this.name, [LABEL.instance]: INSTANCE };
  }

  /**
   * Declares that this component's pods connect to `endpoint`, which records the flow that the
   * NetworkPolicies allow, and returns the endpoint for building the address.
   */
  public connect(endpoint: Endpoint, purpose: string): Endpoint {
    FlowTable.of(this).add({
      from: { kind: 'component', component: this },
      to: { kind: 'component', component: endpoint.component },
      port: endpoint.port,
      protocol: 'TCP',
      purpose,
    });
    return endpoint;
  }

  /** All recommended labels of this component. */
  public get labels(): Record<string, string> {
    return {
      ...this.selector,
      [LABEL.component]: this.component,
      [LABEL.partOf]: PART_OF,
      [LABEL.managedBy]: MANAGED_BY,
      [LABEL.version]: this.version,
    };
  }
}

/** Makes an image version a valid label value (digests are shortened: `sha256-0123456789ab`). */
export function toLabelValue(version: string): string {
  const digest = /^sha256:([a-f0-9]{12})/.exec(version);
  if (digest) return `sha256-${digest[1]}`;
  const cleaned = version.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 63);
  return cleaned.replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '') || 'unknown';
}

/**
 * A network address of a component: the DNS names a client uses and the port it connects to.
 * Obtain one through `Component.connect` so that the flow is recorded.
 */
export class Endpoint {
  constructor(
    /** The component whose pods answer. */
    public readonly component: Component,
    /** DNS names to connect to (several for a replica set's members). */
    public readonly hosts: readonly string[],
    public readonly port: number,
    /** Name of the Service and container port. */
    public readonly portName: string,
  ) {
    if (hosts.length === 0) throw new Error(`endpoint of '${component.name}' needs at least one host`);
  }

  /** `host:port` of the first host. */
  public get address(): string {
    return `${this.hosts[0]}:${this.port}`;
  }

  /** `host1:port,host2:port,...` as a MongoDB or etcd client lists its members. */
  public get hostPorts(): string {
    return this.hosts.map((h) => `${h}:${this.port}`).join(',');
  }
}
