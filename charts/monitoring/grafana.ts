import { createHash } from 'node:crypto';

import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

import { Component, Endpoint } from '../../lib/component';
import { metricsService } from '../../lib/metrics';
import {
  checkStorage,
  container,
  httpProbe,
  ImageRef,
  imageVersion,
  ownServiceAccount,
  ResourceSpec,
  restrictedPodSecurity,
  scratchVolume,
  StorageSpec,
  tcpLiveness,
} from '../../lib/pod';
import { SECRETS } from '../../lib/secrets';
import { PROMETHEUS_DATASOURCE_UID } from './grafana-dashboard';

const k8s = kplus.k8s;

/** The `grafana` user of the official image. */
const GRAFANA_UID = 472;
export const GRAFANA_PORT = { name: 'http', port: 3000 } as const;

/** Where the pieces live in the container. */
const PATHS = {
  data: '/var/lib/grafana',
  logs: '/var/log/grafana',
  provisioning: '/etc/grafana/provisioning',
  dashboards: '/etc/grafana/dashboards',
} as const;

export interface GrafanaProps {
  readonly image: ImageRef;
  /** Its SQLite database, users and saved preferences. */
  readonly storage: StorageSpec;
  readonly resources: ResourceSpec;
  /** The Prometheus Grafana queries; the connection is recorded for the NetworkPolicies. */
  readonly prometheus: Endpoint;
  /** ConfigMaps holding one dashboard JSON file each, provisioned into the folder `folder`. */
  readonly dashboards: readonly kplus.k8s.KubeConfigMap[];
  /** @default 'Qingyu' */
  readonly folder?: string;
}

/**
 * Grafana with its state on a PersistentVolumeClaim (users, preferences, annotations, and
 * dashboards people save from the UI) and everything the platform defines provisioned from
 * ConfigMaps: the Prometheus datasource (uid `prometheus`) and the dashboards, read from files
 * by a dashboard provider (no sidecar, no API token). Admin credentials come from the
 * `grafana-admin` Secret.
 *
 * One replica: Grafana's default SQLite database cannot be shared, so the Deployment uses the
 * `Recreate` strategy and has no PodDisruptionBudget (a budget for one pod either blocks every
 * node drain or allows nothing more than no budget does). Grafana being down for a reschedule
 * loses no data and no alerts (alerting is Prometheus's job).
 *
 * The pod runs as the image's `grafana` user (472) with a read-only root filesystem; it writes
 * only to the data volume, `/tmp` and its log directory. Telemetry, update checks and the news
 * feed are off, since the pod has no internet egress.
 */
export class Grafana extends Component {
  public readonly deployment: kplus.k8s.KubeDeployment;
  public readonly service: kplus.k8s.KubeService;
  public readonly storage: kplus.k8s.KubePersistentVolumeClaim;
  public readonly datasources: kplus.k8s.KubeConfigMap;
  public readonly dashboardProvider: kplus.k8s.KubeConfigMap;
  public readonly folder: string;

