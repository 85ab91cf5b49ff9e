import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { parse } from 'yaml';

import { synthesize } from '../support/synth';
import { FakeCluster, FIXTURE_RELEASE } from './fixtures/fake-cluster';

// scripts/restore.sh against the fake kubectl: a dry run by default, the writers stopped and
// started in reverse, the restore Job built from the manifests, and a failed restore that leaves
// the writers stopped and says how to start them.

const OLD = 'a'.repeat(64);
const NEW = 'b'.repeat(64);
const SNAPSHOTS = JSON.stringify([
  { id: NEW, short_id: NEW.slice(0, 8), time: '2026-12-01T03:00:00Z' },
  { id: OLD, short_id: OLD.slice(0, 8), time: '2026-11-30T03:00:00Z' },
]);

let cluster: FakeCluster;
let release: string;
beforeEach(() => {
  cluster = new FakeCluster();
  cluster.healthy();
  cluster.set('context', 'qingyu-prod');
  cluster.set('snapshots.json', SNAPSHOTS);
  cluster.set('app-deployments', 'deployment/go-backend\t3\ndeployment/python-ai\t3\n');
  release = join(cluster.dir, 'release');
  mkdirSync(join(release, 'dist'), { recursive: true });
  copyFileSync(join(FIXTURE_RELEASE, 'release.env'), join(release, 'release.env'));
  const production = synthesize('production');
  for (const f of production.files) writeFileSync(join(release, 'dist', f.name), f.yaml);
  // Every Service with a selector has ready endpoints once the writers are back.
  const services = production.objects.filter((o) => o.kind === 'Service' && o.spec.selector).map((o) => `${o.metadata.name}\tRR\n`);
  cluster.set('endpoints', services.join(''));
});
afterEach(() => cluster.cleanup());

const restore = (...args: string[]) => cluster.run('restore.sh', ['--env', 'production', '--release-dir', release, ...args]);
const state = (file: string) => (existsSync(join(cluster.state, file)) ? readFileSync(join(cluster.state, file), 'utf8') : '');
const jobs = () => (existsSync(join(cluster.state, 'jobs')) ? readdirSync(join(cluster.state, 'jobs')) : []);

test('is a dry run without --yes: it lists, picks the latest snapshot, prints the plan and changes nothing', () => {
  const r = restore('--store', 'redis');
  expect(r.stderr).not.toContain('unhandled call');
  expect(r.status).toBe(0);
  expect(r.stderr).toContain(`Plan: restore redis in qingyu from snapshot ${NEW.slice(0, 8)} (2026-12-01T03:00:00Z)`);
  expect(r.stderr).toContain('stop statefulset/redis');
  expect(r.stderr).toContain('dry run: nothing was changed');
  expect(state('scaled')).toBe('');
  expect(state('suspend')).toBe('');
  expect(jobs().every((j) => j.startsWith('redis-restore-list-'))).toBe(true);
});

test('--list prints the snapshots, oldest first, and exits', () => {
  const r = restore('--store', 'mongodb', '--list');
  expect(r.status).toBe(0);
  const listed = r.stderr.split('\n').filter((l) => /^ {2}[0-9a-f]{8} {2}/.test(l)).map((l) => l.trim().split(/\s+/)[0]);
  expect(listed).toEqual([OLD.slice(0, 8), NEW.slice(0, 8)]);
  expect(r.stderr).not.toContain('Plan:');
});

test('--yes: suspends the backup, stops the apps then Redis, restores into its volume, starts them in reverse', () => {
  const r = restore('--store', 'redis', '--from', OLD.slice(0, 10), '--yes');
  expect(r.stderr).not.toContain('unhandled call');
  expect(r.status).toBe(0);
  expect(state('scaled').trim().split('\n')).toEqual([
    'deployment/go-backend 0', 'deployment/python-ai 0', 'statefulset/redis 0',
    'statefulset/redis 1', 'deployment/python-ai 3', 'deployment/go-backend 3',
  ]);
  expect(state('suspend').trim().split('\n')).toEqual(['redis-backup {"spec":{"suspend":true}}', 'redis-backup {"spec":{"suspend":false}}']);
  const restoreJob = jobs().find((j) => /^redis-restore-\d+\.yaml$/.test(j))!;
  const job = parse(readFileSync(join(cluster.state, 'jobs', restoreJob), 'utf8'));
  const pod = job.spec.template.spec;
  expect(pod.initContainers[0].env).toContainEqual({ name: 'SNAPSHOT', value: OLD });
  expect(pod.volumes).toContainEqual({ name: 'store-0', persistentVolumeClaim: { claimName: 'data-redis-0' } });
  expect(pod.securityContext.runAsUser).toBe(999);
  expect(pod.containers.map((c: any) => c.command.join(' '))).toEqual(['/bin/sh /scripts/restore-dump.sh']);
  expect(r.stderr).toContain(`redis is restored from ${OLD.slice(0, 8)}`);
});

