import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

const k8s = kplus.k8s;

export interface NamespaceIsolationProps {
  /**
   * Namespace and labels of the cluster DNS pods every pod may query on port 53.
   * @default - kube-system pods labelled k8s-app=kube-dns (CoreDNS keeps that label)
   */
  readonly dns?: { readonly namespace: string; readonly podLabels: Readonly<Record<string, string>> };
}

/**
 * Default deny for every pod of the namespace, ingress and egress, plus DNS. It ships with the
 * namespace, in the first file of dist/, so no pod of ours ever runs unrestricted; the network
 * chart then allows exactly the flows the platform needs.
 */
export class NamespaceIsolation extends Construct {
  constructor(scope: Construct, id: string, props: NamespaceIsolationProps = {}) {
    super(scope, id);
    const dns = props.dns ?? { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };

    new k8s.KubeNetworkPolicy(this, 'default-deny', {
      metadata: { name: 'default-deny' },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });

    new k8s.KubeNetworkPolicy(this, 'allow-dns', {
      metadata: { name: 'allow-dns' },
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': dns.namespace } },
                podSelector: { matchLabels: { ...dns.podLabels } },
              },
            ],
            ports: [
              { protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) },
              { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) },
            ],
          },
        ],
      },
    });

  }
}
