import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ResourceSpec, StorageSpec } from '../config';
import { Component, ComponentProps, Endpoint } from './component';
import { METRICS_SERVICE_LABEL } from './metrics';
import { PlatformChart } from './platform-chart';
import {
  podDisruptionBudget,
  preferredHostAntiAffinity,
  resourceRequirements,
  restrictedContainerSecurity,
  restrictedPodSecurity,
  spreadConstraints,
} from './pod';

const k8s = kplus.k8s;

export interface StorePort {
  /** IANA service name used for the container port and both Services (`mongodb`, `metrics`). */
  readonly name: string;
  readonly port: number;
}

export interface StatefulStoreProps extends ComponentProps {
  /** Members of the StatefulSet. */
  readonly replicas: number;
  /** Ports of the pod; all are published by the client and the headless Service. */
  readonly ports: readonly StorePort[];
  /** The main container, and any sidecars, in full. `securityContext` defaults to the restricted profile. */
  readonly containers: readonly kplus.k8s.Container[];
  readonly initContainers?: readonly kplus.k8s.Container[];
  /** Resources of the first container when it sets none. */
  readonly resources: ResourceSpec;
  /** The persistent volume claimed per member, mounted by containers as `data`. */
  readonly storage: StorageSpec;
  /** User, group and fsGroup the image's process runs as. */
  readonly runAs: { readonly uid: number; readonly gid: number; readonly fsGroup?: number };
  /** Volumes besides `data` (scratch emptyDirs, config, secrets). */
  readonly volumes?: readonly kplus.k8s.Volume[];
  /** @default 60 */
  readonly terminationGracePeriodSeconds?: number;
  /**
   * `Parallel` lets members start together (they find each other through the headless Service);
   * `OrderedReady` starts them one by one.
   * @default 'Parallel'
   */
  readonly podManagementPolicy?: 'Parallel' | 'OrderedReady';
  /** Name of the port a ServiceMonitor scrapes; marks the client Service as the metrics Service. */
  readonly metricsPortName?: string;
  /** Pod template annotations (config checksums). */
  readonly podAnnotations?: Readonly<Record<string, string>>;
}

/**
 * A data store run as a StatefulSet: one persistent volume per member, a headless governing
 * Service that publishes not-ready addresses (members find each other before they are ready),
 * a client Service, its own ServiceAccount without an API token, a PodDisruptionBudget when it
 * has more than one member, spread across nodes, restricted security by default.
 *
 * cdk8s-plus-27's StatefulSet has no `volumeClaimTemplates` and its Service no
 * `publishNotReadyAddresses`, so this construct uses the `k8s` L1 classes throughout.
 */
export class StatefulStore extends Component {
  public readonly replicas: number;
  public readonly serviceName: string;
  public readonly headlessServiceName: string;
  public readonly statefulSet: kplus.k8s.KubeStatefulSet;
  public readonly service: kplus.k8s.KubeService;
  public readonly headlessService: kplus.k8s.KubeService;
  public readonly serviceAccount: kplus.k8s.KubeServiceAccount;
  public readonly podDisruptionBudget?: kplus.k8s.KubePodDisruptionBudget;
  private readonly chart: PlatformChart;
  private readonly ports: readonly StorePort[];

  constructor(scope: Construct, id: string, props: StatefulStoreProps) {
    super(scope, id, props);
    this.chart = PlatformChart.of(this) as PlatformChart;
    this.replicas = props.replicas;
    this.ports = props.ports;
    this.serviceName = props.name;
    this.headlessServiceName = `${props.name}-headless`;
    const terminationGracePeriodSeconds = props.terminationGracePeriodSeconds ?? 60;
    const podManagementPolicy = props.podManagementPolicy ?? 'Parallel';

    if (!Number.isInteger(props.replicas) || props.replicas < 1) {
      throw new Error(`'replicas' of ${props.name} must be a whole number of at least 1, got ${props.replicas}`);
    }

    this.serviceAccount = new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: { name: props.name },
      automountServiceAccountToken: false,
    });

    const servicePorts = props.ports.map((p) => ({
      name: p.name,
      port: p.port,
      targetPort: k8s.IntOrString.fromString(p.name),
      protocol: 'TCP',
    }));
    this.headlessService = new k8s.KubeService(this, 'headless', {
      metadata: { name: this.headlessServiceName },
      spec: {
        clusterIp: 'None',
        publishNotReadyAddresses: true,
        selector: this.selector,
        ports: servicePorts,
      },
    });
    this.service = new k8s.KubeService(this, 'service', {
      metadata: {
        name: this.serviceName,
        labels: props.metricsPortName ? { [METRICS_SERVICE_LABEL]: 'true' } : {},
      },
      spec: { type: 'ClusterIP', selector: this.selector, ports: servicePorts },
    });

    const containers = props.containers.map((c, i) => ({
      ...c,
      securityContext: c.securityContext ?? restrictedContainerSecurity(),
      resources: c.resources ?? (i === 0 ? resourceRequirements(props.resources) : undefined),
    }));

    this.statefulSet = new k8s.KubeStatefulSet(this, 'statefulset', {
      metadata: { name: props.name },
      spec: {
        serviceName: this.headlessServiceName,
        replicas: props.replicas,
        podManagementPolicy,
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
        revisionHistoryLimit: 10,
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        selector: { matchLabels: this.selector },
        template: {
          metadata: { labels: this.labels, annotations: props.podAnnotations ? { ...props.podAnnotations } : undefined },
          spec: {
            serviceAccountName: props.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurity(props.runAs),
            terminationGracePeriodSeconds,
            topologySpreadConstraints: spreadConstraints(this.selector),
            affinity: preferredHostAntiAffinity(this.selector),
            initContainers: props.initContainers?.map((c) => ({
              ...c,
              securityContext: c.securityContext ?? restrictedContainerSecurity(),
            })),
            containers,
            volumes: props.volumes ? [...props.volumes] : undefined,
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data', labels: this.selector },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: props.storage.storageClassName,
              resources: { requests: { storage: k8s.Quantity.fromString(`${props.storage.sizeGiB}Gi`) } },
            },
          },
        ],
      },
    });

    if (props.replicas > 1) {
      // maxUnavailable 1 keeps a majority of 3 (or more) members during drains.
      this.podDisruptionBudget = podDisruptionBudget(this, 'pdb', { name: props.name, selector: this.selector });
    }
  }

  /** The stable DNS name of member `ordinal` (`mongodb-0.mongodb-headless.qingyu.svc.cluster.local`). */
  public memberHost(ordinal: number): string {
    return `${this.name}-${ordinal}.${this.chart.serviceHost(this.headlessServiceName)}`;
  }

  /** Every member's stable DNS name, in ordinal order. */
  public get memberHosts(): string[] {
    return Array.from({ length: this.replicas }, (_, i) => this.memberHost(i));
  }

  private port(portName: string): StorePort {
    const port = this.ports.find((p) => p.name === portName);
    if (!port) throw new Error(`${this.name} has no port named '${portName}' (has: ${this.ports.map((p) => p.name).join(', ')})`);
    return port;
  }

  /** The client Service's address for `portName`. */
  public endpoint(portName: string): Endpoint {
    return new Endpoint(this, [this.chart.serviceHost(this.serviceName)], this.port(portName).port, portName);
  }

  /** Every member's own address for `portName` (replica-set and peer connections). */
  public memberEndpoint(portName: string): Endpoint {
    return new Endpoint(this, this.memberHosts, this.port(portName).port, portName);
  }
}
