import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

import {
  Prometheus,
  PrometheusSpecAlertingAlertmanagersApiVersion,
  PrometheusSpecAlertingAlertmanagersPort,
  PrometheusSpecContainersResourcesLimits,
  PrometheusSpecResourcesLimits,
  PrometheusSpecServiceDiscoveryRole,
  PrometheusSpecStorageVolumeClaimTemplateSpecResourcesRequests,
} from '../../imports/prometheus-monitoring.coreos.com';
import { Component, Endpoint, LABEL } from '../../lib/component';
import { PropError } from '../../lib/errors';
import { connectToKubernetesApi } from '../../lib/flows';
import { metricsService, Scraper } from '../../lib/metrics';
import { PlatformChart } from '../../lib/platform-chart';
import {
  checkStorage,
  imageName,
  ImageRef,
  imageVersion,
  podDisruptionBudget,
  preferredHostAntiAffinity,
  resourceRequirements,
  ResourceSpec,
  spreadConstraints,
  StorageSpec,
} from '../../lib/pod';
import { namespacedApiIdentity } from './api-identity';
import { CONFIG_RELOADER_RESOURCES, quantities } from './operator-pods';

/** Port of the Prometheus web UI and API (the operator's `web` port). */
export const PROMETHEUS_PORT = { name: 'web', port: 9090 } as const;

/**
 * The image's `nobody`, above 10000 like every other workload (not the operator's documented
 * 1000/2000). A volume written under 1000/2000 stays usable: on the first start with the new
 * fsGroup the kubelet gives every file on it to group 65534, group-writable
 * (fsGroupChangePolicy OnRootMismatch: once, then only when the volume's root is not right),
 * so the new user, a member of that group, reads and writes the existing blocks and WAL.
 */
const PROMETHEUS_USER = { uid: 65534, gid: 65534, fsGroup: 65534 } as const;

export interface PlatformPrometheusProps {
  /** The Prometheus image (the 3.13 LTS line); the operator reads its flags' version from the tag. */
  readonly image: ImageRef;
  /** Replicas, each with its own copy of every series (1 to 3). */
  readonly replicas: number;
  /** Days of samples kept (1 to 365); blocks go earlier when the volume is 85% full. */
  readonly retentionDays: number;
  readonly storage: StorageSpec;
  readonly resources: ResourceSpec;
  /** The platform's namespace: the only one whose ServiceMonitors and rules are selected. */
  readonly namespace: string;
  /** Labels every ServiceMonitor and PrometheusRule of the platform carries. */
  readonly selectionLabels: Readonly<Record<string, string>>;
  /** Where the Kubernetes API server answers (`network.kubernetesApi`), for service discovery. */
  readonly apiServer: { readonly cidrs: readonly string[]; readonly ports: readonly number[] };
  /**
   * Name of the Prometheus resource; the operator names the StatefulSet `prometheus-<name>`.
   * @default 'platform'
   */
  readonly instanceName?: string;
  /** @default '30s' */
  readonly scrapeInterval?: string;
  /** Where alerts go: the Alertmanager Service (every pod behind it gets every alert). */
  readonly alertmanager?: { readonly serviceName: string; readonly endpoint: Endpoint };
}

/**
 * The platform's own Prometheus, run by the Prometheus Operator: a `Prometheus` resource that
 * watches only the platform's namespace (a namespaced Role, no cluster-wide access) and selects
 * every ServiceMonitor and PrometheusRule labelled with `selectionLabels`; its ServiceAccount;
 * a ClusterIP Service `prometheus` on port `web` (9090) that Grafana and go-backend query;
 * a PodDisruptionBudget when it has more than one replica; and a ServiceMonitor on itself.
 *
 * The operator creates the pods and stamps its own selector labels on them, overriding any
 * `podMetadata` label of the same key (`app.kubernetes.io/name: prometheus`,
 * `app.kubernetes.io/instance: <name>`, `prometheus: <name>`, ...). The component's selector is
 * therefore made of operator labels, so Services and NetworkPolicies select the pods that exist.
 *
 * @see https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.Prometheus
 */
export class PlatformPrometheus extends Component {
  public readonly instanceName: string;
  public readonly scrapeInterval: string;
  public readonly prometheus: Prometheus;
  public readonly service: kplus.k8s.KubeService;
  public readonly scraper: Scraper;
  public readonly podDisruptionBudget?: kplus.k8s.KubePodDisruptionBudget;
  private readonly chart: PlatformChart;

