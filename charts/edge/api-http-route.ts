import { Construct } from 'constructs';

import { HttpRoute, HttpRouteSpecRules, HttpRouteSpecRulesMatchesPathType } from '../../imports/httproute-gateway.networking.k8s.io';

/** The Gateway an HTTPRoute attaches to. */
export interface GatewayRef {
  readonly name: string;
  readonly namespace: string;
  /** Listener of the Gateway (the HTTPS listener). @default - every listener that allows the route */
  readonly sectionName?: string;
}

export interface ApiHttpRouteRule {
  /** Path prefix (`PathPrefix`, matched per path element, so `/a/b/` also matches `/a/b`). */
  readonly pathPrefix: string;
  /** The backend Service and its port number (Gateway API backends name ports by number). */
  readonly backend: { readonly serviceName: string; readonly port: number };
  /**
   * Longest time the whole request may take, response included (`timeouts.request`), and the
   * same bound on the backend call (`timeouts.backendRequest`), in seconds.
   */
  readonly timeoutSeconds: number;
}

export interface ApiHttpRouteProps {
  /** Name of the HTTPRoute. */
  readonly name: string;
  /** Public host name the route serves; must match a hostname of the Gateway's listener. */
  readonly host: string;
  readonly gateway: GatewayRef;
}

/** A Gateway API Duration (GEP-2257), e.g. `3600s`. */
export function gatewayDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 99999) {
    throw new Error(`a Gateway API timeout must be a whole number of seconds from 1 to 99999, got ${seconds}`);
  }
  return `${seconds}s`;
}

/**
 * A Gateway API HTTPRoute (gateway.networking.k8s.io/v1) for the public API host, attached to a
 * Gateway that someone else owns (TLS terminates at its listener). Rules are added with
 * `addRule`; the Gateway picks the longest matching prefix, so rule order does not matter.
 *
 * Streaming needs nothing route-specific here: Gateway implementations proxy responses without
 * buffering them, so only the timeouts differ between the SSE and the plain API rules.
 *
 * @see https://gateway-api.sigs.k8s.io/reference/spec/#httproute
 */
export class ApiHttpRoute extends Construct {
  public readonly route: HttpRoute;
  private readonly rules: HttpRouteSpecRules[] = [];

  constructor(scope: Construct, id: string, props: ApiHttpRouteProps) {
    super(scope, id);
    this.route = new HttpRoute(this, 'route', {
      metadata: { name: props.name },
      spec: {
        parentRefs: [
          {
            group: 'gateway.networking.k8s.io',
            kind: 'Gateway',
            name: props.gateway.name,
            namespace: props.gateway.namespace,
            ...(props.gateway.sectionName !== undefined ? { sectionName: props.gateway.sectionName } : {}),
          },
        ],
        hostnames: [props.host],
        rules: this.rules,
      },
    });
  }

  public addRule(rule: ApiHttpRouteRule): void {
    if (!rule.pathPrefix.startsWith('/') || rule.pathPrefix.includes('//')) {
      throw new Error(`'pathPrefix' must start with '/' and contain no '//', got '${rule.pathPrefix}'`);
    }
    if (this.rules.some((r) => r.matches?.[0]?.path?.value === rule.pathPrefix)) {
      throw new Error(`the route already has a rule for '${rule.pathPrefix}'`);
    }
    const timeout = gatewayDuration(rule.timeoutSeconds);
    this.rules.push({
      matches: [{ path: { type: HttpRouteSpecRulesMatchesPathType.PATH_PREFIX, value: rule.pathPrefix } }],
      backendRefs: [{ kind: 'Service', name: rule.backend.serviceName, port: rule.backend.port }],
      timeouts: { request: timeout, backendRequest: timeout },
    });
  }
}
