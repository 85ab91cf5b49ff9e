import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

const k8s = kplus.k8s;

/** The ingress-nginx annotation prefix. */
export const NGINX = 'nginx.ingress.kubernetes.io';

/** Proxy timeouts between the ingress controller and the backend, in seconds. */
export interface ProxyTimeouts {
  /** Establishing the upstream connection. */
  readonly connectSeconds: number;
  /** Between two successive writes to the upstream. */
  readonly sendSeconds: number;
  /** Between two successive reads from the upstream: the longest silence a response may have. */
  readonly readSeconds: number;
}

export interface ApiIngressProps {
  /** Name of the Ingress. */
  readonly name: string;
  /** Public host name the Ingress serves. */
  readonly host: string;
  /** Path prefix routed to the backend (`pathType: Prefix`). */
  readonly path: string;
  /** The backend Service and the name of its port. */
  readonly backend: { readonly serviceName: string; readonly portName: string };
  /** The IngressClass that implements the Ingress (ingress-nginx). */
  readonly ingressClassName: string;
  /** Secret of type kubernetes.io/tls with the certificate for `host`. */
  readonly tlsSecretName: string;
  readonly timeouts: ProxyTimeouts;
  /** Largest request body accepted, in MiB (`proxy-body-size`). */
  readonly maxBodySizeMiB: number;
  /**
   * Stream responses as they are produced (Server-Sent Events): no response or request
   * buffering, HTTP/1.1 to the upstream.
   * @default false
   */
  readonly streaming?: boolean;
  /**
   * cert-manager ClusterIssuer that issues `tlsSecretName`. Set it on one Ingress per Secret
   * only: cert-manager creates one Certificate per annotated Ingress, named after the Secret.
   * @default - no cert-manager annotation; the Secret is provided another way
   */
  readonly clusterIssuer?: string;
}

/**
 * One ingress-nginx Ingress for one path of the public API host. ingress-nginx annotations apply
 * to a whole Ingress, so routes that need different proxy behaviour (the SSE stream and the
 * plain API) are separate Ingress objects on the same host, sharing the TLS Secret; the
 * controller merges them into one server block and picks the longest matching prefix.
 *
 * Only annotations the controller accepts at its default `annotations-risk-level` are used:
 * no `*-snippet` annotations (disabled by default since ingress-nginx v1.9).
 *
 * @see https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/annotations/
 */
export class ApiIngress extends Construct {
  public readonly ingress: kplus.k8s.KubeIngress;
  public readonly streaming: boolean;
  /** The annotations, as rendered (every value a string). */
  public readonly annotations: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: ApiIngressProps) {
    super(scope, id);
    this.streaming = props.streaming ?? false;
    if (!props.path.startsWith('/')) {
      throw new Error(`'path' of Ingress ${props.name} must start with '/', got '${props.path}'`);
    }
    for (const [key, value] of Object.entries(props.timeouts)) {
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(`'timeouts.${key}' of Ingress ${props.name} must be a whole number of seconds of at least 1, got ${value}`);
      }
    }
    if (!Number.isInteger(props.maxBodySizeMiB) || props.maxBodySizeMiB < 1) {
      throw new Error(`'maxBodySizeMiB' of Ingress ${props.name} must be a whole number of at least 1, got ${props.maxBodySizeMiB}`);
    }

    const annotations: Record<string, string> = {
      // Plain HTTP is redirected to HTTPS (308), also when TLS terminates in front of the controller.
      [`${NGINX}/ssl-redirect`]: 'true',
      [`${NGINX}/force-ssl-redirect`]: 'true',
      [`${NGINX}/proxy-body-size`]: `${props.maxBodySizeMiB}m`,
      // Unitless seconds. The Upgrade and Connection headers the design set by hand are set by
      // ingress-nginx in every location (`map $http_upgrade $connection_upgrade`).
      [`${NGINX}/proxy-connect-timeout`]: String(props.timeouts.connectSeconds),
      [`${NGINX}/proxy-send-timeout`]: String(props.timeouts.sendSeconds),
      [`${NGINX}/proxy-read-timeout`]: String(props.timeouts.readSeconds),
      [`${NGINX}/proxy-http-version`]: '1.1',
    };
    if (this.streaming) {
      // Each event reaches the client as soon as the backend writes it. proxy-buffering is
      // already "off" by default; it is stated so that a changed controller default cannot
      // break streaming. Locations get no proxy_cache from ingress-nginx, so nothing caches
      // the stream.
      annotations[`${NGINX}/proxy-buffering`] = 'off';
      // Start proxying the request before its body is complete (long prompts, uploads).
      annotations[`${NGINX}/proxy-request-buffering`] = 'off';
    }
    if (props.clusterIssuer !== undefined) {
      annotations['cert-manager.io/cluster-issuer'] = props.clusterIssuer;
    }
    this.annotations = annotations;

    this.ingress = new k8s.KubeIngress(this, 'ingress', {
      metadata: { name: props.name, annotations },
      spec: {
        ingressClassName: props.ingressClassName,
        tls: [{ hosts: [props.host], secretName: props.tlsSecretName }],
        rules: [
          {
            host: props.host,
            http: {
              paths: [
                {
                  path: props.path,
                  pathType: 'Prefix',
                  backend: { service: { name: props.backend.serviceName, port: { name: props.backend.portName } } },
                },
              ],
            },
          },
        ],
      },
    });
  }
}
