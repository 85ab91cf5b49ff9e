import { Construct, IConstruct } from 'constructs';

import { FlowTable, Peer } from './flows';

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
 * Where a component serves Prometheus metrics: its metrics Service (the Service labelled
 * `qingyu.io/metrics: "true"`, whose name becomes the `job` label) and the named port on it.
 */
export interface MetricsEndpoint {
  /** Name of the metrics Service: the `job` of the scraped series. */
  readonly service: string;
  readonly portName: string;
  readonly port: number;
  /** @default '/metrics' */
  readonly path?: string;
  /** Keep the target's own labels on conflict (Milvus and kube-state-metrics export `namespace`, `pod`). @default false */
  readonly honorLabels?: boolean;
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
  private metricsEndpoint?: MetricsEndpoint;

  constructor(scope: Construct, id: string, props: ComponentProps) {
    super(scope, id);
    this.name = props.name;
    this.component = props.component;
    this.version = toLabelValue(props.version);
  }

  /** Where Prometheus scrapes this component, if it serves metrics. */
  public get metrics(): MetricsEndpoint | undefined {
    return this.metricsEndpoint;
  }

  /** Declares, once, where this component serves metrics (monitoring's `scrape` reads it). */
  protected declareMetrics(endpoint: MetricsEndpoint): void {
    if (this.metricsEndpoint) throw new Error(`${this.name} already declares its metrics endpoint`);
    this.metricsEndpoint = endpoint;
  }

  /** This component's pods, as a NetworkPolicy peer. */
  public get peer(): Peer {
    return { kind: 'component', component: this };
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
      from: this.peer,
      to: endpoint.peer,
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
 * A network address: the DNS names a client uses, the port it connects to, and the pods that
 * answer (one of our components, or pods elsewhere such as a shared stack's Prometheus). Obtain
 * one from its owner and pass it to `Component.connect`, so that the flow is recorded.
 */
export class Endpoint {
  /** The pods that answer, as a NetworkPolicy peer. */
  public readonly peer: Peer;

  constructor(
    owner: Component | Peer,
    /** DNS names to connect to (several for a replica set's members). */
    public readonly hosts: readonly string[],
    public readonly port: number,
    /** Name of the Service and container port. */
    public readonly portName: string,
  ) {
    this.peer = owner instanceof Component ? owner.peer : owner;
    if (hosts.length === 0) throw new Error(`endpoint of '${this.name}' needs at least one host`);
  }

  /** The component whose pods answer, when it is one of ours. */
  public get component(): Component | undefined {
    return this.peer.kind === 'component' ? this.peer.component : undefined;
  }

  private get name(): string {
    return this.peer.kind === 'component' ? this.peer.component.name : this.peer.description;
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
