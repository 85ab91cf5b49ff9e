import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

import {
  Alertmanager,
  AlertmanagerSpecContainersResourcesLimits,
  AlertmanagerSpecResourcesLimits,
  AlertmanagerSpecStorageVolumeClaimTemplateSpecResourcesRequests,
} from '../../imports/alertmanager-monitoring.coreos.com';
import { Component, Endpoint, LABEL } from '../../lib/component';
import { PropError } from '../../lib/errors';
import { FlowTable } from '../../lib/flows';
import { metricsService } from '../../lib/metrics';
import { PlatformChart } from '../../lib/platform-chart';
import {
  checkStorage,
  imageName,
  ImageRef,
  imageVersion,
  ownServiceAccount,
  podDisruptionBudget,
  preferredHostAntiAffinity,
  resourceRequirements,
  ResourceSpec,
  spreadConstraints,
  StorageSpec,
} from '../../lib/pod';
import { CONFIG_RELOADER_RESOURCES, quantities } from './operator-pods';


/** The Alertmanager API and UI (the operator's `web` port); Prometheus sends alerts to it. */
export const ALERTMANAGER_PORT = { name: 'web', port: 9093 } as const;
/** The cluster's gossip between members, over TCP and UDP. */
export const MESH_PORT = 9094;

/** The image's `nobody`: Alertmanager writes only its volume (silences, notification log). */
const ALERTMANAGER_USER = { uid: 65534, gid: 65534 } as const;

export interface PlatformAlertmanagerProps {
  readonly image: ImageRef;
  /** Members (1 to 3); the operator clusters them when there are two or more. */
  readonly replicas: number;
  /** Hours silences and the notification log are kept (1 to 720). */
  readonly retentionHours: number;
  readonly storage: StorageSpec;
  readonly resources: ResourceSpec;
  /** Labels of the AlertmanagerConfig(s) it loads, from its own namespace only. */
  readonly configSelector: Readonly<Record<string, string>>;
  /** Where receivers answer: the egress its NetworkPolicy allows. */
  readonly egress: { readonly cidrs: readonly string[]; readonly except: readonly string[]; readonly ports: readonly number[] };
  /**
   * Name of the Alertmanager resource; the operator names the StatefulSet `alertmanager-<name>`.
   * @default 'platform'
   */
  readonly instanceName?: string;
}

/**
 * The platform's own Alertmanager, run by the Prometheus Operator (`own` mode): an
 * `Alertmanager` resource whose configuration is the AlertmanagerConfig(s) of its namespace
 * that carry `configSelector` (the operator starts from its empty default and adds them), its
 * ServiceAccount without an API token (it needs none), a ClusterIP Service `alertmanager` on
 * `web` (9093) that Prometheus sends alerts to and scrapes, a PodDisruptionBudget and the
 * members' gossip on 9094 when it has more than one replica, and its egress to the receivers.
 *
 * Like the Prometheus resource, the pods carry the operator's selector labels
 * (`app.kubernetes.io/name: alertmanager`, `alertmanager: <name>`), which the component's
 * selector uses.
 *
 * @see https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.Alertmanager
 */
export class PlatformAlertmanager extends Component {
  public readonly instanceName: string;
  public readonly alertmanager: Alertmanager;
  public readonly service: kplus.k8s.KubeService;
  public readonly podDisruptionBudget?: kplus.k8s.KubePodDisruptionBudget;
  private readonly chart: PlatformChart;

