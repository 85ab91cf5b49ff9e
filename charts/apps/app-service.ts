import { Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

import { contentChecksum } from '../../lib/assets';
import { Component, Endpoint } from '../../lib/component';
import { PropError } from '../../lib/errors';
import { TIER_LABEL } from '../../lib/manifest';
import { METRICS_SERVICE_LABEL } from '../../lib/metrics';
import { PlatformChart } from '../../lib/platform-chart';
import {
  container,
  containerPort,
  httpProbe,
  ImageRef,
  imageVersion,
  ownServiceAccount,
  podDisruptionBudget,
  preferredHostAntiAffinity,
  ResourceSpec,
  restrictedPodSecurity,
  scratchVolume,
  spreadConstraints,
} from '../../lib/pod';
import { SecretKey, secretKeyRef, SecretSpec } from '../../lib/secrets';

const k8s = kplus.k8s;

export interface AppServiceProps {
  /** Name of the Deployment, its Service, ServiceAccount, HPA, PDB and ServiceMonitor. */
  readonly name: string;
  /** Role in the platform (`api`, `ai`): the `app.kubernetes.io/component` label. */
  readonly component: string;
  readonly image: ImageRef;
  /** Container ports by IANA service name; the one named `http` serves `/health` and `/metrics`. */
  readonly ports: Readonly<Record<string, number>>;
  /** Pods when idle: the HPA's `minReplicas` (the Deployment itself sets no replica count). */
  readonly replicas: number;
  /** The most pods the HPA may run: above `replicas`. */
  readonly maxReplicas: number;
  /** Average CPU utilisation, in percent of requests, that the HPA aims for (10 to 100). */
  readonly targetCpuUtilizationPercent: number;
  /** How long the HPA waits, after load drops, before removing pods (0 to 3600 s). */
  readonly scaleDownStabilizationSeconds: number;
  readonly resources: ResourceSpec;
  /** Time a pod gets to finish in-flight work (SSE streams) after SIGTERM (10 to 3600 s). */
  readonly terminationGracePeriodSeconds: number;
  /** Slowest acceptable start (model loading): the startup probe allows this long (10 to 1800 s). */
  readonly maxStartupSeconds: number;
  /**
   * Serves long-lived Server-Sent Event streams: the edge gives its routes the stream timeouts,
   * and its requests are left out of the latency alert.
   * @default false
   */
  readonly streams?: boolean;
  /** @default '/health' */
  readonly healthPath?: string;
  /** User and group of the image's process. @default 10001 */
  readonly uid?: number;
  /**
   * Seconds the pod keeps serving after it is marked terminating, so that the ingress controller
   * and kube-proxy stop routing to it before the process gets SIGTERM.
   * @default 10
   */
  readonly preStopSeconds?: number;
}

/**
 * An application service: a Deployment whose replica count the HorizontalPodAutoscaler owns,
 * its ClusterIP Service, a PodDisruptionBudget, a ServiceMonitor, a ConfigMap of non-secret
 * settings and its own ServiceAccount without an API token. Pods are restricted (non-root,
 * read-only root filesystem with `/tmp` as an emptyDir, no capabilities), probed on `/health`,
 * spread across nodes and zones, rolled with zero unavailable pods and drained gracefully.
 *
 * Settings and Secrets are added with `addSetting`/`addSecret`; connections to other components
 * with `connect`, which also records the NetworkPolicy flow.
 */
export class AppService extends Component {
  public readonly ports: Readonly<Record<string, number>>;
  public readonly deployment: kplus.k8s.KubeDeployment;
  public readonly service: kplus.k8s.KubeService;
  public readonly configMap: kplus.k8s.KubeConfigMap;
  public readonly autoscaler: kplus.k8s.KubeHorizontalPodAutoscalerV2;
  public readonly podDisruptionBudget: kplus.k8s.KubePodDisruptionBudget;
  public readonly healthPath: string;
  public readonly preStopSeconds: number;
  public readonly uid: number;
  public readonly streams: boolean;
  private readonly chart: PlatformChart;
  private readonly settings: Record<string, string> = {};
  private readonly env: kplus.k8s.EnvVar[] = [];

  constructor(scope: Construct, id: string, props: AppServiceProps) {
    super(scope, id, { name: props.name, component: props.component, version: imageVersion(props.image) });
    this.chart = PlatformChart.of(this);
    this.ports = props.ports;
    this.healthPath = props.healthPath ?? '/health';
    this.preStopSeconds = props.preStopSeconds ?? 10;
    this.uid = props.uid ?? 10001;
    this.streams = props.streams ?? false;
    validate(props, this.preStopSeconds);
    const http = this.port('http');
    this.declareMetrics({ service: props.name, portName: 'http', port: http });

    ownServiceAccount(this, props.name);

    this.configMap = new k8s.KubeConfigMap(this, 'config', {
      metadata: { name: `${props.name}-config` },
      data: this.settings,
    });

    this.service = new k8s.KubeService(this, 'service', {
      metadata: { name: props.name, labels: { [METRICS_SERVICE_LABEL]: 'true' } },
      spec: {
        type: 'ClusterIP',
        selector: this.selector,
        ports: Object.entries(props.ports).map(([name, port]) => ({ name, port, targetPort: k8s.IntOrString.fromString(name), protocol: 'TCP' })),
      },
    });

    const config = props;
    const probe = (periodSeconds: number, failureThreshold: number, timeoutSeconds: number) =>
      httpProbe(this.healthPath, 'http', periodSeconds, failureThreshold, timeoutSeconds);

    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata: { name: props.name, labels: { [TIER_LABEL]: 'app' } },
      spec: {
        // No `replicas`: the HPA owns the count (a fixed count would reset it on every apply).
        revisionHistoryLimit: 10,
        minReadySeconds: 5,
        progressDeadlineSeconds: 600,
        strategy: {
          type: 'RollingUpdate',
          rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(0), maxSurge: k8s.IntOrString.fromNumber(1) },
        },
        selector: { matchLabels: this.selector },
        template: {
          metadata: {
            labels: this.labels,
            // Settings are read at start: a changed ConfigMap rolls the pods.
            annotations: { 'qingyu.io/config-checksum': Lazy.any({ produce: () => this.settingsChecksum() }) },
          },
          spec: {
            serviceAccountName: props.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurity({ uid: this.uid, gid: this.uid }),
            terminationGracePeriodSeconds: config.terminationGracePeriodSeconds,
            topologySpreadConstraints: spreadConstraints(this.selector),
            affinity: preferredHostAntiAffinity(this.selector),
            containers: [
              container({
                name: props.name,
                image: config.image,
                ports: Object.entries(props.ports).map(([name, port]) => containerPort(name, port)),
                env: this.env,
                resources: config.resources,
                // Ready quickly, out of rotation after 3 failures; restarted only after a
                // longer outage; the startup probe covers slow starts (model loading).
                readinessProbe: probe(5, 3, 2),
                livenessProbe: probe(10, 6, 5),
                startupProbe: probe(5, Math.ceil(config.maxStartupSeconds / 5), 2),
                lifecycle: { preStop: { exec: { command: ['sleep', String(this.preStopSeconds)] } } },
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              }),
            ],
            volumes: [scratchVolume('tmp')],
          },
        },
      },
    });

    this.autoscaler = new k8s.KubeHorizontalPodAutoscalerV2(this, 'hpa', {
      metadata: { name: props.name },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: props.name },
        minReplicas: config.replicas,
        maxReplicas: config.maxReplicas,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: config.targetCpuUtilizationPercent } } },
        ],
        behavior: {
          scaleUp: {
            stabilizationWindowSeconds: 0,
            selectPolicy: 'Max',
            policies: [
              { type: 'Pods', value: 2, periodSeconds: 60 },
              { type: 'Percent', value: 100, periodSeconds: 60 },
            ],
          },
          scaleDown: {
            stabilizationWindowSeconds: config.scaleDownStabilizationSeconds,
            selectPolicy: 'Min',
            policies: [{ type: 'Pods', value: 1, periodSeconds: 120 }],
          },
        },
      },
    });

    this.podDisruptionBudget = podDisruptionBudget(this, 'pdb', { name: props.name, selector: this.selector });

  }

  /** The number of the app's port `name`. */
  public port(name: string): number {
    const port = this.ports[name];
    if (port === undefined) throw new PropError(`${this.name} has no port named '${name}' (has: ${Object.keys(this.ports).join(', ')})`);
    return port;
  }

  /** Address of this service's ClusterIP Service on `portName`. */
  public endpoint(portName: string): Endpoint {
    return new Endpoint(this, [this.chart.serviceHost(this.name)], this.port(portName), portName);
  }

  /**
   * The headless Service `<name>-<portName>` for `portName` (made on first use), so that clients
   * resolve every pod and balance long-lived HTTP/2 (gRPC) connections across them instead of
   * pinning one pod through a ClusterIP.
   */
  public headlessEndpoint(portName: string): Endpoint {
    const name = `${this.name}-${portName}`;
    const port = this.port(portName);
    if (!this.node.tryFindChild(`headless-${portName}`)) {
      new k8s.KubeService(this, `headless-${portName}`, {
        metadata: { name },
        spec: {
          clusterIp: 'None',
          selector: this.selector,
          ports: [{ name: portName, port, targetPort: k8s.IntOrString.fromString(portName), protocol: 'TCP' }],
        },
      });
    }
    return new Endpoint(this, [this.chart.serviceHost(name)], port, portName);
  }

  /** A non-secret setting: stored in the ConfigMap and passed as an environment variable. */
  public addSetting(name: string, value: string): void {
    this.assertNewEnv(name);
    this.settings[name] = value;
    this.env.push({ name, valueFrom: { configMapKeyRef: { name: this.configMap.name, key: name } } });
  }

  /** An environment variable read from one key of a catalogued Secret. */
  public addSecret(name: string, secret: SecretSpec, key: SecretKey): void {
    this.assertNewEnv(name);
    this.env.push({ name, valueFrom: secretKeyRef(secret, key) });
  }

  private assertNewEnv(name: string): void {
    if (this.env.some((e) => e.name === name)) throw new PropError(`${this.name} already has an environment variable '${name}'`);
  }

  private settingsChecksum(): string {
    return contentChecksum(this.settings);
  }
}

