import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

import { contentChecksum } from './assets';
import { Component, Endpoint } from './component';
import { PropError } from './errors';
import { FlowTable } from './flows';
import { PlatformChart } from './platform-chart';
import { container, ContainerSpec, ImageRef, ownServiceAccount, ResourceSpec, runToCompletionPod, scratchVolume } from './pod';
import { AccessKeySecret, SECRETS } from './secrets';

const k8s = kplus.k8s;

/**
 * Scheduled backups, the kit every store's unit uses: a CronJob whose init containers dump the
 * store into a scratch volume (`/scratch`) with the store's own tools, and whose last container
 * uploads the dump with restic (encrypted, deduplicated) to the environment's backup target, one
 * restic repository per store, then applies the retention. The store's restore plan rides in the
 * same ConfigMap (`restore.json`): `scripts/restore.sh` builds a Job from the CronJob's pod,
 * whose first step fetches a snapshot into `/scratch/restore` and whose next steps are
 * containers like the backup's (same images, environment and credentials), with the store's
 * volumes mounted while the writers are stopped.
 */

/** When a store is backed up, how long backups are kept, and what the platform promises. */
export interface BackupSchedule {
  /** Cron schedule, in the environment's time zone (`timeZone`). */
  readonly schedule: string;
  /** Snapshots younger than this are kept; the newest `keepLast` are kept whatever their age. */
  readonly retentionDays: number;
  /** @default 3: a run of failed backups never prunes the last good ones away */
  readonly keepLast?: number;
  /** The most data a loss may cost: the alert fires when the last success is older than this. */
  readonly rpoMinutes: number;
  /** How long a restore may take; the drills measure it (README "Recovery"). */
  readonly rtoMinutes: number;
}

/**
 * Where backups go. `s3`: an S3-compatible bucket outside the cluster, its access key in the
 * Secret `backup-target`. `in-cluster-minio`: the platform's own MinIO, for development only: a
 * copy in the same cluster is not a backup (it dies with the cluster).
 */
export type BackupTargetConfig =
  | {
    readonly type: 's3';
    /** Host name of the endpoint, without scheme or port. */
    readonly endpoint: string;
    readonly port: number;
    readonly region: string;
    readonly bucket: string;
    /** Each store's repository is `<prefix>/<store>` in the bucket. */
    readonly prefix: string;
    readonly tls: boolean;
    /** Where the endpoint's addresses lie, for the backup Jobs' NetworkPolicies. */
    readonly cidrs: readonly string[];
    /** Ranges inside `cidrs` the Jobs may not reach (the cluster's own). */
    readonly except: readonly string[];
  }
  | { readonly type: 'in-cluster-minio'; readonly bucket: string; readonly prefix: string };

export interface BackupSettings {
  readonly target: BackupTargetConfig;
  /** restic, which encrypts, deduplicates and prunes. */
  readonly image: ImageRef;
  /** The S3 client (`mc`) that copies Milvus's bucket. */
  readonly clientImage: ImageRef;
  /** The upload container's resources. */
  readonly resources: ResourceSpec;
}