  constructor(scope: Construct, id: string, props: PlatformAlertmanagerProps) {
    super(scope, id, { name: 'alertmanager', component: 'monitoring', version: imageVersion(props.image) });
    this.chart = PlatformChart.of(this);
    this.instanceName = props.instanceName ?? 'platform';
    const c = props;
    if (!Number.isInteger(c.replicas) || c.replicas < 1 || c.replicas > 3) {
      throw new PropError(`'replicas' of Alertmanager must be a whole number from 1 to 3, got ${c.replicas}`);
    }
    if (!Number.isInteger(c.retentionHours) || c.retentionHours < 1 || c.retentionHours > 720) {
      throw new PropError(`'retentionHours' of Alertmanager must be a whole number from 1 to 720, got ${c.retentionHours}`);
    }
    checkStorage(c.storage);
    resourceRequirements(c.resources);
    if (Object.keys(c.configSelector).length === 0) {
      throw new PropError("'configSelector' of Alertmanager must not be empty: it would load every AlertmanagerConfig of the namespace");
    }
    if (c.egress.ports.length === 0 || c.egress.cidrs.length === 0) {
      throw new PropError("'egress' of Alertmanager must name at least one CIDR and one port: it could not deliver anything");
    }
    this.declareMetrics({ service: 'alertmanager', portName: ALERTMANAGER_PORT.name, port: ALERTMANAGER_PORT.port });

    ownServiceAccount(this, this.name);

    this.alertmanager = new Alertmanager(this, 'alertmanager', {
      metadata: { name: this.instanceName },
      spec: {
        image: imageName(c.image),
        ...(c.image.tag !== undefined ? { version: c.image.tag } : {}),
        replicas: c.replicas,
        retention: `${c.retentionHours}h`,
        serviceAccountName: this.name,
        automountServiceAccountToken: false,
        // Only its own namespace's AlertmanagerConfigs (no namespace selector), and only ours.
        alertmanagerConfigSelector: { matchLabels: { ...c.configSelector } },
        podMetadata: { labels: { ...this.labels } },
        securityContext: {
          runAsNonRoot: true,
          runAsUser: ALERTMANAGER_USER.uid,
          runAsGroup: ALERTMANAGER_USER.gid,
          fsGroup: ALERTMANAGER_USER.gid,
          fsGroupChangePolicy: 'OnRootMismatch',
          seccompProfile: { type: 'RuntimeDefault' },
        },
        resources: quantities(c.resources, AlertmanagerSpecResourcesLimits.fromString),
        containers: [{ name: 'config-reloader', resources: quantities(CONFIG_RELOADER_RESOURCES, AlertmanagerSpecContainersResourcesLimits.fromString) }],
        initContainers: [{
          name: 'init-config-reloader',
          resources: quantities(CONFIG_RELOADER_RESOURCES, AlertmanagerSpecContainersResourcesLimits.fromString),
        }],
        storage: {
          volumeClaimTemplate: {
            spec: {
              accessModes: ['ReadWriteOnce'],
              ...(c.storage.storageClassName !== undefined ? { storageClassName: c.storage.storageClassName } : {}),
              resources: { requests: { storage: AlertmanagerSpecStorageVolumeClaimTemplateSpecResourcesRequests.fromString(`${c.storage.sizeGiB}Gi`) } },
            },
          },
        },
        topologySpreadConstraints: spreadConstraints(this.selector) as any,
        affinity: preferredHostAntiAffinity(this.selector) as any,
      },
    });

    this.service = metricsService(this, ALERTMANAGER_PORT);

    if (c.replicas > 1) {
      this.podDisruptionBudget = podDisruptionBudget(this, 'pdb', { name: this.name, selector: this.selector });
      // The members find each other through the operator's headless Service and gossip silences
      // and the notification log, so that one alert is notified once.
      for (const protocol of ['TCP', 'UDP'] as const) {
        FlowTable.of(this).add({ from: this.peer, to: this.peer, port: MESH_PORT, protocol, purpose: 'cluster gossip between members' });
      }
    }
    for (const port of c.egress.ports) {
      FlowTable.of(this).add({
        from: this.peer,
        to: { kind: 'cidr', cidrs: c.egress.cidrs, except: c.egress.except, description: 'alert receivers' },
        port,
        protocol: 'TCP',
        purpose: 'notifications to the receivers',
      });
    }
  }

  /** The operator's pod labels: they select the pods it creates for this Alertmanager. */
  public override get selector(): Record<string, string> {
    return { [LABEL.name]: 'alertmanager', alertmanager: this.instanceName };
  }

  /** The `alertmanager` Service's `web` port, where Prometheus sends alerts. */
  public endpoint(): Endpoint {
    return new Endpoint(this, [this.chart.serviceHost(this.service.name)], ALERTMANAGER_PORT.port, ALERTMANAGER_PORT.name);
  }
}
