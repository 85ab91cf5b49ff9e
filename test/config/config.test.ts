import { checkConfig, ConfigError, ENVIRONMENTS, loadConfig, validateConfig } from '../../config';

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
  test('sets the tag of every application image and nothing else', () => {
    const config = loadConfig({ QINGYU_IMAGE_TAG: 'v2.3.4-rc.1' });
    for (const [name, app] of Object.entries(config.apps)) {
      expect(app.image).toEqual({ repository: ENVIRONMENTS.production.apps[name].image.repository, tag: 'v2.3.4-rc.1' });
    }
    expect(Object.keys(config.apps)).toEqual(Object.keys(ENVIRONMENTS.production.apps));
    expect(config.mongodb.image).toEqual(ENVIRONMENTS.production.mongodb.image);
  });

  test('accepts a sha256 digest and drops the tag', () => {
    const digest = `sha256:${'ab12'.repeat(16)}`;
    const config = loadConfig({ QINGYU_IMAGE_TAG: digest });
    for (const app of Object.values(config.apps)) expect(app.image).toEqual({ repository: app.image.repository, digest });
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
    expect(loadConfig({ QINGYU_IMAGE_TAG: 'a'.repeat(128) }).apps['go-backend'].image.tag).toHaveLength(128);
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

describe('configuration overrides (QINGYU_CONFIG_OVERRIDES)', () => {
  const overrides = (value: unknown) => ({ QINGYU_ENV: 'development', QINGYU_CONFIG_OVERRIDES: JSON.stringify(value) });

  test('merges objects key by key and replaces other values', () => {
    const config = loadConfig(overrides({ apps: { 'go-backend': { replicas: 3, maxReplicas: 4 } }, redis: { maxMemoryMiB: 160 } }));
    expect(config.apps['go-backend']).toMatchObject({ replicas: 3, maxReplicas: 4 });
    expect(config.apps['go-backend'].image).toEqual(ENVIRONMENTS.development.apps['go-backend'].image);
    expect(config.apps['python-ai']).toEqual(ENVIRONMENTS.development.apps['python-ai']);
    expect(config.redis.maxMemoryMiB).toBe(160);
  });

  test.each([
    ['{', 'QINGYU_CONFIG_OVERRIDES: not valid JSON'],
    ['{"apps":{"go-backend":{"replica":3}}}', "QINGYU_CONFIG_OVERRIDES: unknown setting 'apps.go-backend.replica'; expected one of: component, image, ports, replicas,"],
    ['{"redis":{"maxMemoryMiB":"big"}}', `QINGYU_CONFIG_OVERRIDES: 'redis.maxMemoryMiB' must be a number, got "big"`],
    ['[1]', "QINGYU_CONFIG_OVERRIDES: '(top)' must be an object, got [1]"],
  ])('refuses %s with one line naming the setting', (text, message) => {
    expect(messageOf(() => loadConfig({ QINGYU_CONFIG_OVERRIDES: text }))).toContain(message);
  });

  test('a merged value still meets the formats', () => {
    expect(messageOf(() => loadConfig(overrides({ namespace: 'Bad_NS' })))).toBe(
      'config development.namespace: must be a DNS label (lowercase, digits, -), got "Bad_NS"');
  });
});

describe('configuration values', () => {
  test.each(Object.keys(ENVIRONMENTS))('%s is valid as shipped', (env) => {
    expect(validateConfig(ENVIRONMENTS[env as keyof typeof ENVIRONMENTS])).toEqual([]);
  });

  const production = ENVIRONMENTS.production;

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

  test('names an app image by its app', () => {
    const apps = { ...production.apps, 'go-backend': { ...production.apps['go-backend'], image: { repository: 'Bad Repo', tag: 'v1' } } };
    expect(validateConfig({ ...production, apps })).toEqual([
      "config production.apps['go-backend'].image.repository: must be an image repository, got \"Bad Repo\"",
    ]);
  });

  test('refuses a Kubernetes API address that is not a CIDR, and a port out of range', () => {
    const kubernetesApi = { cidrs: ['10.0.0.1'], ports: [443, 70000] };
    expect(validateConfig({ ...production, network: { ...production.network, kubernetesApi } })).toEqual([
      'config production.network.kubernetesApi.cidrs[0]: must be an IPv4 CIDR, got "10.0.0.1"',
      'config production.network.kubernetesApi.ports[1]: must be a port from 1 to 65535, got 70000',
    ]);
  });

  test('refuses an egress exception outside every egress block', () => {
    const network = { ...production.network, egressCidrs: ['203.0.113.0/24'], egressExceptCidrs: ['10.0.0.0/8'] };
    expect(validateConfig({ ...production, network })).toEqual([
      'config production.network.egressExceptCidrs[0]: must lie inside one of network.egressCidrs, got "10.0.0.0/8"',
    ]);
  });

  test('reports the first problem in one line and counts the rest', () => {
    const problems = validateConfig({ ...production, namespace: 'X', clusterDomain: 'Bad_Domain' });
    expect(problems).toHaveLength(2);
    expect(messageOf(() => checkConfig({ ...production, namespace: 'X', clusterDomain: 'Bad_Domain' }))).toBe(`${problems[0]} (and 1 more)`);
    expect(problems.every((p) => !p.includes('\n'))).toBe(true);
  });
});

describe('environments', () => {
  test('production runs the design: 3 replicas of each app and a 3-member replica set', () => {
    const { apps, mongodb } = ENVIRONMENTS.production;
    expect([apps['go-backend'].replicas, apps['python-ai'].replicas, mongodb.replicas]).toEqual([3, 3, 3]);
  });

  test('development fits one small node: one replica each and no HPA minimum above 1', () => {
    const dev = ENVIRONMENTS.development;
    expect([...Object.values(dev.apps).map((a) => a.replicas), dev.mongodb.replicas, dev.milvus.etcd.replicas]).toEqual([1, 1, 1, 1]);
    expect(dev.apps['go-backend'].resources.cpuMillis.request).toBeLessThanOrEqual(100);
  });

  test('each environment has its own namespace and host', () => {
    const envs = Object.values(ENVIRONMENTS);
    expect(new Set(envs.map((e) => e.namespace)).size).toBe(envs.length);
    expect(new Set(envs.map((e) => e.edge.host)).size).toBe(envs.length);
  });
});
