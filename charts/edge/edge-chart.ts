import { Construct } from 'constructs';
import { ApiHttpRoute } from './api-http-route';
import { ApiIngress, ProxyTimeouts } from './api-ingress';
import { AppService } from '../apps/app-service';
import { FlowTable, Peer } from '../../lib/flows';
import { PlatformChart, PlatformChartProps } from '../../lib/platform-chart';

export interface EdgeChartProps extends PlatformChartProps {
  /** Serves everything under `/`. */
  readonly goBackend: AppService;
  /** Serves the Server-Sent Event streams under `/api/v1/ai/`. */
  readonly pythonAi: AppService;
}

/** The public routes of the API host (the design's nginx, section 4). */
export const EDGE_PATHS = {
  /** python-ai: chat and agent endpoints that answer with Server-Sent Events. */
  aiStream: '/api/v1/ai/',
  /** go-backend: everything else. */
  api: '/',
} as const;

/** The design's timeouts for the business API: 60 s to connect, send and read. */
export const API_TIMEOUT_SECONDS = 60;
/** Connecting to a python-ai pod: a healthy pod accepts at once; fail over to another quickly. */
export const AI_CONNECT_TIMEOUT_SECONDS = 10;

/** Label of the ingress-nginx controller pods (its Helm chart's `app.kubernetes.io/name`). */
export const INGRESS_NGINX_POD_SELECTOR = { 'app.kubernetes.io/name': 'ingress-nginx' } as const;

/**
 * The edge: how requests for the API host reach the applications. `/api/v1/ai/` goes to
 * python-ai with everything Server-Sent Events need end to end; `/` goes to go-backend with the
 * design's 60 s timeouts. TLS uses the certificate in `edge.tlsSecretName`.
 *
 * `edge.mode` chooses the implementation:
 * - `ingress`: two ingress-nginx Ingresses on one host (annotations apply per Ingress),
 *   `api` and `api-ai-stream`, sharing the TLS Secret.
 * - `gateway`: one Gateway API HTTPRoute `api` with a rule per path, attached to the shared
 *   Gateway `edge.gateway` (ingress-nginx is retired upstream; Gateway API is its successor).
 *
 * The only traffic the applications accept from outside the namespace is recorded here: from
 * the controller (or the Gateway's namespace) to each app's `http` port.
 */
export class EdgeChart extends PlatformChart {
  /** The Ingresses by name, in `ingress` mode. */
  public readonly ingresses: readonly ApiIngress[];
  /** The HTTPRoute, in `gateway` mode. */
  public readonly httpRoute?: ApiHttpRoute;

  constructor(scope: Construct, id: string, props: EdgeChartProps) {
    super(scope, id, props);
    const edge = this.config.edge;
    const stream = edge.streamTimeoutSeconds;
    if (stream <= API_TIMEOUT_SECONDS) {
      throw new Error(`'edge.streamTimeoutSeconds' must be well above the API timeout of ${API_TIMEOUT_SECONDS}s to keep streams open, got ${stream}`);
    }

    const routes = [
      {
        name: 'api-ai-stream',
        path: EDGE_PATHS.aiStream,
        app: props.pythonAi,
        streaming: true,
        timeouts: { connectSeconds: AI_CONNECT_TIMEOUT_SECONDS, sendSeconds: stream, readSeconds: stream },
      },
      {
        name: 'api',
        path: EDGE_PATHS.api,
        app: props.goBackend,
        streaming: false,
        timeouts: { connectSeconds: API_TIMEOUT_SECONDS, sendSeconds: API_TIMEOUT_SECONDS, readSeconds: API_TIMEOUT_SECONDS },
      },
    ] satisfies ReadonlyArray<{ name: string; path: string; app: AppService; streaming: boolean; timeouts: ProxyTimeouts }>;

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
        (r) =>
          new ApiIngress(this, r.name, {
            name: r.name,
            host: edge.host,
            path: r.path,
            backend: { serviceName: r.app.service.name, portName: r.app.endpoint('http').portName },
            ingressClassName: edge.ingressClassName,
            tlsSecretName: edge.tlsSecretName,
            timeouts: r.timeouts,
            maxBodySizeMiB: edge.maxBodySizeMiB,
            streaming: r.streaming,
            // One Certificate per Secret: only the `api` Ingress asks cert-manager for it.
            clusterIssuer: r.name === 'api' ? edge.clusterIssuer : undefined,
          }),
      );
    } else {
      this.ingresses = [];
      this.httpRoute = new ApiHttpRoute(this, 'api', { name: 'api', host: edge.host, gateway: edge.gateway });
      for (const r of routes) {
        this.httpRoute.addRule({
          pathPrefix: r.path,
          backend: { serviceName: r.app.service.name, port: r.app.endpoint('http').port },
          // A Gateway times the whole exchange, not the silence between reads: the stream
          // timeout is the longest a stream may last.
          timeoutSeconds: r.streaming ? stream : API_TIMEOUT_SECONDS,
        });
      }
    }

    for (const r of routes) {
      FlowTable.of(this).add({
        from: source,
        to: { kind: 'component', component: r.app },
        port: r.app.endpoint('http').port,
        protocol: 'TCP',
        purpose: `public route ${edge.host}${r.path}`,
      });
    }
  }
}
