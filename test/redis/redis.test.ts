import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Testing } from 'cdk8s';

import { RedisChart } from '../../charts/redis/redis-chart';
import { MaxMemoryPolicy, RedisStore, RedisStoreProps } from '../../charts/redis/redis-store';
import { RedisConfig } from '../../config';
import { imageName } from '../../lib/pod';
import { compositionError, fqdn, objectsOf, renderedResources, scrapeForTest, scratchChart, SMALL } from '../support/fixtures';
import { ALL_ENVIRONMENTS, container, find, K8sObject, ofKind, podSpec, synthesize } from '../support/synth';

const prod = synthesize('production');
const dev = synthesize('development');
const redisFile = (env = prod) => env.files.find((f) => f.name.endsWith('-redis.k8s.yaml'))!;
const ASSETS = join(__dirname, '..', '..', 'charts', 'redis', 'assets');

function envOf(workload: K8sObject, name: string): Record<string, any> {
  return Object.fromEntries(container(workload, name).env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
}

/** The Redis unit alone, from a small config with `redis` changed (and a second store beside it). */
function redisUnit(change: (c: RedisConfig) => RedisConfig = (c) => c, other?: Partial<RedisStoreProps>) {
  const config = { ...SMALL, redis: change(SMALL.redis) };
  const chart = new RedisChart(Testing.app(), 'redis', { config });
  if (other) new RedisStore(chart, 'other', { ...config.redis, name: 'other', ...other });
  scrapeForTest(chart.redis);
  return { config, objects: objectsOf(chart) };
}

const conf = (env = prod) => find(env.objects, 'ConfigMap', 'redis-config').data['redis.conf'] as string;
/** The effective value of a directive: Redis applies the last occurrence. */
const directive = (text: string, name: string) =>
  text.split('\n').filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1)).at(-1);

test('the redis chart matches its snapshot', () => {
  expect(redisFile().yaml).toMatchSnapshot();
});