/** The backup target as a Job uses it: the repository URL, its credentials, and the way there. */
export interface BackupTarget {
  /** `s3:<scheme>://<host>:<port>/<bucket>/<prefix>/<store>`. */
  repository(store: string): string;
  /** The Secret with the access key, and its two keys (mounted as files, never as environment). */
  readonly credentials: { readonly secret: string; readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Records the flow from a backup Job to the target. */
  connect(job: Component): void;
  /** What the README and the report call it. */
  readonly description: string;
}

/** The in-cluster MinIO as a backup target can be: its API, and a user of its own there. */
export interface InClusterObjectStore {
  readonly endpoint: Endpoint;
  user(client: string, grants: Readonly<Record<string, 'read' | 'readwrite'>>): AccessKeySecret;
}

/** The target of `config.backup.target`; `minio` is the in-cluster MinIO, when one exists. */
export function backupTarget(config: BackupTargetConfig, minio?: InClusterObjectStore): BackupTarget {
  const prefix = config.prefix.replace(/^\/+|\/+$/g, '');
  if (config.type === 'in-cluster-minio') {
    if (!minio) throw new PropError("'type' in-cluster-minio needs the platform's MinIO (milvus.objectStorage.type 'minio')");
    const base = `s3:http://${minio.endpoint.address}/${config.bucket}`;
    // The backups' own MinIO user, limited to the backup bucket (never the root key).
    const user = minio.user('backup', { [config.bucket]: 'readwrite' });
    return {
      repository: (store) => `${base}/${prefix ? `${prefix}/` : ''}${store}`,
      credentials: { secret: user.name, accessKeyId: user.keys.accessKey.key, secretAccessKey: user.keys.secretKey.key },
      connect: (job) => job.connect(minio.endpoint, 'backup upload'),
      description: `the in-cluster MinIO, bucket ${config.bucket} (not a backup: it shares the cluster's fate)`,
    };
  }
  if (config.cidrs.length === 0) throw new PropError("'cidrs' must name where the backup endpoint's addresses lie");
  const base = `s3:${config.tls ? 'https' : 'http'}://${config.endpoint}:${config.port}/${config.bucket}`;
  return {
    repository: (store) => `${base}/${prefix ? `${prefix}/` : ''}${store}`,
    credentials: {
      secret: SECRETS.backupTarget.name,
      accessKeyId: SECRETS.backupTarget.keys.accessKeyId.key,
      secretAccessKey: SECRETS.backupTarget.keys.secretAccessKey.key,
    },
    connect: (job) => FlowTable.of(job).add({
      from: job.peer,
      to: { kind: 'cidr', cidrs: config.cidrs, except: config.except, description: 'backup target' },
      port: config.port,
      protocol: 'TCP',
      purpose: 'backup upload',
    }),
    description: `${config.endpoint}:${config.port}, bucket ${config.bucket}`,
  };
}

/** One dump step: a container of the store's own image that writes its files into `/scratch`. */
export interface BackupStep extends Omit<ContainerSpec, 'volumeMounts'> {
  /** Extra mounts besides the scratch, temp and scripts volumes. */
  readonly volumeMounts?: kplus.k8s.VolumeMount[];
}

/**
 * How a snapshot goes back (read by scripts/restore.sh). Each step is a container `like` one of
 * the backup pod's (a dump step, or `upload`: the restic image with its shell), with its own
 * command; the snapshot's files are in `/scratch/restore`.
 */
export interface RestorePlan {
  /** What must not run during the restore: `tier=app` (the applications), `statefulset/<name>`. Restarted in reverse order. */
  readonly stops: readonly string[];
  /** The store's claims the steps write to (`<claim>: <mount path>`), mounted with the store stopped. */
  readonly claims?: Readonly<Record<string, string>>;
  /** A Secret mounted at `/secrets/restore` in the steps (credentials the backup itself must not hold). */
  readonly secret?: string;
  /** The store's user, for steps that write its files (the store refuses files it does not own). */
  readonly runAs?: { readonly uid: number; readonly gid: number; readonly fsGroup?: number };
  readonly steps: ReadonlyArray<{ readonly name: string; readonly like: string; readonly command: readonly string[] }>;
  /** Why restore.sh cannot restore this configuration, if it cannot (it then stops before anything). */
  readonly unsupported?: string;
}

export interface BackupJobProps {
  /** The store's name: the Job is `<store>-backup`, its repository `<prefix>/<store>`. */
  readonly store: string;
  readonly schedule: BackupSchedule;
  readonly timeZone: string;
  readonly settings: BackupSettings;
  readonly target: BackupTarget;
  /** The dump steps, in order (init containers). */
  readonly steps: readonly BackupStep[];
  /** The scripts the dump and restore steps run, mounted at `/scripts`. */
  readonly scripts: Readonly<Record<string, string>>;
  readonly restore: RestorePlan;
  /** Room for one dump: a volume claimed per run, released when the Job's pod goes. */
  readonly scratchGiB: number;
  readonly storageClassName?: string;
  /** Extra volumes of the steps (Secrets with credentials). */
  readonly volumes?: kplus.k8s.Volume[];
  /** How long one run may take before it is killed. @default 3600 */
  readonly activeDeadlineSeconds?: number;
}

/** The uid the backup pods run as: none of the images needs its own user for a dump. */
const BACKUP_UID = 10002;
export const SCRATCH_MOUNT = '/scratch';
const SCRIPTS_MOUNT = '/scripts';

/**
 * A store's scheduled backup: a CronJob (Forbid: one run at a time), its ServiceAccount without
 * a token, the ConfigMap of its scripts, and the flows to the target. The store's chart connects
 * the Job to the store (`job.connect(...)`), so its NetworkPolicy allows exactly that.
 */
export class BackupJob extends Component {
  public readonly cronJob: kplus.k8s.KubeCronJob;
  public readonly schedule: BackupSchedule;

