import { ConfigError, ENVIRONMENTS, loadConfig, validateConfig } from '../../config';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('environment selection (QINGYU_ENV)', () => {
  test('defaults to production when unset or empty', () => {
    expect(loadConfig({}).environment).toBe('production');
    expect(loadConfig({ QINGYU_ENV: '' }).environment).toBe('production');
  });

  test.each(['production', 'staging', 'development'])('selects %s', (env) => {
    expect(loadConfig({ QINGYU_ENV: env }).environment).toBe(env);
  });

  test('refuses an unknown environment, naming the variable, the value and the valid values', () => {
    expect(messageOf(() => loadConfig({ QINGYU_ENV: 'moon' }))).toBe(
      "QINGYU_ENV: unknown environment 'moon'; expected one of: production, staging, development",
    );
  });

  test('is case-sensitive', () => {
    expect(messageOf(() => loadConfig({ QINGYU_ENV: 'Production' }))).toMatch(/^QINGYU_ENV: unknown environment 'Production'/);
  });
});

describe('image override (QINGYU_IMAGE_TAG)', () => {
  test('sets the tag of both application images and nothing else', () => {
    const config = loadConfig({ QINGYU_IMAGE_TAG: 'v2.3.4-rc.1' });
    expect(config.goBackend.image).toEqual({ repository: 'ghcr.io/qingyu-platform/go-backend', tag: 'v2.3.4-rc.1' });
    expect(config.pythonAi.image).toEqual({ repository: 'ghcr.io/qingyu-platform/python-ai', tag: 'v2.3.4-rc.1' });
    expect(config.mongodb.image).toEqual(ENVIRONMENTS.production.mongodb.image);
  });

  test('accepts a sha256 digest and drops the tag', () => {
    const digest = `sha256:${'ab12'.repeat(16)}`;
    const config = loadConfig({ QINGYU_IMAGE_TAG: digest });
    expect(config.goBackend.image).toEqual({ repository: 'ghcr.io/qingyu-platform/go-backend', digest });
  });

  test.each([
    ['bad tag!', "QINGYU_IMAGE_TAG: invalid image tag 'bad tag!'; expected a tag matching [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} or a digest sha256:<64 hex>"],
    ['-leading-dash', "QINGYU_IMAGE_TAG: invalid image tag '-leading-dash'"],
    ['x'.repeat(129), 'QINGYU_IMAGE_TAG: invalid image tag'],
    ['sha256:abc', "QINGYU_IMAGE_TAG: invalid digest 'sha256:abc'; expected 'sha256:' followed by 64 lowercase hex characters"],
    [`sha256:${'AB12'.repeat(16)}`, 'QINGYU_IMAGE_TAG: invalid digest'],
  ])('refuses the malformed value %j', (value, message) => {
    expect(messageOf(() => loadConfig({ QINGYU_IMAGE_TAG: value }))).toContain(message);
  });

  test('accepts the longest valid tag (128 characters)', () => {
    expect(loadConfig({ QINGYU_IMAGE_TAG: 'a'.repeat(128) }).goBackend.image.tag).toHaveLength(128);
  });

  test.each(['production', 'staging', 'development'])("refuses 'latest' in %s", (env) => {
    expect(messageOf(() => loadConfig({ QINGYU_ENV: env, QINGYU_IMAGE_TAG: 'latest' }))).toBe(
      "QINGYU_IMAGE_TAG: 'latest' is not allowed; deploy an immutable version (a release tag or sha256:<64 hex>)",
    );
  });

  test('checks the environment before the tag', () => {
    expect(messageOf(() => loadConfig({ QINGYU_ENV: 'moon', QINGYU_IMAGE_TAG: 'bad tag!' }))).toMatch(/^QINGYU_ENV:/);
  });
});