test('MongoDB restores online: only the apps stop, and root comes from mongodb-root, which the backup never holds', () => {
  const r = restore('--store', 'mongodb', '--yes');
  expect(r.status).toBe(0);
  expect(state('scaled')).not.toContain('statefulset/mongodb');
  const job = parse(readFileSync(join(cluster.state, 'jobs', jobs().find((j) => /^mongodb-restore-\d+/.test(j))!), 'utf8'));
  expect(job.spec.template.spec.volumes).toContainEqual({ name: 'restore-secret', secret: { secretName: 'mongodb-root', defaultMode: 0o440 } });
});

test('a failed restore leaves the writers stopped, keeps the Job, and prints how to start them', () => {
  cluster.set('fail-job', 'etcd-restore-1');
  const r = restore('--store', 'etcd', '--yes');
  expect(r.status).toBe(1);
  expect(state('scaled').trim().split('\n')).toEqual(['deployment/go-backend 0', 'deployment/python-ai 0', 'statefulset/milvus 0', 'statefulset/etcd 0']);
  expect(r.stderr).toContain('The writers stay stopped');
  expect(r.stderr).toContain('kubectl -n qingyu scale statefulset/etcd --replicas=1');
  expect(r.stderr).toContain('kubectl -n qingyu scale deployment/go-backend --replicas=3');
});

describe('the verdict judges what the restore did', () => {
  const withGrafana = (line: string) => state('endpoints').replace(/^grafana\t.*$/m, line);

  test('a Service with no ready endpoint before the restore is reported, not failed, and not waited for', () => {
    cluster.set('endpoints', withGrafana('grafana\tN'));
    const r = restore('--store', 'redis', '--yes');
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('before the restore, these Services have no ready endpoint: grafana');
    expect(r.stderr).toMatch(/WARN endpoints +Service grafana has no ready endpoint \(and had none before\)/);
    expect(r.stderr).not.toContain('waiting for ready endpoints');
    expect(r.stderr).toContain('redis is restored from');
  });

  test('a Service that had ready endpoints before and has none after fails it, and the CronJob still resumes', () => {
    cluster.set('endpoints-after-scale', withGrafana('grafana\tN'));
    const r = cluster.run('restore.sh', ['--env', 'production', '--release-dir', release, '--store', 'redis', '--yes'], { QINGYU_ENDPOINT_WAIT: '0' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/FAIL endpoints +Service grafana has no ready endpoint\n/);
    expect(r.stderr).toContain('restored, but some Services have no ready endpoint');
    expect(state('suspend').trim().split('\n').pop()).toBe('redis-backup {"spec":{"suspend":false}}');
  });
});

test('refuses while a backup runs, before stopping anything', () => {
  cluster.set('cronjob-active', '[{"name":"redis-backup-29000000"}]');
  const r = restore('--store', 'redis', '--yes');
  expect(r.status).toBe(3);
  expect(r.stderr).toContain('a backup of redis runs now');
  expect(state('scaled')).toBe('');
});

test.each([
  [['--store', 'postgres'], "the manifests have no backup of 'postgres' (backed up: mongodb, redis, etcd, milvus)"],
  [['--store', 'redis', '--from', 'c0ffee00'], "no snapshot of redis starts with 'c0ffee00' (see --list)"],
  [['--store', 'redis', '--from', 'yesterday'], "--from: a snapshot id is 8 to 64 hex digits (see --list), or latest; got 'yesterday'"],
  [['--from', 'latest'], '--store is required (mongodb, redis, etcd or milvus)'],
])('%j ends with one line', (args, message) => {
  const r = restore(...args);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
});
