import { Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { AppConfig } from '../../config';
import { contentChecksum } from '../../lib/assets';
import { Component, Endpoint } from '../../lib/component';
import { httpProbe, imageName, imageVersion, podDisruptionBudget, preferredHostAntiAffinity, resourceRequirements, restrictedContainerSecurity, restrictedPodSecurity, scratchVolume, spreadConstraints } from '../../lib/pod';
import { addServiceMonitor, METRICS_SERVICE_LABEL, MetricsScraper } from '../../lib/metrics';
import { PlatformChart } from '../../lib/platform-chart';
import { SecretKey, secretKeyRef, SecretSpec } from '../../lib/secrets';

const k8s = kplus.k8s;

export interface AppPort {
  readonly name: string;
  readonly port: number;
}

export interface AppServiceProps {
  /** Name of the Deployment, its Service, ServiceAccount, HPA, PDB and ServiceMonitor. */
  readonly name: string;
  /** Role in the platform (`api`, `ai`). */
  readonly component: string;
  /** Replicas, scaling, resources and image of this environment. */
  readonly config: AppConfig;
  /** Container ports; the one named `http` serves `/health` and `/metrics`. */
  readonly ports: readonly AppPort[];
  readonly scraper: MetricsScraper;
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
  public readonly config: AppConfig;
  public readonly deployment: kplus.k8s.KubeDeployment;
  public readonly service: kplus.k8s.KubeService;
  public readonly configMap: kplus.k8s.KubeConfigMap;
  public readonly autoscaler: kplus.k8s.KubeHorizontalPodAutoscalerV2;
  public readonly podDisruptionBudget: kplus.k8s.KubePodDisruptionBudget;
  public readonly healthPath: string;
  public readonly preStopSeconds: number;
  public readonly uid: number;
  private readonly chart: PlatformChart;
  private readonly ports: readonly AppPort[];
  private readonly settings: Record<string, string> = {};
  private readonly env: kplus.k8s.EnvVar[] = [];

  constructor(scope: Construct, id: string, props: AppServiceProps) {
    super(scope, id, { name: props.name, component: props.component, version: imageVersion(props.config.image) });
    this.chart = PlatformChart.of(this) as PlatformChart;
    this.config = props.config;
    this.ports = props.ports;
    this.healthPath = props.healthPath ?? '/health';
    this.preStopSeconds = props.preStopSeconds ?? 10;
    this.uid = props.uid ?? 10001;
    const http = this.port('http');
    if (this.preStopSeconds >= props.config.terminationGracePeriodSeconds) {
      throw new Error(`'preStopSeconds' of ${props.name} (${this.preStopSeconds}) must be below its termination grace period (${props.config.terminationGracePeriodSeconds})`);
    }

    new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: { name: props.name },
      automountServiceAccountToken: false,
    });

    this.configMap = new k8s.KubeConfigMap(this, 'config', {
      metadata: { name: `${props.name}-config` },
      data: this.settings,
    });

    this.service = new k8s.KubeService(this, 'service', {
      metadata: { name: props.name, labels: { [METRICS_SERVICE_LABEL]: 'true' } },
      spec: {
        type: 'ClusterIP',
        selector: this.selector,
        ports: props.ports.map((p) => ({ name: p.name, port: p.port, targetPort: k8s.IntOrString.fromString(p.name), protocol: 'TCP' })),
      },
    });

    const { config } = props;
    const probe = (periodSeconds: number, failureThreshold: number, timeoutSeconds: number) =>
      httpProbe(this.healthPath, 'http', periodSeconds, failureThreshold, timeoutSeconds);

    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata: { name: props.name },
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
              {
                name: props.name,
                image: imageName(config.image),
                imagePullPolicy: 'IfNotPresent',
                ports: props.ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: 'TCP' })),
                env: this.env,
                resources: resourceRequirements(config.resources),
                securityContext: restrictedContainerSecurity(),
                // Ready quickly, out of rotation after 3 failures; restarted only after a
                // longer outage; the startup probe covers slow starts (model loading).
                readinessProbe: probe(5, 3, 2),
                livenessProbe: probe(10, 6, 5),
                startupProbe: probe(5, Math.ceil(config.maxStartupSeconds / 5), 2),
                lifecycle: { preStop: { exec: { command: ['sleep', String(this.preStopSeconds)] } } },
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
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

    addServiceMonitor(this, 'service-monitor', {
      target: this,
      portName: 'http',
      port: http.port,
      scraper: props.scraper,
    });
  }

  private port(name: string): AppPort {
    const port = this.ports.find((p) => p.name === name);
    if (!port) throw new Error(`${this.name} has no port named '${name}' (has: ${this.ports.map((p) => p.name).join(', ')})`);
    return port;
  }

  /** Address of this service's ClusterIP Service on `portName`. */
  public endpoint(portName: string): Endpoint {
    return new Endpoint(this, [this.chart.serviceHost(this.name)], this.port(portName).port, portName);
  }

  /**
   * A headless Service for `portName`, so that clients resolve every pod and balance long-lived
   * HTTP/2 (gRPC) connections across them instead of pinning one pod through a ClusterIP.
   */
  public addHeadlessService(name: string, portName: string): Endpoint {
    const port = this.port(portName);
    new k8s.KubeService(this, `headless-${portName}`, {
      metadata: { name },
      spec: {
        clusterIp: 'None',
        selector: this.selector,
        ports: [{ name: port.name, port: port.port, targetPort: k8s.IntOrString.fromString(port.name), protocol: 'TCP' }],
      },
    });
    return new Endpoint(this, [this.chart.serviceHost(name)], port.port, portName);
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
    if (this.env.some((e) => e.name === name)) throw new Error(`${this.name} already has an environment variable '${name}'`);
  }

  private settingsChecksum(): string {
    return contentChecksum(this.settings);
  }
}