describe('configuration values', () => {
  test.each(Object.keys(ENVIRONMENTS))('%s is valid as shipped', (env) => {
    expect(validateConfig(ENVIRONMENTS[env as keyof typeof ENVIRONMENTS])).toEqual([]);
  });

  const production = ENVIRONMENTS.production;

  test('refuses an even MongoDB member count', () => {
    expect(validateConfig({ ...production, mongodb: { ...production.mongodb, replicas: 4 } })).toEqual([
      'config production.mongodb.replicas: must be odd (1, 3, 5 or 7) for a MongoDB replica set, got 4',
    ]);
  });

  test('refuses an HPA maximum that does not exceed the minimum', () => {
    expect(validateConfig({ ...production, goBackend: { ...production.goBackend, maxReplicas: 3 } })).toEqual([
      'config production.goBackend.maxReplicas: must exceed replicas (3) so the HPA can scale, got 3',
    ]);
  });

  test('refuses a limit below its request', () => {
    const resources = { ...production.pythonAi.resources, memoryMiB: { request: 4096, limit: 1024 } };
    expect(validateConfig({ ...production, pythonAi: { ...production.pythonAi, resources } })).toEqual([
      'config production.pythonAi.resources.memoryMiB.limit: must be at least the request (4096), got 1024',
    ]);
  });

  test('refuses a namespace that is not a DNS label', () => {
    expect(validateConfig({ ...production, namespace: 'Qingyu_Prod' })).toEqual([
      'config production.namespace: must be a DNS label (lowercase, digits, -), got "Qingyu_Prod"',
    ]);
  });

  test("refuses 'latest' in a configured image", () => {
    expect(validateConfig({ ...production, redis: { ...production.redis, image: { repository: 'redis', tag: 'latest' } } })).toEqual([
      "config production.redis.image.tag: must be a release tag (not 'latest'), got \"latest\"",
    ]);
  });

  test('refuses a Redis maxmemory that leaves no headroom under the memory limit', () => {
    expect(validateConfig({ ...production, redis: { ...production.redis, maxMemoryMiB: 2048 } })).toEqual([
      'config production.redis.maxMemoryMiB: must be from 16 to 80% of the memory limit (1638), got 2048',
    ]);
  });

  test('refuses a Kubernetes API address that is not a CIDR, and a port out of range', () => {
    const kubernetesApi = { cidrs: ['10.0.0.1'], ports: [443, 70000] };
    expect(validateConfig({ ...production, network: { ...production.network, kubernetesApi } })).toEqual([
      'config production.network.kubernetesApi.cidrs[0]: must be an IPv4 CIDR, got "10.0.0.1"',
      'config production.network.kubernetesApi.ports[1]: must be a whole number from 1 to 65535, got 70000',
    ]);
  });

  test('reports the first problem in one line and counts the rest', () => {
    // loadConfig validates the environment it selected; the message stays on one line.
    const problems = validateConfig({ ...production, namespace: 'X', mongodb: { ...production.mongodb, replicas: 2 } });
    expect(problems).toHaveLength(2);
    expect(problems.every((p) => !p.includes('\n'))).toBe(true);
  });
});

describe('environments', () => {
  test('production runs the design: 3 replicas of each app and a 3-member replica set', () => {
    const { goBackend, pythonAi, mongodb } = ENVIRONMENTS.production;
    expect([goBackend.replicas, pythonAi.replicas, mongodb.replicas]).toEqual([3, 3, 3]);
  });

  test('development fits one small node: one replica each and no HPA minimum above 1', () => {
    const dev = ENVIRONMENTS.development;
    expect([dev.goBackend.replicas, dev.pythonAi.replicas, dev.mongodb.replicas, dev.milvus.etcd.replicas]).toEqual([1, 1, 1, 1]);
    expect(dev.goBackend.resources.cpuMillis.request).toBeLessThanOrEqual(100);
  });

  test('each environment has its own namespace and host', () => {
    const envs = Object.values(ENVIRONMENTS);
    expect(new Set(envs.map((e) => e.namespace)).size).toBe(envs.length);
    expect(new Set(envs.map((e) => e.edge.host)).size).toBe(envs.length);
  });
});
