import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ServiceMonitor } from '../imports/servicemonitor-monitoring.coreos.com';
import { Component } from './component';
import { FlowTable, Peer } from './flows';

/** Label on the one Service of a component that Prometheus scrapes. */
export const METRICS_SERVICE_LABEL = 'qingyu.io/metrics';

/**
 * Who scrapes the platform's metrics: the platform's own Prometheus, or an existing
 * kube-prometheus-stack. Made by the monitoring chart and handed to every chart with metrics.
 */
export interface MetricsScraper {
  /** The scraping pods, as a NetworkPolicy peer. */
  readonly peer: Peer;
  /** Labels every ServiceMonitor and PrometheusRule carries so that the Prometheus selects it. */
  readonly selectionLabels: Readonly<Record<string, string>>;
}

export interface ServiceMonitorProps {
  /** The component whose Service is scraped; the ServiceMonitor is named after it. */
  readonly target: Component;
  /** Name of the Service port that serves metrics. */
  readonly portName: string;
  /** Its number, for the NetworkPolicy that lets the scraper in. */
  readonly port: number;
  readonly scraper: MetricsScraper;
  /** @default '/metrics' */
  readonly path?: string;
  /** @default '30s' */
  readonly interval?: string;
  /** @default '10s' */
  readonly scrapeTimeout?: string;
  /** Keep the target's own labels on conflict (Milvus exports its own `namespace`, `pod`). @default false */
  readonly honorLabels?: boolean;
  /** @default - the target's name */
  readonly name?: string;
}

/**
 * A ServiceMonitor that selects exactly the target's metrics Service (the Service labelled
 * `qingyu.io/metrics: "true"`) by its named port, and the flow that lets the scraper reach it.
 */
export function addServiceMonitor(scope: Construct, id: string, props: ServiceMonitorProps): ServiceMonitor {
  FlowTable.of(scope).add({
    from: props.scraper.peer,
    to: { kind: 'component', component: props.target },
    port: props.port,
    protocol: 'TCP',
    purpose: `scrape ${props.target.name} metrics`,
  });
  return new ServiceMonitor(scope, id, {
    metadata: { name: props.name ?? props.target.name, labels: { ...props.scraper.selectionLabels } },
    spec: {
      selector: { matchLabels: { ...props.target.selector, [METRICS_SERVICE_LABEL]: 'true' } },
      endpoints: [
        {
          port: props.portName,
          path: props.path ?? '/metrics',
          interval: props.interval ?? '30s',
          scrapeTimeout: props.scrapeTimeout ?? '10s',
          honorLabels: props.honorLabels ?? false,
        },
      ],
    },
  });
}

/**
 * The ClusterIP Service named after `component` that selects its pods on one named port and is
 * labelled as the component's metrics Service (what `addServiceMonitor` selects).
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
