// The pods of scripts/restore.sh, built from what a rendered dist/ says about one store's backup:
// its CronJob `<store>-backup` (images, environment, credentials, volumes, labels, so the same
// NetworkPolicy applies) and its restore plan (`restore.json` in the ConfigMap
// `<store>-backup-scripts`, written by lib/backup.ts). Nothing here holds a secret value: the
// Jobs reference the same Secrets the CronJob does.
//
//   node scripts/lib/restore-job.mjs plan DIR STORE          the plan, one fact per line:
//       cronjob NAME | stop TARGET (in stop order) | claim NAME PATH | unsupported REASON | secret NAME
//   node scripts/lib/restore-job.mjs list DIR STORE NAME     a Job that prints the store's snapshots (restic --json)
//   node scripts/lib/restore-job.mjs restore DIR STORE NAME SNAPSHOT
//                                                            a Job that fetches SNAPSHOT and runs the plan's steps
//   node scripts/lib/restore-job.mjs snapshots FILE          restic's JSON as `id<TAB>time<TAB>short id` lines, newest last
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { stringify } from 'yaml';

import { loadDir } from './manifests.mjs';

export class RestoreError extends Error {}

/** The store's CronJob, its ConfigMap's restore plan, and the namespace. */
export function backupOf(objects, store) {
  const cronJob = objects.find((o) => o.kind === 'CronJob' && o.metadata?.name === `${store}-backup`);
  const scripts = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === `${store}-backup-scripts`);
  if (!cronJob || !scripts?.data?.['restore.json']) {
    const known = objects.filter((o) => o.kind === 'CronJob' && o.metadata.name.endsWith('-backup')).map((o) => o.metadata.name.replace(/-backup$/, ''));
    throw new RestoreError(`the manifests have no backup of '${store}' (backed up: ${known.join(', ') || 'none'})`);
  }
  return { cronJob, plan: JSON.parse(scripts.data['restore.json']), namespace: cronJob.metadata.namespace };
}

/** The plan as facts for bash. */
export function planFacts({ cronJob, plan }) {
  const lines = [['cronjob', cronJob.metadata.name]];
  for (const stop of plan.stops) lines.push(['stop', stop]);
  for (const [claim, path] of Object.entries(plan.claims ?? {})) lines.push(['claim', claim, path]);
  if (plan.secret) lines.push(['secret', plan.secret]);
  if (plan.unsupported) lines.push(['unsupported', plan.unsupported]);
  return lines.map((l) => l.join('\t')).join('\n') + '\n';
}

function podBase(cronJob) {
  const template = structuredClone(cronJob.spec.jobTemplate.spec.template);
  const byName = new Map([...(template.spec.initContainers ?? []), ...template.spec.containers].map((c) => [c.name, c]));
  return { template, byName, upload: byName.get('upload') };
}

function job(cronJob, name, template, purpose) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: cronJob.metadata.namespace,
      labels: { ...(template.metadata?.labels ?? {}), 'qingyu.io/restore': purpose },
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: cronJob.spec.jobTemplate.spec.activeDeadlineSeconds ?? 3600,
      template: { ...template, metadata: { ...template.metadata, labels: { ...(template.metadata?.labels ?? {}), 'qingyu.io/restore': purpose } } },
    },
  };
}

/** A Job whose only container lists the store's snapshots as JSON. */
export function listJob(backup, name) {
  const { template, upload } = podBase(backup.cronJob);
  const store = backup.cronJob.metadata.name.replace(/-backup$/, '');
  template.spec.initContainers = [];
  const list = `. /scripts/restic-env.sh && exec restic snapshots --host '${backup.namespace}' --tag '${store}' --json --no-lock`;
  template.spec.containers = [{ ...upload, name: 'list', command: ['/bin/sh', '-c', list] }];
  return job(backup.cronJob, name, template, 'list');
}