  constructor(scope: Construct, id: string, props: BackupJobProps) {
    super(scope, id, { name: `${props.store}-backup`, component: 'backup', version: props.settings.image.tag ?? 'digest' });
    const s = props.schedule;
    this.schedule = s;
    checkSchedule(s);
    if (!Number.isInteger(props.scratchGiB) || props.scratchGiB < 1) {
      throw new PropError(`'scratchGiB' of the ${props.store} backup must be a whole number of at least 1, got ${props.scratchGiB}`);
    }
    if (props.steps.length === 0) throw new PropError(`the ${props.store} backup needs at least one dump step`);
    const keepLast = s.keepLast ?? 3;
    const chart = PlatformChart.of(this);

    ownServiceAccount(this, this.name);
    const known = new Set(['upload', ...props.steps.map((step) => step.name)]);
    for (const step of props.restore.steps) {
      if (!known.has(step.like)) throw new PropError(`restore step '${step.name}' of the ${props.store} backup is like '${step.like}', which is no step of it`);
    }
    const files = {
      ...props.scripts,
      'restic-env.sh': RESTIC_ENV_SCRIPT,
      'upload.sh': UPLOAD_SCRIPT,
      'restore.json': `${JSON.stringify(props.restore, null, 2)}\n`,
    };
    const scripts = new k8s.KubeConfigMap(this, 'scripts', { metadata: { name: `${this.name}-scripts` }, data: files });
    props.target.connect(this);

    const env: kplus.k8s.EnvVar[] = [
      { name: 'HOME', value: '/tmp' },
      { name: 'STORE', value: props.store },
      { name: 'NAMESPACE', value: chart.platform.namespace },
    ];
    const mounts: kplus.k8s.VolumeMount[] = [
      { name: 'scratch', mountPath: SCRATCH_MOUNT },
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'scripts', mountPath: SCRIPTS_MOUNT, readOnly: true },
    ];
    const restic: kplus.k8s.EnvVar[] = [
      { name: 'RESTIC_REPOSITORY', value: props.target.repository(props.store) },
      { name: 'RESTIC_PASSWORD_FILE', value: '/secrets/restic/password' },
      { name: 'RESTIC_CACHE_DIR', value: `${SCRATCH_MOUNT}/.cache` },
      { name: 'RETENTION_DAYS', value: String(s.retentionDays) },
      { name: 'KEEP_LAST', value: String(keepLast) },
    ];
    const claim = (gib: number): kplus.k8s.Volume => ({
      name: 'scratch',
      ephemeral: {
        volumeClaimTemplate: {
          spec: {
            accessModes: ['ReadWriteOnce'],
            ...(props.storageClassName !== undefined ? { storageClassName: props.storageClassName } : {}),
            resources: { requests: { storage: k8s.Quantity.fromString(`${gib}Gi`) } },
          },
        },
      },
    });

    this.cronJob = new k8s.KubeCronJob(this, 'cron-job', {
      metadata: {
        name: this.name,
        annotations: {
          'qingyu.io/rpo-minutes': String(s.rpoMinutes),
          'qingyu.io/rto-minutes': String(s.rtoMinutes),
          'qingyu.io/backup-target': props.target.description,
        },
      },
      spec: {
        schedule: s.schedule,
        timeZone: props.timeZone,
        concurrencyPolicy: 'Forbid',
        // A run missed by more than an hour (controller down) is skipped, not run late in a burst.
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: props.activeDeadlineSeconds ?? 3600,
            template: {
              metadata: { labels: this.labels, annotations: { 'qingyu.io/scripts-checksum': contentChecksum(files) } },
              spec: {
                ...runToCompletionPod(this.name, { uid: BACKUP_UID, gid: BACKUP_UID }),
                initContainers: props.steps.map(({ volumeMounts, env: stepEnv, ...step }) => container({
                  ...step,
                  env: [...env, ...(stepEnv ?? [])],
                  volumeMounts: [...mounts, ...(volumeMounts ?? [])],
                })),
                containers: [container({
                  name: 'upload',
                  image: props.settings.image,
                  resources: props.settings.resources,
                  command: ['/bin/sh', `${SCRIPTS_MOUNT}/upload.sh`],
                  env: [...env, ...restic],
                  volumeMounts: [
                    ...mounts,
                    { name: 'restic', mountPath: '/secrets/restic', readOnly: true },
                    { name: 'target-credentials', mountPath: '/secrets/target', readOnly: true },
                  ],
                }, 'backup.resources')],
                volumes: [
                  claim(props.scratchGiB),
                  scratchVolume('tmp', 64),
                  { name: 'scripts', configMap: { name: scripts.name, defaultMode: 0o444 } },
                  {
                    name: 'restic',
                    secret: {
                      secretName: SECRETS.backupTarget.name,
                      items: [{ key: SECRETS.backupTarget.keys.resticPassword.key, path: 'password' }],
                      defaultMode: 0o440,
                    },
                  },
                  {
                    name: 'target-credentials',
                    secret: {
                      secretName: props.target.credentials.secret,
                      items: [
                        { key: props.target.credentials.accessKeyId, path: 'access-key-id' },
                        { key: props.target.credentials.secretAccessKey, path: 'secret-access-key' },
                      ],
                      defaultMode: 0o440,
                    },
                  },
                  ...(props.volumes ?? []),
                ],
              },
            },
          },
        },
      },
    });
  }
}

