import { Construct } from 'constructs';

import { PlatformConfig } from '../../config';
import { Component, Endpoint } from '../../lib/component';
import { fromSettings, PropError } from '../../lib/errors';
import { FlowTable, Peer } from '../../lib/flows';
import { PlatformChart } from '../../lib/platform-chart';
import { ApiHttpRoute } from './api-http-route';
import { ApiIngress, ProxyTimeouts } from './api-ingress';

/** An app the edge can route to: its HTTP endpoint, and whether it streams. */
export interface RoutableApp extends Component {
  endpoint(portName: 'http'): Endpoint;
  /** Its ClusterIP Service (an Ingress backend names it). */
  readonly service: { readonly name: string };
  readonly streams: boolean;
}

export interface EdgeChartProps {
  readonly config: PlatformConfig;
  /** The apps `edge.routes` may name. */
  readonly apps: Readonly<Record<string, RoutableApp>>;
}

/** The design's timeouts for the business API: 60 s to connect, send and read. */
export const API_TIMEOUT_SECONDS = 60;
/** Connecting to a streaming pod: a healthy pod accepts at once; fail over to another quickly. */
export const STREAM_CONNECT_TIMEOUT_SECONDS = 10;

/** Label of the ingress-nginx controller pods (its Helm chart's `app.kubernetes.io/name`). */
export const INGRESS_NGINX_POD_SELECTOR = { 'app.kubernetes.io/name': 'ingress-nginx' } as const;

/**
 * The edge: how requests for the API host reach the applications (the design's nginx, section
 * 4). Each of `edge.routes` sends a path prefix to an app; a streaming app's route (python-ai's
 * `/api/v1/ai/`) gets everything Server-Sent Events need end to end, the others the design's
 * 60 s timeouts. TLS uses the certificate in `edge.tlsSecretName`.
 *
 * `edge.mode` chooses the implementation:
 * - `ingress`: one ingress-nginx Ingress per route on one host (annotations apply per Ingress),
 *   sharing the TLS Secret.
 * - `gateway`: one Gateway API HTTPRoute `api` with a rule per route, attached to the shared
 *   Gateway `edge.gateway` (ingress-nginx is retired upstream; Gateway API is its successor).
 *
 * The only traffic the applications accept from outside the namespace is recorded here: from
 * the controller (or the Gateway's namespace) to each routed app's `http` port.
 */
export class EdgeChart extends PlatformChart {
  /** The Ingresses, in `ingress` mode. */
  public readonly ingresses: readonly ApiIngress[];
  /** The HTTPRoute, in `gateway` mode. */
  public readonly httpRoute?: ApiHttpRoute;

  constructor(scope: Construct, id: string, props: EdgeChartProps) {
    super(scope, id, { platform: props.config });
    const edge = props.config.edge;
    const routes = fromSettings(`config ${props.config.environment}.edge`, () => resolveRoutes(edge, props.apps));
    const stream = edge.streamTimeoutSeconds;

    const source: Peer =
      edge.mode === 'ingress'
        ? {
          kind: 'namespace',
          namespace: edge.controllerNamespace,
          podSelector: INGRESS_NGINX_POD_SELECTOR,
          description: 'ingress-nginx controller',
        }
        : {
          kind: 'namespace',
          namespace: edge.gateway.namespace,
          description: `Gateway ${edge.gateway.name} data plane`,
        };

    if (edge.mode === 'ingress') {
      this.ingresses = routes.map(
        (r, i) =>
          new ApiIngress(this, r.name, {
            name: r.name,
            host: edge.host,
            path: r.path,
            backend: { serviceName: r.app.service.name, portName: r.http.portName },
            ingressClassName: edge.ingressClassName,
            tlsSecretName: edge.tlsSecretName,
            timeouts: r.timeouts,
            maxBodySizeMiB: edge.maxBodySizeMiB,
            streaming: r.app.streams,
            // One Certificate per Secret: only the catch-all route (last) asks cert-manager for it.
            clusterIssuer: i === routes.length - 1 ? edge.clusterIssuer : undefined,
          }),
      );
    } else {
      this.ingresses = [];
      this.httpRoute = new ApiHttpRoute(this, 'api', { name: 'api', host: edge.host, gateway: edge.gateway });
      for (const r of routes) {
        this.httpRoute.addRule({
          pathPrefix: r.path,
          backend: { serviceName: r.app.service.name, port: r.http.port },
          // A Gateway times the whole exchange, not the silence between reads: the stream
          // timeout is the longest a stream may last.
          timeoutSeconds: r.app.streams ? stream : API_TIMEOUT_SECONDS,
        });
      }
    }

    for (const r of routes) {
      FlowTable.of(this).add({
        from: source,
        to: r.app.peer,
        port: r.http.port,
        protocol: 'TCP',
        purpose: `public route ${edge.host}${r.path}`,
      });
    }
  }
}

interface ResolvedRoute {
  readonly name: string;
  readonly path: string;
  readonly app: RoutableApp;
  readonly http: Endpoint;
  readonly timeouts: ProxyTimeouts;
}

/** The routes with their apps and timeouts; refuses what a public host must not have. */
function resolveRoutes(edge: PlatformConfig['edge'], apps: Readonly<Record<string, RoutableApp>>): ResolvedRoute[] {
  const stream = edge.streamTimeoutSeconds;
  if (!Number.isInteger(stream) || stream < 2 * API_TIMEOUT_SECONDS || stream > 86400) {
    throw new PropError(`'streamTimeoutSeconds' must be a whole number from ${2 * API_TIMEOUT_SECONDS} to 86400 (well above the API `
      + `timeout of ${API_TIMEOUT_SECONDS}s, to keep streams open), got ${stream}`);
  }
  if (!Number.isInteger(edge.maxBodySizeMiB) || edge.maxBodySizeMiB < 1 || edge.maxBodySizeMiB > 1024) {
    throw new PropError(`'maxBodySizeMiB' must be a whole number from 1 to 1024, got ${edge.maxBodySizeMiB}`);
  }
  if (edge.routes.length === 0 || edge.routes[edge.routes.length - 1].path !== '/') {
    throw new PropError(`'routes' must end with the catch-all path '/', got ${JSON.stringify(edge.routes.map((r) => r.path))}`);
  }
  const seen = new Set<string>();
  return edge.routes.map((r) => {
    const app = apps[r.app];
    if (!app) throw new PropError(`'routes' entry '${r.name}' names app '${r.app}', which is not one of apps (${Object.keys(apps).join(', ')})`);
    if (!r.path.startsWith('/') || !r.path.endsWith('/')) throw new PropError(`'routes' entry '${r.name}' must have a path that starts and ends with '/', got '${r.path}'`);
    if (seen.has(r.name) || seen.has(r.path)) throw new PropError(`'routes' has '${r.name}' (${r.path}) twice`);
    seen.add(r.name).add(r.path);
    const timeouts: ProxyTimeouts = app.streams
      ? { connectSeconds: STREAM_CONNECT_TIMEOUT_SECONDS, sendSeconds: stream, readSeconds: stream }
      : { connectSeconds: API_TIMEOUT_SECONDS, sendSeconds: API_TIMEOUT_SECONDS, readSeconds: API_TIMEOUT_SECONDS };
    return { name: r.name, path: r.path, app, http: app.endpoint('http'), timeouts };
  });
}
