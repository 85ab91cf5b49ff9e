import { Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

import { Component, ComponentProps, Endpoint } from './component';
import { PropError } from './errors';
import { METRICS_SERVICE_LABEL } from './metrics';
import { PlatformChart } from './platform-chart';
import {
  checkStorage,
  container,
  containerPort,
  ContainerSpec,
  ownServiceAccount,
  podDisruptionBudget,
  preferredHostAntiAffinity,
  restrictedPodSecurity,
  spreadConstraints,
  StorageSpec,
} from './pod';

const k8s = kplus.k8s;

export interface StatefulStoreProps extends ComponentProps {
  /** Members of the StatefulSet. */
  readonly replicas: number;
  /**
   * The pod's ports by IANA service name (`{ redis: 6379, metrics: 9121 }`), stated once: both
   * Services publish them, containers declare them by name (`ports(...)`), and the metrics port
   * is one of them.
   */
  readonly ports: Readonly<Record<string, number>>;
  /** The persistent volume claimed per member, mounted by containers as `data`. */
  readonly storage: StorageSpec;
  /** User, group and fsGroup the image's process runs as. */
  readonly runAs: { readonly uid: number; readonly gid: number; readonly fsGroup?: number };
  /** @default 60 */
  readonly terminationGracePeriodSeconds?: number;
  /**
   * `Parallel` lets members start together (they find each other through the headless Service);
   * `OrderedReady` starts them one by one.
   * @default 'Parallel'
   */
  readonly podManagementPolicy?: 'Parallel' | 'OrderedReady';
  /**
   * The port Prometheus scrapes: the client Service becomes the metrics Service.
   * @default - no metrics
   */
  readonly metrics?: { readonly port: string; readonly path?: string; readonly honorLabels?: boolean };
}

/**
 * A data store run as a StatefulSet: one persistent volume per member, a headless governing
 * Service that publishes not-ready addresses (members find each other before they are ready),
 * a client Service, its own ServiceAccount without an API token, a PodDisruptionBudget when it
 * has more than one member, spread across nodes, restricted security by default.
 *
 * A store is grown by addition: its containers, init containers, volumes and pod annotations
 * are added after construction (`addContainer`, ...) and rendered at synthesis.
 *
 * cdk8s-plus-27's StatefulSet has no `volumeClaimTemplates` and its Service no
 * `publishNotReadyAddresses`, so this construct uses the `k8s` L1 classes throughout.
 */
export class StatefulStore extends Component {
  public readonly replicas: number;
  public readonly ports: Readonly<Record<string, number>>;
  /** The user its pods run as (who owns the files on its volumes). */
  public readonly runAs: StatefulStoreProps['runAs'];
  public readonly serviceName: string;
  public readonly headlessServiceName: string;
  public readonly terminationGracePeriodSeconds: number;
  public readonly statefulSet: kplus.k8s.KubeStatefulSet;
  public readonly service: kplus.k8s.KubeService;
  public readonly headlessService: kplus.k8s.KubeService;
  public readonly serviceAccount: kplus.k8s.KubeServiceAccount;
  public readonly podDisruptionBudget?: kplus.k8s.KubePodDisruptionBudget;
  private readonly chart: PlatformChart;
  private readonly containers: kplus.k8s.Container[] = [];
  private readonly initContainers: kplus.k8s.Container[] = [];
  private readonly volumes: kplus.k8s.Volume[] = [];
  private readonly podAnnotations: Record<string, string> = {};

  constructor(scope: Construct, id: string, props: StatefulStoreProps) {
    super(scope, id, props);
    this.chart = PlatformChart.of(this);
    this.replicas = props.replicas;
    this.ports = props.ports;
    this.runAs = props.runAs;
    this.serviceName = props.name;
    this.headlessServiceName = `${props.name}-headless`;
    this.terminationGracePeriodSeconds = props.terminationGracePeriodSeconds ?? 60;
    const podManagementPolicy = props.podManagementPolicy ?? 'Parallel';

    if (!Number.isInteger(props.replicas) || props.replicas < 1) {
      throw new PropError(`'replicas' of ${props.name} must be a whole number of at least 1, got ${props.replicas}`);
    }
    checkStorage(props.storage);
    if (props.metrics) {
      this.declareMetrics({
        service: this.serviceName,
        portName: props.metrics.port,
        port: this.port(props.metrics.port),
        path: props.metrics.path,
        honorLabels: props.metrics.honorLabels,
      });
    }

    this.serviceAccount = ownServiceAccount(this, props.name);

    const servicePorts = Object.entries(props.ports).map(([name, port]) => ({
      name,
      port,
      targetPort: k8s.IntOrString.fromString(name),
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
        labels: props.metrics ? { [METRICS_SERVICE_LABEL]: 'true' } : {},
      },
      spec: { type: 'ClusterIP', selector: this.selector, ports: servicePorts },
    });

    const orNone = <T>(list: T[]) => Lazy.any({ produce: () => (list.length > 0 ? list : undefined) }) as unknown as T[];
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
          metadata: {
            labels: this.labels,
            annotations: Lazy.any({ produce: () => (Object.keys(this.podAnnotations).length > 0 ? this.podAnnotations : undefined) }),
          },
          spec: {
            serviceAccountName: props.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurity(props.runAs),
            terminationGracePeriodSeconds: this.terminationGracePeriodSeconds,
            topologySpreadConstraints: spreadConstraints(this.selector),
            affinity: preferredHostAntiAffinity(this.selector),
            initContainers: orNone(this.initContainers),
            containers: this.containers,
            volumes: orNone(this.volumes),
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

  /** Adds a container (restricted, with requests and limits); `resourcesProp` names its resources in errors. */
  public addContainer(spec: ContainerSpec, resourcesProp?: string): void {
    this.containers.push(container(spec, resourcesProp));
  }

  /** Adds an init container, run before the containers in the order added. */
  public addInitContainer(spec: ContainerSpec, resourcesProp?: string): void {
    this.initContainers.push(container(spec, resourcesProp));
  }

  /** Adds a pod volume besides the `data` claim (scratch emptyDirs, config, secrets). */
  public addVolume(...volumes: kplus.k8s.Volume[]): void {
    this.volumes.push(...volumes);
  }

  /** Adds a pod template annotation (a config checksum: a change rolls the members). */
  public addPodAnnotation(key: string, value: string): void {
    this.podAnnotations[key] = value;
  }

  /** The container ports for some of the store's named ports. */
  public containerPorts(...names: string[]): kplus.k8s.ContainerPort[] {
    return names.map((name) => containerPort(name, this.port(name)));
  }

  /** The number of the store's port `name`. */
  public port(name: string): number {
    const port = this.ports[name];
    if (port === undefined) throw new Error(`${this.name} has no port named '${name}' (has: ${Object.keys(this.ports).join(', ')})`);
    return port;
  }

  /** The stable DNS name of member `ordinal` (`mongodb-0.mongodb-headless.qingyu.svc.cluster.local`). */
  public memberHost(ordinal: number): string {
    return `${this.name}-${ordinal}.${this.chart.serviceHost(this.headlessServiceName)}`;
  }

  /** Every member's stable DNS name, in ordinal order. */
  public get memberHosts(): string[] {
    return Array.from({ length: this.replicas }, (_, i) => this.memberHost(i));
  }

  /** The headless Service's DNS name, under which members resolve. */
  public get headlessHost(): string {
    return this.chart.serviceHost(this.headlessServiceName);
  }

  /** The client Service's address for `portName`. */
  public endpoint(portName: string): Endpoint {
    return new Endpoint(this, [this.chart.serviceHost(this.serviceName)], this.port(portName), portName);
  }

  /** Every member's own address for `portName` (replica-set and peer connections). */
  public memberEndpoint(portName: string): Endpoint {
    return new Endpoint(this, this.memberHosts, this.port(portName), portName);
  }
}