function checkSchedule(s: BackupSchedule): void {
  const fields = s.schedule.trim().split(/\s+/);
  if (fields.length !== 5 || !fields.every((f) => /^[0-9*,/-]+$/.test(f))) {
    throw new PropError(`'backup.schedule' must be a five-field cron expression of numbers, '*', ',', '-' and '/', got '${s.schedule}'`);
  }
  for (const [name, value, min] of [['retentionDays', s.retentionDays, 1], ['rpoMinutes', s.rpoMinutes, 5], ['rtoMinutes', s.rtoMinutes, 1]] as const) {
    if (!Number.isInteger(value) || value < min) throw new PropError(`'backup.${name}' must be a whole number of at least ${min}, got ${value}`);
  }
  if (s.keepLast !== undefined && (!Number.isInteger(s.keepLast) || s.keepLast < 1)) {
    throw new PropError(`'backup.keepLast' must be a whole number of at least 1, got ${s.keepLast}`);
  }
  const period = cronPeriodMinutes(s.schedule);
  if (period !== undefined && period > s.rpoMinutes) {
    throw new PropError(`'backup.schedule' '${s.schedule}' runs every ${period} minutes, longer than 'backup.rpoMinutes' ${s.rpoMinutes}: the RPO could never be met`);
  }
}

/**
 * The longest gap between runs of the simple schedules, in minutes: daily (`M H * * *`), a few
 * hours a day (`M H1,H2 * * *`), hourly (`M * * * *`), every n hours or n minutes (a step in
 * the hour or minute field); undefined for the others (they are not checked against the RPO).
 */
export function cronPeriodMinutes(schedule: string): number | undefined {
  const [minute, hour, dom, month, dow] = schedule.trim().split(/\s+/);
  if (dom !== '*' || month !== '*' || dow !== '*') return undefined;
  const every = (field: string) => (/^\*\/(\d+)$/.exec(field) ? Number(/^\*\/(\d+)$/.exec(field)![1]) : undefined);
  if (/^\d+$/.test(minute)) {
    if (hour === '*') return 60;
    if (every(hour)) return every(hour)! * 60;
    if (/^\d+$/.test(hour)) return 24 * 60;
    if (/^\d+(,\d+)+$/.test(hour)) {
      const hours = hour.split(',').map(Number).sort((a, b) => a - b);
      return Math.max(...hours.map((h, i) => (i === 0 ? h + 24 - hours[hours.length - 1] : h - hours[i - 1]))) * 60;
    }
  }
  if (hour === '*' && every(minute)) return every(minute);
  return undefined;
}

/**
 * The upload step (the restic image's /bin/sh): create the store's repository on first use,
 * back up the dump as one snapshot tagged with the store, then forget what the retention no
 * longer keeps and prune the data only those snapshots used.
 */
/** Sourced before every restic call: the target's access key, from the mounted Secret files. */
const RESTIC_ENV_SCRIPT = `# Sourced by the restic steps: the backup target's access key, read from the Secret's files.
AWS_ACCESS_KEY_ID="$(cat /secrets/target/access-key-id)"
AWS_SECRET_ACCESS_KEY="$(cat /secrets/target/secret-access-key)"
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
`;

const UPLOAD_SCRIPT = `#!/bin/sh
# Upload the dump in /scratch as one restic snapshot, then apply the retention.
set -eu
: "\${RESTIC_REPOSITORY:?}" "\${RESTIC_PASSWORD_FILE:?}" "\${STORE:?}"
. /scripts/restic-env.sh
if ! restic cat config >/dev/null 2>&1; then
  echo "upload: no repository at \${RESTIC_REPOSITORY} yet: creating it"
  restic init
fi
cd /scratch
restic backup --host "\${NAMESPACE}" --tag "\${STORE}" --exclude lost+found --exclude .cache .
restic forget --host "\${NAMESPACE}" --tag "\${STORE}" --keep-last "\${KEEP_LAST}" --keep-within "\${RETENTION_DAYS}d" --prune
restic snapshots --host "\${NAMESPACE}" --tag "\${STORE}" --latest 1
`;
