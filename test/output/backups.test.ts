import { loadConfig, PlatformConfig } from '../../config';
import { cronPeriodMinutes } from '../../lib/backup';
import { computeCapacity } from '../../lib/manifest';
import { compositionError, withSection } from '../support/fixtures';
import { ALL_ENVIRONMENTS, find, K8sObject, ofKind, synthesize } from '../support/synth';

// Every store is backed up in every environment, each backup watched, fenced and restorable
// by scripts/restore.sh from what dist/ says (its restore plan).

const STORES = ['mongodb', 'redis', 'etcd', 'milvus'];
const production = loadConfig({ QINGYU_ENV: 'production' });

const podOf = (cronJob: K8sObject) => cronJob.spec.jobTemplate.spec.template.spec;
const envOf = (c: any) => Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));
const restorePlan = (objects: K8sObject[], store: string) => JSON.parse(find(objects, 'ConfigMap', `${store}-backup-scripts`).data['restore.json']);

describe.each(ALL_ENVIRONMENTS)('%s', (env) => {
  const { objects, config } = synthesize(env);
  const cronJobs = ofKind(objects, 'CronJob');
  const backups = STORES.map((store) => find(objects, 'CronJob', `${store}-backup`));
  const schedules: Record<string, any> = {
    mongodb: config.mongodb.backup, redis: config.redis.backup, etcd: config.milvus.etcd.backup, milvus: config.milvus.backup,
  };

  test('backs up every store on its schedule, one run at a time, in the environment\'s time zone', () => {
    for (const [i, store] of STORES.entries()) {
      expect(backups[i].spec).toEqual(expect.objectContaining({ schedule: schedules[store].schedule, timeZone: config.timeZone, concurrencyPolicy: 'Forbid' }));
    }
    expect(cronJobs.map((c) => c.metadata.name).sort()).toEqual(['etcd-backup', 'etcd-defrag', 'milvus-backup', 'mongodb-backup', 'redis-backup']);
  });

  test('meets each declared RPO: the schedule runs more often, and a late backup alerts at the RPO', () => {
    const rules = ofKind(objects, 'PrometheusRule').flatMap((r) => r.spec.groups.flatMap((g: any) => g.rules));
    for (const store of STORES) {
      const s = schedules[store];
      expect(cronPeriodMinutes(s.schedule)).toBeLessThanOrEqual(s.rpoMinutes);
      const late = rules.filter((r: any) => r.alert === 'QingyuCronJobLate' && r.labels.cronjob === `${store}-backup`);
      expect(late).toHaveLength(1);
      expect(late[0].expr).toContain(`> ${s.rpoMinutes * 60}`);
    }
    expect(rules.map((r: any) => r.alert)).toContain('QingyuJobFailed');
  });

  test('uploads with restic, encrypted by a password from backup-target, to one repository per store', () => {
    for (const [i, store] of STORES.entries()) {
      const upload = podOf(backups[i]).containers[0];
      expect(upload.image).toMatch(/^ghcr\.io\/restic\/restic:/);
      const e = envOf(upload);
      expect(e.RESTIC_REPOSITORY).toMatch(new RegExp(`^s3:https?://[^/]+/[^/]+/${config.environment}/${store}$`));
      expect(e.RESTIC_PASSWORD_FILE).toBe('/secrets/restic/password');
      expect(podOf(backups[i]).volumes.find((v: any) => v.name === 'restic').secret.secretName).toBe('backup-target');
      expect(e.KEEP_LAST).toBe('3');
      expect(e.RETENTION_DAYS).toBe(String(schedules[store].retentionDays));
    }
  });

  test('dumps each store with its own image, into a volume claimed per run that the quota counts', () => {
    const images: Record<string, string[]> = {
      mongodb: [config.mongodb.image.repository], redis: [config.redis.image.repository],
      etcd: [config.milvus.etcd.image.repository], milvus: [config.milvus.etcd.image.repository, config.backup.clientImage.repository],
    };
    for (const [i, store] of STORES.entries()) {
      const pod = podOf(backups[i]);
      expect(pod.initContainers.map((c: any) => c.image.split(':')[0])).toEqual(images[store]);
      expect(pod.volumes.find((v: any) => v.name === 'scratch').ephemeral.volumeClaimTemplate.spec.resources.requests.storage).toMatch(/^\d+Gi$/);
      expect(pod.restartPolicy).toBe('Never');
      expect(pod.automountServiceAccountToken).toBe(false);
    }
    const quota = find(objects, 'ResourceQuota', 'platform').spec.hard;
    expect(Number(quota.persistentvolumeclaims)).toBeGreaterThanOrEqual(computeCapacity(objects).persistentVolumeClaims);
  });

  test('names, for restore.sh, what a restore stops and writes, and each step is like a step of the backup', () => {
    for (const [i, store] of STORES.entries()) {
      const plan = restorePlan(objects, store);
      expect(plan.stops[0]).toBe('tier=app');
      const steps = new Set(['upload', ...podOf(backups[i]).initContainers.map((c: any) => c.name)]);
      for (const step of plan.steps) expect(steps).toContain(step.like);
      for (const stop of plan.stops.slice(1)) expect(objects.some((o) => `${o.kind.toLowerCase()}/${o.metadata.name}` === stop)).toBe(true);
      for (const claim of Object.keys(plan.claims ?? {})) {
        const sts = plan.stops.map((s: string) => s.split('/')[1]).find((n: string) => claim.startsWith(`data-${n}-`));
        expect([claim, sts !== undefined]).toEqual([claim, true]);
      }
    }
    expect(restorePlan(objects, 'mongodb').secret).toBe('mongodb-root');
    expect(podOf(backups[0]).volumes.map((v: any) => v.secret?.secretName)).not.toContain('mongodb-root');
  });
});