  constructor(scope: Construct, id: string, props: PlatformPrometheusProps) {
    super(scope, id, { name: 'prometheus', component: 'monitoring', version: imageVersion(props.image) });
    this.chart = PlatformChart.of(this);
    this.instanceName = props.instanceName ?? 'platform';
    this.scrapeInterval = props.scrapeInterval ?? '30s';
    const c = props;
    if (!Number.isInteger(c.replicas) || c.replicas < 1 || c.replicas > 3) {
      throw new PropError(`'replicas' of Prometheus must be a whole number from 1 to 3, got ${c.replicas}`);
    }
    if (!Number.isInteger(c.retentionDays) || c.retentionDays < 1 || c.retentionDays > 365) {
      throw new PropError(`'retentionDays' of Prometheus must be a whole number from 1 to 365, got ${c.retentionDays}`);
    }
    checkStorage(c.storage);
    resourceRequirements(c.resources);
    if (Object.keys(props.selectionLabels).length === 0) {
      throw new PropError("'selectionLabels' of Prometheus must not be empty: an empty selector would select every ServiceMonitor");
    }
    this.declareMetrics({ service: 'prometheus', portName: PROMETHEUS_PORT.name, port: PROMETHEUS_PORT.port });
    this.scraper = { peer: { kind: 'component', component: this }, selectionLabels: props.selectionLabels };

    // The token is mounted by the Prometheus resource below, the only pod that needs it.
    namespacedApiIdentity(this, props.namespace, [
      // serviceDiscoveryRole EndpointSlice: no access to the older Endpoints API is needed.
      { apiGroups: [''], resources: ['services', 'pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
    ]);

    const onlyOurNamespace = { matchLabels: { 'kubernetes.io/metadata.name': props.namespace } };
    const selectPlatform = { matchLabels: { ...props.selectionLabels } };
    this.prometheus = new Prometheus(this, 'prometheus', {
      metadata: { name: this.instanceName },
      spec: {
        image: imageName(c.image),
        // The operator enables flags by version; a digest carries none, so it assumes its default.
        ...(c.image.tag !== undefined ? { version: c.image.tag } : {}),
        replicas: c.replicas,
        retention: `${c.retentionDays}d`,
        // Drop old blocks before the volume is full (the WAL and compaction need headroom).
        retentionSize: `${Math.floor(c.storage.sizeGiB * 1024 * 0.85)}MB`,
        walCompression: true,
        enableAdminApi: false,
        scrapeInterval: this.scrapeInterval,
        evaluationInterval: this.scrapeInterval,
        serviceAccountName: this.name,
        // Kubernetes service discovery needs the API token.
        automountServiceAccountToken: true,
        serviceDiscoveryRole: PrometheusSpecServiceDiscoveryRole.ENDPOINT_SLICE,
        serviceMonitorSelector: selectPlatform,
        serviceMonitorNamespaceSelector: onlyOurNamespace,
        ruleSelector: selectPlatform,
        ruleNamespaceSelector: onlyOurNamespace,
        // podMonitorSelector, probeSelector and scrapeConfigSelector stay unset: none selected.
        ...(c.alertmanager ? {
          alerting: {
            alertmanagers: [{
              namespace: props.namespace,
              name: c.alertmanager.serviceName,
              port: PrometheusSpecAlertingAlertmanagersPort.fromString(c.alertmanager.endpoint.portName),
              apiVersion: PrometheusSpecAlertingAlertmanagersApiVersion.V2,
            }],
          },
        } : {}),
        podMetadata: { labels: { ...this.labels } },
        securityContext: {
          runAsNonRoot: true,
          runAsUser: PROMETHEUS_USER.uid,
          runAsGroup: PROMETHEUS_USER.gid,
          fsGroup: PROMETHEUS_USER.fsGroup,
          fsGroupChangePolicy: 'OnRootMismatch',
          seccompProfile: { type: 'RuntimeDefault' },
        },
        resources: quantities(c.resources, PrometheusSpecResourcesLimits.fromString),
        // Merged by name into the operator's sidecars: requests and limits incl. ephemeral storage.
        containers: [{ name: 'config-reloader', resources: quantities(CONFIG_RELOADER_RESOURCES, PrometheusSpecContainersResourcesLimits.fromString) }],
        initContainers: [{ name: 'init-config-reloader', resources: quantities(CONFIG_RELOADER_RESOURCES, PrometheusSpecContainersResourcesLimits.fromString) }],
        storage: {
          volumeClaimTemplate: {
            spec: {
              accessModes: ['ReadWriteOnce'],
              ...(c.storage.storageClassName !== undefined ? { storageClassName: c.storage.storageClassName } : {}),
              resources: { requests: { storage: PrometheusSpecStorageVolumeClaimTemplateSpecResourcesRequests.fromString(`${c.storage.sizeGiB}Gi`) } },
            },
          },
        },
        topologySpreadConstraints: spreadConstraints(this.selector) as any,
        affinity: preferredHostAntiAffinity(this.selector) as any,
      },
    });

    // Queries of one dashboard hit the same replica, so graphs do not jump between replicas.
    this.service = metricsService(this, PROMETHEUS_PORT, { sessionAffinity: 'ClientIP' });

    if (c.replicas > 1) {
      this.podDisruptionBudget = podDisruptionBudget(this, 'pdb', { name: this.name, selector: this.selector });
    }

    connectToKubernetesApi(this, props.apiServer, 'service discovery of scrape targets');
    if (c.alertmanager) this.connect(c.alertmanager.endpoint, 'alerts');
  }

  /** The operator's pod labels: they select the pods it creates for this Prometheus. */
  public override get selector(): Record<string, string> {
    return { [LABEL.name]: 'prometheus', prometheus: this.instanceName };
  }

  /** The `prometheus` Service's `web` port. */
  public endpoint(): Endpoint {
    return new Endpoint(this, [this.chart.serviceHost(this.service.name)], PROMETHEUS_PORT.port, PROMETHEUS_PORT.name);
  }
}