function validate(p: AppServiceProps, preStopSeconds: number): void {
  const wholeNumber = (prop: keyof AppServiceProps, min: number, max: number) => {
    const value = p[prop] as number;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new PropError(`'${prop}' must be a whole number from ${min} to ${max}, got ${value}`);
    }
  };
  wholeNumber('replicas', 1, 100);
  if (!Number.isInteger(p.maxReplicas) || p.maxReplicas <= p.replicas) {
    throw new PropError(`'maxReplicas' must exceed 'replicas' (${p.replicas}) so the HPA can scale, got ${p.maxReplicas}`);
  }
  wholeNumber('targetCpuUtilizationPercent', 10, 100);
  wholeNumber('scaleDownStabilizationSeconds', 0, 3600);
  wholeNumber('terminationGracePeriodSeconds', 10, 3600);
  wholeNumber('maxStartupSeconds', 10, 1800);
  if (p.ports.http === undefined) throw new PropError(`'ports' must name the 'http' port that serves ${p.healthPath ?? '/health'} and /metrics, got ${JSON.stringify(p.ports)}`);
  if (preStopSeconds >= p.terminationGracePeriodSeconds) {
    throw new PropError(`'preStopSeconds' (${preStopSeconds}) must be below 'terminationGracePeriodSeconds' (${p.terminationGracePeriodSeconds})`);
  }
}
