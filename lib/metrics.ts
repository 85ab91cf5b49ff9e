import { k8s } from 'cdk8s-plus-27';

import { ServiceMonitor } from '../imports/servicemonitor-monitoring.coreos.com';
import { Component, MetricsEndpoint } from './component';
import { FlowTable, Peer } from './flows';

/** Label on the one Service of a component that Prometheus scrapes. */
export const METRICS_SERVICE_LABEL = 'qingyu.io/metrics';

/**
 * Who scrapes the platform's metrics: the platform's own Prometheus, or an existing
 * kube-prometheus-stack. The monitoring unit owns it and scrapes components with it.
 */
export interface Scraper {
  /** The scraping pods, as a NetworkPolicy peer. */
  readonly peer: Peer;
  /** Labels every ServiceMonitor and PrometheusRule carries so that the Prometheus selects it. */
  readonly selectionLabels: Readonly<Record<string, string>>;
}

/** A component that declares where it serves metrics. */
export type Scrapeable = Component & { readonly metrics: MetricsEndpoint };

/** The target's metrics endpoint; fails clearly for a component that declares none. */
export function metricsOf(target: Component): MetricsEndpoint {
  if (!target.metrics) throw new Error(`${target.name} declares no metrics endpoint, so it cannot be scraped`);
  return target.metrics;
}

/**
 * A ServiceMonitor, in the target's own scope (so in its chart's file of dist/), that selects
 * exactly the target's metrics Service by its named port; and the flow that lets the scraper in.
 */
export function serviceMonitor(target: Component, scraper: Scraper): ServiceMonitor {
  const m = metricsOf(target);
  FlowTable.of(target).add({
    from: scraper.peer,
    to: target.peer,
    port: m.port,
    protocol: 'TCP',
    purpose: `scrape ${target.name} metrics`,
  });
  return new ServiceMonitor(target, 'service-monitor', {
    metadata: { name: target.name, labels: { ...scraper.selectionLabels } },
    spec: {
      selector: { matchLabels: { ...target.selector, [METRICS_SERVICE_LABEL]: 'true' } },
      endpoints: [
        {
          port: m.portName,
          path: m.path ?? '/metrics',
          interval: '30s',
          scrapeTimeout: '10s',
          honorLabels: m.honorLabels ?? false,
        },
      ],
    },
  });
}

/**
 * The ClusterIP Service named after `component` that selects its pods on one named port and is
 * labelled as the component's metrics Service (what a ServiceMonitor selects).
 */
export function metricsService(
  component: Component,
  port: { readonly name: string; readonly port: number },
  spec: Pick<k8s.ServiceSpec, 'sessionAffinity'> = {},
): k8s.KubeService {
  return new k8s.KubeService(component, 'service', {
    metadata: { name: component.name, labels: { [METRICS_SERVICE_LABEL]: 'true' } },
    spec: {
      type: 'ClusterIP',
      selector: component.selector,
      ports: [{ name: port.name, port: port.port, targetPort: k8s.IntOrString.fromString(port.name), protocol: 'TCP' }],
      ...spec,
    },
  });
}
