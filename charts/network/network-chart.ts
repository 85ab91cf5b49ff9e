import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

import { PlatformConfig } from '../../config';
import { cidrContains, Flow, FlowTable, Peer, peerName } from '../../lib/flows';
import { PlatformChart } from '../../lib/platform-chart';

const k8s = kplus.k8s;

export interface NetworkChartProps {
  readonly config: PlatformConfig;
}

/**
 * The allowed flows of the zero-trust namespace (default deny and DNS come with the namespace,
 * see charts/namespace/namespace-isolation.ts): for each component one ingress and one egress policy that
 * allow exactly the flows recorded in the FlowTable by the code that wired the components.
 *
 * Create this chart after every other chart: it reads the complete flow table.
 */
export class NetworkChart extends PlatformChart {
  public readonly flows: readonly Flow[];

  constructor(scope: Construct, id: string, props: NetworkChartProps) {
    super(scope, id, { platform: props.config });
    this.flows = FlowTable.of(this).flows;

    const components = new Map<string, { selector: Record<string, string>; ingress: Flow[]; egress: Flow[] }>();
    const entry = (peer: Peer) => {
      if (peer.kind !== 'component') return undefined;
      const name = peer.component.name;
      if (!components.has(name)) components.set(name, { selector: peer.component.selector, ingress: [], egress: [] });
      return components.get(name)!;
    };
    for (const flow of this.flows) {
      entry(flow.to)?.ingress.push(flow);
      entry(flow.from)?.egress.push(flow);
    }

    for (const [name, { selector, ingress, egress }] of [...components.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      if (ingress.length > 0) {
        new k8s.KubeNetworkPolicy(this, `${name}-ingress`, {
          metadata: { name: `${name}-ingress`, annotations: { 'qingyu.io/flows': describeFlows(ingress) } },
          spec: {
            podSelector: { matchLabels: selector },
            policyTypes: ['Ingress'],
            ingress: ingress.map((f) => ({ from: peerSelectors(f.from), ports: [portOf(f)] })),
          },
        });
      }
      if (egress.length > 0) {
        new k8s.KubeNetworkPolicy(this, `${name}-egress`, {
          metadata: { name: `${name}-egress`, annotations: { 'qingyu.io/flows': describeFlows(egress) } },
          spec: {
            podSelector: { matchLabels: selector },
            policyTypes: ['Egress'],
            egress: egress.map((f) => ({ to: peerSelectors(f.to), ports: [portOf(f)] })),
          },
        });
      }
    }
  }
}

function portOf(flow: Flow): kplus.k8s.NetworkPolicyPort {
  return { protocol: flow.protocol, port: k8s.IntOrString.fromNumber(flow.port) };
}

function peerSelectors(peer: Peer): kplus.k8s.NetworkPolicyPeer[] {
  switch (peer.kind) {
    case 'component':
      return [{ podSelector: { matchLabels: peer.component.selector } }];
    case 'namespace':
      return [{
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': peer.namespace } },
        podSelector: peer.podSelector ? { matchLabels: { ...peer.podSelector } } : {},
      }];
    case 'cidr':
      // Each block keeps only the exceptions inside it (the API rejects any other).
      return peer.cidrs.map((cidr) => {
        const except = peer.except.filter((e) => cidrContains(cidr, e) && e !== cidr);
        return { ipBlock: { cidr, except: except.length > 0 ? except : undefined } };
      });
  }
}

function describeFlows(flows: readonly Flow[]): string {
  return flows.map((f) => `${peerName(f.from)} -> ${peerName(f.to)}:${f.port} (${f.purpose})`).join('; ');
}
