import { App, Testing } from 'cdk8s';

import { ApiIngress } from '../../charts/edge/api-ingress';
import { loadConfig, PlatformConfig } from '../../config';
import { FlowTable } from '../../lib/flows';
import { composePlatform } from '../../main';
import { compositionError } from '../support/fixtures';
import { ALL_ENVIRONMENTS, find, K8sObject, ofKind, synthesize } from '../support/synth';

const NGINX = 'nginx.ingress.kubernetes.io';
const prod = synthesize('production');

/**
 * The platform for a config variant, as objects (every chart but the namespace, which adds
 * nothing here and is slow to render), and the app (for its flow table).
 */
function compose(config: PlatformConfig): { app: App; objects: K8sObject[] } {
  const app = Testing.app();
  const charts = composePlatform(app, config).filter((c) => c.node.id !== 'namespace');
  return { app, objects: charts.flatMap((c) => Testing.synth(c)) as K8sObject[] };
}

const production = loadConfig({ QINGYU_ENV: 'production' });
const gatewayConfig: PlatformConfig = { ...production, edge: { ...production.edge, mode: 'gateway' } };
const gateway = compose(gatewayConfig);

test('the edge chart matches its snapshot', () => {
  expect(prod.files.find((f) => f.name.endsWith('-edge.k8s.yaml'))!.yaml).toMatchSnapshot();
});

test('the edge chart is applied after the applications it routes to', () => {
  const names = prod.files.map((f) => f.name.replace(/^\d+-|\.k8s\.yaml$/g, ''));
  expect(names.indexOf('edge')).toBeGreaterThan(names.indexOf('apps'));
});

describe.each(ALL_ENVIRONMENTS)('%s ingress-nginx mode', (env) => {
  const out = synthesize(env);
  const { edge } = out.config;
  const stream = find(out.objects, 'Ingress', 'api-ai-stream');
  const api = find(out.objects, 'Ingress', 'api');

  test('routes /api/v1/ai/ to python-ai and / to go-backend on their http ports, on the configured host', () => {
    const routes = ofKind(out.objects, 'Ingress').flatMap((i) =>
      i.spec.rules.flatMap((r: any) =>
        r.http.paths.map((p: any) => [i.metadata.name, r.host, p.path, p.pathType, p.backend.service.name, p.backend.service.port]),
      ),
    );
    expect(routes).toEqual([
      ['api-ai-stream', edge.host, '/api/v1/ai/', 'Prefix', 'python-ai', { name: 'http' }],
      ['api', edge.host, '/', 'Prefix', 'go-backend', { name: 'http' }],
    ]);
  });

  test('every backend is an existing Service with the named port', () => {
    for (const ingress of [stream, api]) {
      const backend = ingress.spec.rules[0].http.paths[0].backend.service;
      const service = find(out.objects, 'Service', backend.name);
      expect(service.spec.ports.map((p: any) => p.name)).toContain(backend.port.name);
    }
  });

  test('both Ingresses use the configured class and terminate TLS for the host with the shared Secret', () => {
    for (const ingress of [stream, api]) {
      expect(ingress.spec.ingressClassName).toBe(edge.ingressClassName);
      expect(ingress.spec.tls).toEqual([{ hosts: [edge.host], secretName: edge.tlsSecretName }]);
      expect(ingress.metadata.annotations).toMatchObject({ [`${NGINX}/ssl-redirect`]: 'true', [`${NGINX}/force-ssl-redirect`]: 'true' });
    }
  });

  test('the SSE route streams: no buffering either way, HTTP/1.1 upstream, stream-long read and send timeouts', () => {
    const a = stream.metadata.annotations!;
    expect(a[`${NGINX}/proxy-buffering`]).toBe('off');
    expect(a[`${NGINX}/proxy-request-buffering`]).toBe('off');
    expect(a[`${NGINX}/proxy-http-version`]).toBe('1.1');
    expect(a[`${NGINX}/proxy-read-timeout`]).toBe(String(edge.streamTimeoutSeconds));
    expect(a[`${NGINX}/proxy-send-timeout`]).toBe(String(edge.streamTimeoutSeconds));
    expect(Number(a[`${NGINX}/proxy-read-timeout`])).toBeGreaterThanOrEqual(600);
  });

  test("the API route has the design's 60 s connect, send and read timeouts", () => {
    const a = api.metadata.annotations!;
    expect([a[`${NGINX}/proxy-connect-timeout`], a[`${NGINX}/proxy-send-timeout`], a[`${NGINX}/proxy-read-timeout`]]).toEqual(['60', '60', '60']);
    expect(a[`${NGINX}/proxy-buffering`]).toBeUndefined();
  });

  test('limits request bodies to the configured size', () => {
    for (const ingress of [stream, api]) {
      expect(ingress.metadata.annotations![`${NGINX}/proxy-body-size`]).toBe(`${edge.maxBodySizeMiB}m`);
    }
  });

  test('uses no snippet annotations and only string annotation values', () => {
    for (const ingress of ofKind(out.objects, 'Ingress')) {
      for (const [key, value] of Object.entries(ingress.metadata.annotations ?? {})) {
        expect(key).not.toMatch(/snippet/);
        expect(typeof value).toBe('string');
      }
    }
  });

  test('emits no Gateway API route', () => {
    expect(ofKind(out.objects, 'HTTPRoute')).toEqual([]);
  });
});