test('development backs up to the in-cluster MinIO, which the README says is not a backup', () => {
  const { objects } = synthesize('development');
  const upload = podOf(find(objects, 'CronJob', 'redis-backup')).containers[0];
  expect(envOf(upload).RESTIC_REPOSITORY).toBe('s3:http://minio.qingyu-dev.svc.cluster.local:9000/backups/development/redis');
  const credentials = podOf(find(objects, 'CronJob', 'redis-backup')).volumes.find((v: any) => v.name === 'target-credentials');
  // Its own MinIO user, limited to the backup bucket: never the root key.
  expect(credentials.secret.secretName).toBe('minio-backup');
  expect(credentials.secret.items.map((i: any) => i.key)).toEqual(['access-key', 'secret-key']);
  const files = find(objects, 'ConfigMap', 'milvus-scripts').data;
  expect(files.buckets).toBe('backups\nmilvus-bucket\n');
  const resources = JSON.parse(files['policy-backup.json']).Statement.flatMap((st: any) => st.Resource);
  expect(resources).toEqual(['arn:aws:s3:::backups', 'arn:aws:s3:::backups/*', 'arn:aws:s3:::milvus-bucket', 'arn:aws:s3:::milvus-bucket/*']);
});

test.each(ALL_ENVIRONMENTS)('%s: every credential of a backup pod is a mounted file, none an environment variable', (env) => {
  for (const store of STORES) {
    const pod = podOf(find(synthesize(env).objects, 'CronJob', `${store}-backup`));
    for (const c of [...pod.initContainers, ...pod.containers]) {
      const fromSecrets = (c.env ?? []).filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => e.name);
      expect([store, c.name, fromSecrets]).toEqual([store, c.name, []]);
    }
  }
});

test('Milvus\'s backup takes the etcd snapshot before the bucket copy: the pair is consistent', () => {
  const pod = podOf(find(synthesize('production').objects, 'CronJob', 'milvus-backup'));
  expect(pod.initContainers.map((c: any) => c.name)).toEqual(['etcd-snapshot', 'bucket']);
});

test('the schedule period is read for the simple cron forms, and not guessed for others', () => {
  expect(cronPeriodMinutes('15 */6 * * *')).toBe(360);
  expect(cronPeriodMinutes('45 * * * *')).toBe(60);
  expect(cronPeriodMinutes('0 3 * * *')).toBe(1440);
  expect(cronPeriodMinutes('0 3,15 * * *')).toBe(720);
  expect(cronPeriodMinutes('0 1,3 * * *')).toBe(1320);
  expect(cronPeriodMinutes('*/15 * * * *')).toBe(15);
  expect(cronPeriodMinutes('0 3 * * 1')).toBeUndefined();
});

describe('bad backup settings end with one line naming the setting', () => {
  const mongo = (backup: Partial<PlatformConfig['mongodb']['backup']>) =>
    withSection(production, 'mongodb', { ...production.mongodb, backup: { ...production.mongodb.backup, ...backup } });
  test.each([
    [mongo({ schedule: '0 3 * * *' }), "config production.mongodb.backup: 'backup.schedule' '0 3 * * *' runs every 1440 minutes, longer than 'backup.rpoMinutes' 420: the RPO could never be met"],
    [mongo({ schedule: 'daily' }), "config production.mongodb.backup: 'backup.schedule' must be a five-field cron expression of numbers, '*', ',', '-' and '/', got 'daily'"],
    [mongo({ retentionDays: 0 }), "config production.mongodb.backup: 'backup.retentionDays' must be a whole number of at least 1, got 0"],
    [withSection(production, 'backup', { ...production.backup, target: { type: 'in-cluster-minio', bucket: 'backups', prefix: 'p' } }), undefined],
    [withSection(production, 'backup', { ...production.backup, target: { type: 'in-cluster-minio', bucket: 'b', prefix: 'p' } }),
      "config production.backup.target: MinIO user backup: 'b' is no valid bucket name"],
  ])('%#', (config, message) => {
    expect(compositionError(config)).toBe(message);
  });

  test('the in-cluster MinIO target needs the in-cluster MinIO', () => {
    const s3 = synthesize('production with external S3 object storage').config;
    expect(compositionError(withSection(s3, 'backup', { ...s3.backup, target: { type: 'in-cluster-minio', bucket: 'b', prefix: 'p' } })))
      .toBe("config production.backup.target: 'type' in-cluster-minio needs the platform's MinIO (milvus.objectStorage.type 'minio')");
  });
});