/**
 * A Job that fetches `snapshot` into /scratch/restore (the restic image: the upload's `restic
 * backup .` in /scratch stores the dump at the snapshot's root with restic 0.19), then runs the plan's
 * steps, each a container like the backup's named one, in order, with the store's claims and the
 * restore Secret mounted, as the store's user where the plan says so.
 */
export function restoreJob(backup, name, snapshot) {
  const { plan, cronJob } = backup;
  if (plan.unsupported) throw new RestoreError(plan.unsupported);
  if (!/^[0-9a-f]{8,64}$/.test(snapshot)) throw new RestoreError(`'${snapshot}' is not a restic snapshot id (8 to 64 hex digits)`);
  const { template, byName, upload } = podBase(cronJob);
  const claims = Object.entries(plan.claims ?? {});
  const extraMounts = [
    ...claims.map(([, path], i) => ({ name: `store-${i}`, mountPath: path })),
    ...(plan.secret ? [{ name: 'restore-secret', mountPath: '/secrets/restore', readOnly: true }] : []),
  ];
  const steps = plan.steps.map((step) => {
    const like = byName.get(step.like);
    if (!like) throw new RestoreError(`restore step '${step.name}' is like '${step.like}', which the CronJob does not have`);
    const rest = { ...like };
    delete rest.args;
    return { ...rest, name: step.name, command: step.command, volumeMounts: [...(like.volumeMounts ?? []), ...extraMounts] };
  });
  const fetch = {
    ...upload,
    name: 'fetch',
    command: ['/bin/sh', '-c', '. /scripts/restic-env.sh && mkdir -p /scratch/restore && restic restore "$SNAPSHOT" --target /scratch/restore && ls -la /scratch/restore'],
    env: [...(upload.env ?? []), { name: 'SNAPSHOT', value: snapshot }],
  };
  template.spec.initContainers = [fetch, ...steps.slice(0, -1)];
  template.spec.containers = [steps[steps.length - 1]];
  template.spec.volumes = [
    ...template.spec.volumes,
    ...claims.map(([claim], i) => ({ name: `store-${i}`, persistentVolumeClaim: { claimName: claim } })),
    ...(plan.secret ? [{ name: 'restore-secret', secret: { secretName: plan.secret, defaultMode: 0o440 } }] : []),
  ];
  if (plan.runAs) {
    template.spec.securityContext = {
      ...template.spec.securityContext,
      runAsUser: plan.runAs.uid,
      runAsGroup: plan.runAs.gid,
      fsGroup: plan.runAs.fsGroup ?? plan.runAs.gid,
    };
  }
  return job(cronJob, name, template, 'restore');
}

/** restic's `snapshots --json` as `id<TAB>time<TAB>short_id` lines, oldest first. */
export function snapshotLines(json) {
  const list = JSON.parse(json);
  if (!Array.isArray(list)) throw new RestoreError('restic did not print a list of snapshots');
  return list
    .slice()
    .sort((a, b) => String(a.time).localeCompare(String(b.time)))
    .map((s) => `${s.id}\t${s.time}\t${s.short_id ?? String(s.id).slice(0, 8)}\n`)
    .join('');
}

function main([command, ...args]) {
  if (command === 'snapshots' && args.length === 1) return process.stdout.write(snapshotLines(readFileSync(args[0], 'utf8')));
  const objects = () => loadDir(args[0]).map((d) => d.object);
  if (command === 'plan' && args.length === 2) return process.stdout.write(planFacts(backupOf(objects(), args[1])));
  if (command === 'list' && args.length === 3) return process.stdout.write(stringify(listJob(backupOf(objects(), args[1]), args[2])));
  if (command === 'restore' && args.length === 4) return process.stdout.write(stringify(restoreJob(backupOf(objects(), args[1]), args[2], args[3])));
  process.stderr.write('usage: restore-job.mjs plan DIR STORE | list DIR STORE NAME | restore DIR STORE NAME SNAPSHOT | snapshots FILE\n');
  process.exit(2);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`error: ${error.message}\n`);
    process.exit(error instanceof RestoreError ? 3 : 1);
  }
}