describe('TLS certificates from cert-manager', () => {
  test('are not requested unless a ClusterIssuer is configured', () => {
    for (const ingress of ofKind(prod.objects, 'Ingress')) {
      expect(ingress.metadata.annotations!['cert-manager.io/cluster-issuer']).toBeUndefined();
    }
  });

  test('are requested by the api Ingress only, so cert-manager makes one Certificate for the shared Secret', () => {
    const { objects } = compose({ ...production, edge: { ...production.edge, clusterIssuer: 'letsencrypt-prod' } });
    expect(find(objects, 'Ingress', 'api').metadata.annotations!['cert-manager.io/cluster-issuer']).toBe('letsencrypt-prod');
    expect(find(objects, 'Ingress', 'api-ai-stream').metadata.annotations!['cert-manager.io/cluster-issuer']).toBeUndefined();
  });
});

describe('Gateway API mode', () => {
  const route = find(gateway.objects, 'HTTPRoute', 'api');
  const { edge } = gatewayConfig;

  test('replaces the Ingresses with one HTTPRoute on the configured Gateway listener', () => {
    expect(ofKind(gateway.objects, 'Ingress')).toEqual([]);
    expect(route.apiVersion).toBe('gateway.networking.k8s.io/v1');
    expect(route.spec.parentRefs).toEqual([
      { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: edge.gateway.name, namespace: edge.gateway.namespace, sectionName: edge.gateway.sectionName },
    ]);
    expect(route.spec.hostnames).toEqual([edge.host]);
  });

  test('routes the same paths to the same Services, by port number', () => {
    const rules = route.spec.rules.map((r: any) => {
      const [match, backend] = [r.matches[0], r.backendRefs[0]];
      return [match.path.type, match.path.value, backend.name, backend.port];
    });
    expect(rules).toEqual([
      ['PathPrefix', '/api/v1/ai/', 'python-ai', 8081],
      ['PathPrefix', '/', 'go-backend', 8080],
    ]);
    for (const [, , service, port] of rules) {
      const http = find(gateway.objects, 'Service', service).spec.ports.find((p: any) => p.name === 'http');
      expect(http.port).toBe(port);
    }
  });

  test('gives streams the stream timeout and the API 60 s, as request and backend timeouts', () => {
    const timeouts = route.spec.rules.map((r: any) => r.timeouts);
    expect(timeouts).toEqual([
      { request: `${edge.streamTimeoutSeconds}s`, backendRequest: `${edge.streamTimeoutSeconds}s` },
      { request: '60s', backendRequest: '60s' },
    ]);
  });

  test("lets only the Gateway's namespace reach the apps' http ports", () => {
    const edgeFlows = FlowTable.of(gateway.app).flows.filter((f) => f.purpose.startsWith('public route'));
    expect(edgeFlows.map((f) => [f.from.kind === 'namespace' && f.from.namespace, f.to.kind === 'component' && f.to.component.name, f.port])).toEqual([
      [edge.gateway.namespace, 'go-backend', 8080],
      [edge.gateway.namespace, 'python-ai', 8081],
    ]);
  });
});

test('in ingress mode only the ingress-nginx controller pods may reach the apps from outside', () => {
  const { app } = compose(production);
  const edgeFlows = FlowTable.of(app).flows.filter((f) => f.purpose.startsWith('public route'));
  expect(edgeFlows.map((f) => f.from)).toEqual([
    expect.objectContaining({ kind: 'namespace', namespace: 'ingress-nginx', podSelector: { 'app.kubernetes.io/name': 'ingress-nginx' } }),
    expect.objectContaining({ kind: 'namespace', namespace: 'ingress-nginx', podSelector: { 'app.kubernetes.io/name': 'ingress-nginx' } }),
  ]);
});

describe('validation', () => {
  test('fails when the stream timeout is not well above the API timeout, naming the setting', () => {
    const config = { ...production, edge: { ...production.edge, streamTimeoutSeconds: 60 } };
    expect(compositionError(config)).toBe(
      "config production.edge: 'streamTimeoutSeconds' must be a whole number from 120 to 86400 (well above the API timeout of 60s, to keep streams open), got 60");
  });

  test('fails on a route to an app that does not exist, and on routes without the catch-all last', () => {
    const routes = [{ name: 'api', path: '/', app: 'go-backend' }, { name: 'x', path: '/x/', app: 'nobody' }];
    expect(compositionError({ ...production, edge: { ...production.edge, routes } })).toBe(
      `config production.edge: 'routes' must end with the catch-all path '/', got ["/","/x/"]`);
    const unknown = [{ name: 'x', path: '/x/', app: 'nobody' }, { name: 'api', path: '/', app: 'go-backend' }];
    expect(compositionError({ ...production, edge: { ...production.edge, routes: unknown } })).toBe(
      "config production.edge: 'routes' entry 'x' names app 'nobody', which is not one of apps (go-backend, python-ai)");
  });

  test('fails on a path without a leading slash', () => {
    const chart = Testing.chart();
    expect(
      () =>
        new ApiIngress(chart, 'bad', {
          name: 'bad', host: 'a.example.com', path: 'api', backend: { serviceName: 's', portName: 'http' }, ingressClassName: 'nginx',
          tlsSecretName: 't', timeouts: { connectSeconds: 5, sendSeconds: 5, readSeconds: 5 }, maxBodySizeMiB: 1,
        }),
    ).toThrow("'path' of Ingress bad must start with '/', got 'api'");
  });
});