  constructor(scope: Construct, id: string, props: GrafanaProps) {
    super(scope, id, { name: 'grafana', component: 'dashboards', version: imageVersion(props.image) });
    this.folder = props.folder ?? 'Qingyu';
    const c = props;
    checkStorage(c.storage);
    this.declareMetrics({ service: 'grafana', portName: GRAFANA_PORT.name, port: GRAFANA_PORT.port });
    const prometheus = this.connect(props.prometheus, 'dashboard queries');

    ownServiceAccount(this, this.name);

    this.storage = new k8s.KubePersistentVolumeClaim(this, 'storage', {
      metadata: { name: this.name },
      spec: {
        accessModes: ['ReadWriteOnce'],
        ...(c.storage.storageClassName !== undefined ? { storageClassName: c.storage.storageClassName } : {}),
        resources: { requests: { storage: k8s.Quantity.fromString(`${c.storage.sizeGiB}Gi`) } },
      },
    });

    // Provisioning files are YAML; JSON is valid YAML and needs no extra dependency.
    const datasourcesYaml = JSON.stringify(
      {
        apiVersion: 1,
        datasources: [
          {
            name: 'Prometheus',
            type: 'prometheus',
            uid: PROMETHEUS_DATASOURCE_UID,
            access: 'proxy',
            url: `http://${prometheus.address}`,
            isDefault: true,
            editable: false,
            jsonData: { httpMethod: 'POST', timeInterval: '30s' },
          },
        ],
      },
      null,
      2,
    );
    this.datasources = new k8s.KubeConfigMap(this, 'datasources', {
      metadata: { name: 'grafana-datasources' },
      data: { 'datasources.yaml': datasourcesYaml },
    });

    const providerYaml = JSON.stringify(
      {
        apiVersion: 1,
        providers: [
          {
            name: 'qingyu',
            orgId: 1,
            folder: this.folder,
            type: 'file',
            // Dashboards as code: changes are made here, not in the UI.
            disableDeletion: true,
            allowUiUpdates: false,
            updateIntervalSeconds: 30,
            options: { path: PATHS.dashboards },
          },
        ],
      },
      null,
      2,
    );
    this.dashboardProvider = new k8s.KubeConfigMap(this, 'dashboard-provider', {
      metadata: { name: 'grafana-dashboard-provider' },
      data: { 'dashboards.yaml': providerYaml },
    });

    this.service = metricsService(this, GRAFANA_PORT);

    const env: Record<string, string> = {
      GF_PATHS_DATA: PATHS.data,
      GF_PATHS_LOGS: PATHS.logs,
      GF_PATHS_PLUGINS: `${PATHS.data}/plugins`,
      GF_PATHS_PROVISIONING: PATHS.provisioning,
      GF_SERVER_HTTP_PORT: String(GRAFANA_PORT.port),
      GF_LOG_MODE: 'console',
      GF_USERS_ALLOW_SIGN_UP: 'false',
      GF_AUTH_ANONYMOUS_ENABLED: 'false',
      GF_SECURITY_DISABLE_GRAVATAR: 'true',
      GF_ANALYTICS_REPORTING_ENABLED: 'false',
      GF_ANALYTICS_CHECK_FOR_UPDATES: 'false',
      GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES: 'false',
      GF_NEWS_NEWS_FEED_ENABLED: 'false',
      GF_METRICS_ENABLED: 'true',
    };
    const probe = (periodSeconds: number, failureThreshold: number, timeoutSeconds: number) =>
      httpProbe('/api/health', GRAFANA_PORT.name, periodSeconds, failureThreshold, timeoutSeconds);

    // The datasource is read at start only: a change rolls the pod. Dashboards are re-read
    // from the mounted files every 30 seconds and need no restart.
    const checksum = createHash('sha256').update(datasourcesYaml).update(providerYaml).digest('hex').slice(0, 16);

    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata: { name: this.name },
      spec: {
        replicas: 1,
        revisionHistoryLimit: 10,
        // The volume is ReadWriteOnce and SQLite single-writer: the old pod goes first.
        strategy: { type: 'Recreate' },
        selector: { matchLabels: this.selector },
        template: {
          metadata: { labels: this.labels, annotations: { 'qingyu.io/config-checksum': checksum } },
          spec: {
            serviceAccountName: this.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurity({ uid: GRAFANA_UID, gid: GRAFANA_UID }),
            terminationGracePeriodSeconds: 30,
            containers: [
              container({
                name: 'grafana',
                image: c.image,
                ports: [{ name: GRAFANA_PORT.name, containerPort: GRAFANA_PORT.port, protocol: 'TCP' }],
                env: [
                  // Grafana reads a setting's value from the file its __FILE variable names: the
                  // credentials stay files of the Secret, never environment values.
                  { name: 'GF_SECURITY_ADMIN_USER__FILE', value: '/etc/grafana/admin/user' },
                  { name: 'GF_SECURITY_ADMIN_PASSWORD__FILE', value: '/etc/grafana/admin/password' },
                  ...Object.entries(env).map(([name, value]) => ({ name, value })),
                ],
                resources: c.resources,
                // Ready as soon as the database answers; restarted only after a minute of
                // failures; database migrations on an upgrade get five minutes.
                readinessProbe: probe(10, 3, 3),
                livenessProbe: tcpLiveness('http', 10, 6),
                startupProbe: probe(5, 60, 3),
                volumeMounts: [
                  { name: 'storage', mountPath: PATHS.data },
                  { name: 'tmp', mountPath: '/tmp' },
                  { name: 'logs', mountPath: PATHS.logs },
                  { name: 'datasources', mountPath: `${PATHS.provisioning}/datasources`, readOnly: true },
                  { name: 'dashboard-provider', mountPath: `${PATHS.provisioning}/dashboards`, readOnly: true },
                  { name: 'dashboards', mountPath: PATHS.dashboards, readOnly: true },
                  { name: 'admin', mountPath: '/etc/grafana/admin', readOnly: true },
                ],
              }),
            ],
            volumes: [
              { name: 'storage', persistentVolumeClaim: { claimName: this.storage.name } },
              scratchVolume('tmp'),
              scratchVolume('logs', 64),
              { name: 'datasources', configMap: { name: this.datasources.name } },
              { name: 'dashboard-provider', configMap: { name: this.dashboardProvider.name } },
              { name: 'dashboards', projected: { sources: props.dashboards.map((d) => ({ configMap: { name: d.name } })) } },
              {
                name: 'admin',
                secret: {
                  secretName: SECRETS.grafana.name,
                  items: [
                    { key: SECRETS.grafana.keys.adminUser.key, path: 'user' },
                    { key: SECRETS.grafana.keys.adminPassword.key, path: 'password' },
                  ],
                  defaultMode: 0o440,
                },
              },
            ],
          },
        },
      },
    });

  }
}
