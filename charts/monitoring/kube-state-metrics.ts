import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

import { Component } from '../../lib/component';
import { connectToKubernetesApi } from '../../lib/flows';
import { metricsService } from '../../lib/metrics';
import { container, httpProbe, ImageRef, imageVersion, ResourceSpec, restrictedPodSecurity } from '../../lib/pod';
import { namespacedApiIdentity } from './api-identity';

const k8s = kplus.k8s;

/** The metrics of the objects (`/metrics`, `/livez`). */
export const KSM_METRICS_PORT = { name: 'http-metrics', port: 8080 } as const;
/** kube-state-metrics' own metrics and `/readyz`. */
const KSM_TELEMETRY_PORT = { name: 'telemetry', port: 8081 } as const;
/** The image's `nobody`. */
const KSM_USER = 65534;

/**
 * What the alerts need (alert-rules.ts: replicas, crash loops, failed Jobs and late CronJobs,
 * HPAs at their maximum, the quota) and what a capacity review asks for; each is also a
 * resource the Role grants. All are namespaced.
 */
const RESOURCES: ReadonlyArray<{ readonly name: string; readonly apiGroup: string }> = [
  { name: 'deployments', apiGroup: 'apps' },
  { name: 'statefulsets', apiGroup: 'apps' },
  { name: 'replicasets', apiGroup: 'apps' },
  { name: 'pods', apiGroup: '' },
  { name: 'persistentvolumeclaims', apiGroup: '' },
  { name: 'horizontalpodautoscalers', apiGroup: 'autoscaling' },
  { name: 'poddisruptionbudgets', apiGroup: 'policy' },
  { name: 'jobs', apiGroup: 'batch' },
  { name: 'cronjobs', apiGroup: 'batch' },
  { name: 'resourcequotas', apiGroup: '' },
];

export interface KubeStateMetricsProps {
  readonly image: ImageRef;
  readonly resources: ResourceSpec;
  /** The platform's namespace: the only one it watches. */
  readonly namespace: string;
  /** Where the Kubernetes API server answers (`network.kubernetesApi`). */
  readonly apiServer: { readonly cidrs: readonly string[]; readonly ports: readonly number[] };
}

/**
 * kube-state-metrics for the platform's own Prometheus, limited to the platform's namespace:
 * `--namespaces` and `--resources` make it list and watch only namespaced objects of this
 * namespace, so a namespaced Role is enough (no ClusterRole, unlike the cluster-wide install of
 * kube-prometheus-stack). It turns Deployments, StatefulSets and Pods into the `kube_*` series
 * the workload alerts need (replicas below desired, crash loops).
 *
 * One replica, as upstream runs it: it is stateless and a rollout surges a new pod before the
 * old one goes; while it is away, the replica alerts wait (their `for` outlasts a reschedule).
 * The ServiceMonitor honours its labels: its series carry the namespace and pod of the object
 * they describe, not those of the kube-state-metrics pod.
 *
 * @see https://github.com/kubernetes/kube-state-metrics#limited-privileges-environment
 */
export class KubeStateMetrics extends Component {
  public readonly deployment: kplus.k8s.KubeDeployment;
  public readonly service: kplus.k8s.KubeService;

  constructor(scope: Construct, id: string, props: KubeStateMetricsProps) {
    super(scope, id, { name: 'kube-state-metrics', component: 'monitoring', version: imageVersion(props.image) });
    this.declareMetrics({ service: 'kube-state-metrics', portName: KSM_METRICS_PORT.name, port: KSM_METRICS_PORT.port, honorLabels: true });

    const byGroup = new Map<string, string[]>();
    for (const r of RESOURCES) byGroup.set(r.apiGroup, [...(byGroup.get(r.apiGroup) ?? []), r.name]);
    namespacedApiIdentity(this, props.namespace, [...byGroup].map(([group, resources]) => ({ apiGroups: [group], resources, verbs: ['list', 'watch'] })));
    this.service = metricsService(this, KSM_METRICS_PORT);

    const probe = (path: string, port: string, failureThreshold: number) => httpProbe(path, port, 10, failureThreshold, 5);
    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata: { name: this.name },
      spec: {
        replicas: 1,
        revisionHistoryLimit: 10,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(0), maxSurge: k8s.IntOrString.fromNumber(1) } },
        selector: { matchLabels: this.selector },
        template: {
          metadata: { labels: this.labels },
          spec: {
            serviceAccountName: this.name,
            // It watches the API server: the one pod here that needs a token.
            automountServiceAccountToken: true,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurity({ uid: KSM_USER, gid: KSM_USER }),
            containers: [
              container({
                name: 'kube-state-metrics',
                image: props.image,
                args: [
                  `--port=${KSM_METRICS_PORT.port}`,
                  `--telemetry-port=${KSM_TELEMETRY_PORT.port}`,
                  `--namespaces=${props.namespace}`,
                  `--resources=${RESOURCES.map((r) => r.name).sort().join(',')}`,
                ],
                ports: [
                  { name: KSM_METRICS_PORT.name, containerPort: KSM_METRICS_PORT.port, protocol: 'TCP' },
                  { name: KSM_TELEMETRY_PORT.name, containerPort: KSM_TELEMETRY_PORT.port, protocol: 'TCP' },
                ],
                resources: props.resources,
                // /readyz turns ready once the informers have synced; /livez only asks the server.
                readinessProbe: probe('/readyz', KSM_TELEMETRY_PORT.name, 3),
                livenessProbe: probe('/livez', KSM_METRICS_PORT.name, 6),
                startupProbe: probe('/livez', KSM_METRICS_PORT.name, 30),
              }),
            ],
          },
        },
      },
    });

    connectToKubernetesApi(this, props.apiServer, 'watch the objects it reports on');
  }
}
