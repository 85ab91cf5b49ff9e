import { Construct, IConstruct } from 'constructs';

import type { Component } from './component';

/** Who sends or receives traffic in a flow. */
export type Peer =
  /** The pods of one of our components. */
  | { readonly kind: 'component'; readonly component: Component }
  /** Pods in another namespace (the ingress controller, an external Prometheus, cluster DNS). */
  | {
    readonly kind: 'namespace';
    readonly namespace: string;
    readonly podSelector?: Readonly<Record<string, string>>;
    readonly description: string;
  }
  /** Addresses outside the cluster. */
  | {
    readonly kind: 'cidr';
    readonly cidrs: readonly string[];
    readonly except: readonly string[];
    readonly description: string;
  };

/** One allowed connection: `from` may open connections to `to` on `port`. */
export interface Flow {
  readonly from: Peer;
  readonly to: Peer;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
  /** Why the flow exists, carried into the NetworkPolicy rule's comment and the report. */
  readonly purpose: string;
}

export function peerName(peer: Peer): string {
  switch (peer.kind) {
    case 'component':
      return peer.component.name;
    case 'namespace':
      return `${peer.namespace}/${peer.description}`;
    case 'cidr':
      return peer.description;
  }
}

const TABLE_ID = 'QingyuFlowTable';

/**
 * Every connection the platform's components make, recorded by the code that wires them
 * (`Component.connect`, ServiceMonitors, the edge). NetworkPolicies are derived from it, so a
 * connection cannot be wired without its policy. One table per app.
 */
export class FlowTable extends Construct {
  public static of(scope: IConstruct): FlowTable {
    const root = scope.node.root;
    return (root.node.tryFindChild(TABLE_ID) as FlowTable | undefined) ?? new FlowTable(root as Construct, TABLE_ID);
  }

  private readonly byKey = new Map<string, Flow>();

  private constructor(scope: Construct, id: string) {
    super(scope, id);
  }

  public add(flow: Flow): void {
    const key = `${peerName(flow.from)} -> ${peerName(flow.to)}:${flow.port}/${flow.protocol}`;
    if (!this.byKey.has(key)) this.byKey.set(key, flow);
  }

  /** The flows, in a stable order. */
  public get flows(): Flow[] {
    return [...this.byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, f]) => f);
  }
}

/**
 * Records that `from` talks to the Kubernetes API server at `api` (`network.kubernetesApi`:
 * addresses and ports, since NetworkPolicies match the endpoint behind the `kubernetes` Service).
 */
export function connectToKubernetesApi(
  from: Component,
  api: { readonly cidrs: readonly string[]; readonly ports: readonly number[] },
  purpose: string,
): void {
  for (const port of api.ports) {
    FlowTable.of(from).add({
      from: { kind: 'component', component: from },
      to: { kind: 'cidr', cidrs: api.cidrs, except: [], description: 'Kubernetes API server' },
      port,
      protocol: 'TCP',
      purpose,
    });
  }
}

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Whether `cidr` is an IPv4 block such as `10.0.0.0/8`. */
export function isIpv4Cidr(cidr: string): boolean {
  const m = IPV4_CIDR.exec(cidr);
  return m !== null && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
}

function ipv4(cidr: string): { base: number; bits: number } {
  const [address, bits] = cidr.split('/');
  const base = address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
  return { base, bits: bits === undefined ? 32 : Number(bits) };
}

/** Whether IPv4 block (or address) `inner` lies within block `outer`. */
export function cidrContains(outer: string, inner: string): boolean {
  const o = ipv4(outer);
  const i = ipv4(inner);
  if (i.bits < o.bits) return false;
  const size = 2 ** (32 - o.bits);
  return Math.floor(i.base / size) === Math.floor(o.base / size);
}