describe('redis', () => {
  const sts = find(prod.objects, 'StatefulSet', 'redis');
  const redis = container(sts, 'redis');

  test('runs the pinned official redis image as its redis user (999) with a read-only root filesystem', () => {
    expect(redis.image).toBe(imageName(prod.config.redis.image));
    expect(podSpec(sts).securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999 });
    expect(redis.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  });

  test('persists with an append-only file fsynced every second, and no RDB snapshots', () => {
    expect(directive(conf(), 'appendonly')).toBe('yes');
    expect(directive(conf(), 'appendfsync')).toBe('everysec');
    expect(directive(conf(), 'save')).toBe('""');
    expect(directive(conf(), 'dir')).toBe('/data');
    expect(redis.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
  });

  test('uses the repository\'s redis.conf plus the environment\'s maxmemory and a volatile-lru policy', () => {
    expect(conf().startsWith(readFileSync(join(ASSETS, 'redis.conf'), 'utf8').trimEnd())).toBe(true);
    expect(directive(conf(), 'maxmemory')).toBe(`${prod.config.redis.maxMemoryMiB}mb`);
    expect(directive(conf(dev), 'maxmemory')).toBe(`${dev.config.redis.maxMemoryMiB}mb`);
    expect(directive(conf(), 'maxmemory-policy')).toBe('volatile-lru');
    expect(redis.volumeMounts).toContainEqual({ name: 'config', mountPath: '/etc/redis', readOnly: true });
  });

  test('rolls the pod when its configuration or scripts change', () => {
    const checksum = (objects: K8sObject[]) => find(objects, 'StatefulSet', 'redis').spec.template.metadata.annotations['qingyu.io/config-checksum'];
    expect(checksum(prod.objects)).toMatch(/^[0-9a-f]{16}$/);
    expect(checksum(dev.objects)).not.toBe(checksum(prod.objects));
  });

  test('has an ACL user per client, each from its own Secret, and no password in its environment or arguments', () => {
    const env = envOf(sts, 'redis');
    expect(Object.values(env).filter((v: any) => v?.secretKeyRef)).toEqual([]);
    expect(redis.command).toEqual(['sh', '/scripts/start-redis.sh']);
    expect(redis.args).toBeUndefined();
    const commandLines = [redis, container(sts, 'exporter')].flatMap((c) => [
      ...(c.command ?? []), ...(c.args ?? []),
      ...[c.livenessProbe, c.readinessProbe, c.startupProbe].flatMap((p) => p?.exec?.command ?? []),
    ]);
    expect(commandLines.filter((a: string) => /requirepass|PASSWORD|-a\b|--pass/.test(a))).toEqual([]);
    expect(directive(conf(), 'requirepass')).toBeUndefined();
    const users = find(prod.objects, 'ConfigMap', 'redis-config').data['users.rules'].trim().split('\n').map((l: string) => l.split(' ')[0]);
    expect(users).toEqual(['admin', 'backup', 'exporter', 'go-backend', 'probe', 'python-ai']);
    const sources = podSpec(sts).volumes.find((v: any) => v.name === 'users').projected.sources.map((s: any) => s.secret.name).sort();
    expect(sources).toEqual(users.map((u: string) => `redis-${u}`));
  });

  test('gives each kind of client only what it needs: apps no admin or dangerous command, probes PING, the backup SYNC', () => {
    const rules = Object.fromEntries(find(prod.objects, 'ConfigMap', 'redis-config').data['users.rules'].trim().split('\n')
      .map((l: string) => [l.split(' ')[0], l.slice(l.indexOf(' ') + 1)]));
    expect(rules['go-backend']).toBe('~* &* +@all -@admin -@dangerous');
    expect(rules.probe).toBe('-@all +ping');
    expect(rules.backup).toBe('-@all +ping +sync +psync +replconf');
    expect(rules.exporter.split(' ')).toEqual(expect.arrayContaining(['-@all', '+@connection', '+info', '+config|get', '+slowlog', '+latency']));
    expect(rules.exporter).not.toContain('arcount');
    const denied = redisUnit((c) => c, { denyScripting: true }).objects;
    expect(find(denied, 'ConfigMap', 'other-config').data['users.rules']).not.toContain('@scripting');
    const store = new RedisStore(scratchChart(), 'r', { ...SMALL.redis, name: 'r', denyScripting: true });
    store.user('app-one', 'app');
    expect(store.configMap.toJson().data['users.rules']).toContain('app-one ~* &* +@all -@admin -@dangerous -@scripting');
  });

  test('a client is one user of one role; the admin user\'s Secret is for the server alone', () => {
    const store = new RedisStore(scratchChart(), 'r', { ...SMALL.redis, name: 'r' });
    expect(store.user('app-one', 'app')).toBe(store.user('app-one', 'app'));
    expect(() => store.user('app-one', 'probe')).toThrow("Redis user 'app-one' has the role app already, not probe");
    expect(() => store.user('App.One', 'app')).toThrow("Redis clients are named with lower-case letters, digits and '-' (at most 63), got 'App.One'");
    expect(store.user('admin', 'admin').adminOnly).toEqual(['StatefulSet/r/redis']);
    expect(store.user('app-one', 'app').adminOnly).toBeUndefined();
  });

  test('probes with redis-cli ping: liveness accepts PONG, LOADING and MASTERDOWN, readiness only PONG', () => {
    expect(redis.livenessProbe.exec.command).toEqual(['sh', '/scripts/ping-liveness.sh', '4']);
    expect(redis.readinessProbe.exec.command).toEqual(['sh', '/scripts/ping-readiness.sh', '2']);
    expect(redis.startupProbe.exec.command[1]).toBe('/scripts/ping-liveness.sh');
    expect(redis.livenessProbe).not.toEqual(redis.readinessProbe);
    const scripts = find(prod.objects, 'ConfigMap', 'redis-scripts').data;
    for (const file of ['start-redis.sh', 'ping-liveness.sh', 'ping-readiness.sh']) {
      expect(scripts[file]).toBe(readFileSync(join(ASSETS, file), 'utf8'));
    }
  });

  test('gives SHUTDOWN time to flush the AOF on SIGTERM', () => {
    expect(podSpec(sts).terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
    expect(directive(conf(), 'shutdown-on-sigterm')).toBe('default');
  });

  test('is one member with a volume sized per environment, so it needs no PodDisruptionBudget', () => {
    expect(sts.spec.replicas).toBe(1);
    for (const env of ALL_ENVIRONMENTS) {
      const out = synthesize(env);
      const claim = find(out.objects, 'StatefulSet', 'redis').spec.volumeClaimTemplates[0];
      expect(claim.spec.resources.requests.storage).toBe(`${out.config.redis.storage.sizeGiB}Gi`);
    }
    expect(ofKind(prod.objects, 'PodDisruptionBudget').filter((p) => p.metadata.name === 'redis')).toEqual([]);
  });

  test('is reached by the applications through the Service redis on port 6379', () => {
    expect(find(prod.objects, 'Service', 'redis').spec.ports).toContainEqual({ name: 'redis', port: 6379, protocol: 'TCP', targetPort: 'redis' });
    expect(find(prod.objects, 'ConfigMap', 'go-backend-config').data.REDIS_ADDR).toBe(`${fqdn(prod.config, 'redis')}:6379`);
  });
});

describe('redis_exporter sidecar', () => {
  const sts = find(prod.objects, 'StatefulSet', 'redis');
  const exporter = container(sts, 'exporter');

  test('runs the pinned redis_exporter on port 9121 named metrics, with its own resources', () => {
    expect(exporter.image).toBe(imageName(prod.config.redis.exporter.image));
    expect(exporter.ports).toEqual([{ name: 'metrics', containerPort: 9121, protocol: 'TCP' }]);
    expect(exporter.resources).toEqual(renderedResources(prod.config.redis.exporter.resources));
    expect(exporter.securityContext.readOnlyRootFilesystem).toBe(true);
  });

  test('logs in as its own monitoring user, is ready on /health and alive while its port answers', () => {
    expect(envOf(sts, 'exporter')).toEqual({
      REDIS_ADDR: 'redis://127.0.0.1:6379',
      REDIS_USER: 'exporter',
      REDIS_PASSWORD: { secretKeyRef: { name: 'redis-exporter', key: 'password' } },
      REDIS_EXPORTER_WEB_LISTEN_ADDRESS: ':9121',
    });
    expect(exporter.livenessProbe.tcpSocket).toEqual({ port: 'metrics' });
    expect(exporter.readinessProbe.httpGet).toEqual({ path: '/health', port: 'metrics' });
    expect(exporter.livenessProbe).not.toEqual(exporter.readinessProbe);
  });

  test.each(ALL_ENVIRONMENTS)('is scraped in %s by a ServiceMonitor selecting the one Service with the metrics port', (env) => {
    const { objects } = synthesize(env);
    const sm = find(objects, 'ServiceMonitor', 'redis');
    expect(sm.spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
    const selected = ofKind(objects, 'Service').filter((s) =>
      Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v));
    expect(selected.map((s) => s.metadata.name)).toEqual(['redis']);
    expect(selected[0].spec.ports).toContainEqual(expect.objectContaining({ name: 'metrics', port: 9121 }));
  });
});

describe('RedisStore validation', () => {
  test('refuses a maxmemory above 80% of the memory limit, naming the setting', () => {
    const redis = { ...SMALL.redis, maxMemoryMiB: SMALL.redis.resources.memoryMiB.limit };
    const ceiling = Math.floor(SMALL.redis.resources.memoryMiB.limit * 0.8);
    expect(compositionError({ ...SMALL, redis })).toBe(
      `config development.redis: 'maxMemoryMiB' of redis must be a whole number from 16 to ${ceiling} (80% of the `
      + `${SMALL.redis.resources.memoryMiB.limit}Mi memory limit, leaving room for copy-on-write during AOF rewrites), got ${redis.maxMemoryMiB}`,
    );
  });

  test('refuses an unknown eviction policy', () => {
    expect(() => redisUnit((c) => c, { maxMemoryPolicy: 'lru' as MaxMemoryPolicy })).toThrow(/'maxMemoryPolicy' of other must be one of volatile-lru, .*got 'lru'/);
  });

  test('takes another eviction policy when asked', () => {
    const { objects } = redisUnit((c) => c, { maxMemoryPolicy: 'volatile-ttl' });
    expect(directive(find(objects, 'ConfigMap', 'other-config').data['redis.conf'], 'maxmemory-policy')).toBe('volatile-ttl');
  });

  test('builds from a small config alone, with its ServiceMonitor', () => {
    const { config, objects } = redisUnit();
    expect(find(objects, 'StatefulSet', 'redis').metadata.namespace).toBe(config.namespace);
    expect(find(objects, 'ServiceMonitor', 'redis').metadata.labels).toMatchObject({ release: 'test' });
  });
});

describe('the scripts', () => {
  /** Runs an asset script with fake binaries on PATH. */
  function run(script: string, args: string[], fakes: Record<string, string>, env: Record<string, string> = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'redis-scripts-'));
    try {
      for (const [name, body] of Object.entries(fakes)) {
        writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
        chmodSync(join(dir, name), 0o755);
      }
      const r = spawnSync('sh', [join(ASSETS, script), ...args], { encoding: 'utf8', env: { PATH: `${dir}:/usr/bin:/bin`, ...env } });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** A users directory with one password file per user, and the rules file. */
  function users(passwords: Record<string, string>, rules: string): { dir: string; env: Record<string, string> } {
    const dir = mkdtempSync(join(tmpdir(), 'redis-users-'));
    for (const [user, password] of Object.entries(passwords)) {
      mkdirSync(join(dir, 'users', user), { recursive: true });
      writeFileSync(join(dir, 'users', user, 'password'), password);
    }
    writeFileSync(join(dir, 'users.rules'), rules);
    return { dir, env: { REDIS_USERS_DIR: join(dir, 'users'), REDIS_USERS_RULES: join(dir, 'users.rules'), REDIS_ACL_FILE: join(dir, 'users.acl') } };
  }

  test('start-redis.sh writes an ACL file of password hashes, the default user off, and hands Redis only its path', () => {
    const u = users({ probe: 'p1', 'go-backend': 's3cr3t' }, 'probe -@all +ping\ngo-backend ~* &* +@all -@admin -@dangerous\n');
    try {
      const r = run('start-redis.sh', [], { 'redis-server': 'echo "ARGS: $*"; cat' }, u.env);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`ARGS: /etc/redis/redis.conf -\naclfile ${u.env.REDIS_ACL_FILE}\n`);
      const acl = readFileSync(u.env.REDIS_ACL_FILE, 'utf8');
      const sha = (s: string) => createHash('sha256').update(s).digest('hex');
      expect(acl).toBe(`user default off\nuser probe on #${sha('p1')} -@all +ping\nuser go-backend on #${sha('s3cr3t')} ~* &* +@all -@admin -@dangerous\n`);
      expect(acl).not.toContain('s3cr3t');
    } finally {
      rmSync(u.dir, { recursive: true, force: true });
    }
  });

  test('start-redis.sh refuses to start when a user has no password', () => {
    const u = users({ probe: 'p1' }, 'probe -@all +ping\ngo-backend ~* +@all\n');
    try {
      const r = run('start-redis.sh', [], { 'redis-server': 'echo started' }, u.env);
      expect(r.status).not.toBe(0);
      expect(r.stdout).not.toContain('started');
      expect(r.stderr).toContain('no password for Redis user go-backend');
    } finally {
      rmSync(u.dir, { recursive: true, force: true });
    }
  });

  test.each([
    ['PONG', 0, 0],
    ['LOADING Redis is loading the dataset in memory', 0, 1],
    ['MASTERDOWN Link with MASTER is down', 0, 1],
    ['NOAUTH Authentication required.', 1, 1],
    ['Could not connect to Redis at 127.0.0.1:6379: Connection refused', 1, 1],
  ])('when redis-cli ping answers %s, liveness exits %d and readiness %d', (answer, live, ready) => {
    // The fake redis-cli answers only to the probe user with its password.
    const cli = `[ "$REDISCLI_AUTH" = secret ] && [ "$3" = probe ] || { echo NOAUTH; exit 0; }; echo "${answer}"`;
    const u = users({ probe: 'secret' }, '');
    try {
      const env = { ...u.env, REDIS_PROBE_USER: 'probe' };
      expect(run('ping-liveness.sh', ['4'], { 'redis-cli': cli }, env).status).toBe(live);
      expect(run('ping-readiness.sh', ['2'], { 'redis-cli': cli }, env).status).toBe(ready);
    } finally {
      rmSync(u.dir, { recursive: true, force: true });
    }
  });
});
