import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { synthesize } from '../support/synth';
import { FakeCluster, FIXTURE_RELEASE } from './fixtures/fake-cluster';

// scripts/create-secrets.sh against the fake kubectl, which keeps what it is given so that the
// tests can check the generated values, and that they were never printed.

let cluster: FakeCluster;
beforeEach(() => {
  cluster = new FakeCluster();
  cluster.set('context', 'qingyu-prod');
});
afterEach(() => cluster.cleanup());

const OPENAI = 'sk-test-0123456789abcdef';
const createSecrets = (args: string[] = [], env: Record<string, string> = { QINGYU_SECRET_PYTHON_AI_SECRETS_OPENAI_API_KEY: OPENAI }) =>
  cluster.run('create-secrets.sh', ['--env', 'production', '--release-dir', FIXTURE_RELEASE, ...args], env);

test('creates every referenced catalogued Secret with strong values and a valid MongoDB keyfile, printing no value', () => {
  const r = createSecrets();
  expect(r.stderr).not.toContain('unhandled call');
  expect(r.status).toBe(0);
  // the TLS Secret is not ours to generate: its command is named
  expect(r.stderr).toContain('kubectl create secret tls api-qingyu-tls -n qingyu --cert=<path>/tls.crt --key=<path>/tls.key');

  const root = cluster.secretData('mongodb-root')!;
  expect(root.username).toBe('root');
  expect(root.password).toMatch(/^[0-9a-f]{64}$/);
  expect(cluster.secretData('go-backend-secrets')!['jwt-secret']).toMatch(/^[0-9a-f]{64}$/);
  expect(cluster.secretData('python-ai-secrets')!['openai-api-key']).toBe(OPENAI);

  const generated = [root.password, cluster.secretData('mongodb-keyfile')!.keyfile, cluster.secretData('go-backend-secrets')!['jwt-secret'], OPENAI];
  for (const value of generated) {
    expect(r.stdout).not.toContain(value);
    expect(r.stderr).not.toContain(value);
  }
  // and never through an argument list
  for (const call of cluster.calls()) for (const value of generated) expect(call).not.toContain(value);

  // a MongoDB keyfile mongod accepts: 6 to 1024 base64 characters, no '=' padding
  const keyfile = cluster.secretData('mongodb-keyfile')!.keyfile;
  expect(keyfile).toHaveLength(1008); // 756 random bytes
  expect(keyfile).toMatch(/^[A-Za-z0-9+/]+$/);
});

test('creates the namespace of a new environment first, as the manifests define it, and only once', () => {
  cluster.set('no-namespace', '');
  const first = createSecrets();
  expect(first.stderr).not.toContain('unhandled call');
  expect(first.status).toBe(0);
  expect(first.stderr).toContain('namespace qingyu does not exist yet: created it as the manifests define it');
  const calls = cluster.calls();
  const created = calls.findIndex((c) => c.endsWith('apply --server-side --field-manager=qingyu-deploy -f -'));
  expect(created).toBeGreaterThanOrEqual(0);
  expect(created).toBeLessThan(calls.findIndex((c) => c.includes('create secret generic')));
  expect(cluster.secretData('mongodb-root')).toBeDefined();

  // a second run finds it and changes nothing
  cluster.remove('calls');
  const second = createSecrets();
  expect(second.status).toBe(0);
  expect(second.stderr).not.toContain('namespace qingyu does not exist');
  expect(cluster.calls().filter((c) => / apply /.test(c))).toEqual([]);
});

test('never overwrites an existing value; adds only the keys a Secret lacks', () => {
  cluster.secret('mongodb-root', { password: 'existing-password' });
  cluster.secret('go-backend-secrets', { 'jwt-secret': 'existing-jwt' });
  createSecrets();
  expect(cluster.secretData('mongodb-root')).toEqual({ password: 'existing-password', username: 'root' });
  expect(cluster.secretData('go-backend-secrets')).toEqual({ 'jwt-secret': 'existing-jwt' });
});

test('replaces a Secret only when asked with --overwrite', () => {
  cluster.secret('go-backend-secrets', { 'jwt-secret': 'old-jwt' });
  const r = createSecrets(['--overwrite', 'go-backend-secrets', '--yes']);
  const jwt = cluster.secretData('go-backend-secrets')!['jwt-secret'];
  expect(jwt).toMatch(/^[0-9a-f]{64}$/);
  expect(r.stderr).toContain('go-backend-secrets: replaced');
  expect(r.stderr + r.stdout).not.toContain(jwt);
});

test('fails, creating nothing it cannot fill, when the OpenAI key is neither given nor askable', () => {
  const r = createSecrets([], {});
  expect(r.status).toBe(3);
  expect(r.stderr).toContain('python-ai-secrets/openai-api-key must be given: set QINGYU_SECRET_PYTHON_AI_SECRETS_OPENAI_API_KEY');
  expect(cluster.secretData('python-ai-secrets')).toBeUndefined();
});

test('refuses production on a context that does not say prod', () => {
  cluster.set('context', 'qingyu-staging');
  const r = createSecrets();
  expect(r.status).toBe(3);
  expect(cluster.secretData('mongodb-root')).toBeUndefined();
});

test('asks only for the keys the environment reads: its receivers, its backup target', () => {
  const release = join(cluster.dir, 'release');
  mkdirSync(join(release, 'dist'), { recursive: true });
  copyFileSync(join(FIXTURE_RELEASE, 'release.env'), join(release, 'release.env'));
  for (const f of synthesize('production').files) writeFileSync(join(release, 'dist', f.name), f.yaml);
  const env = {
    QINGYU_SECRET_PYTHON_AI_SECRETS_OPENAI_API_KEY: OPENAI,
    QINGYU_SECRET_ALERTMANAGER_RECEIVERS_PAGER_ROUTING_KEY: 'pd-routing-key',
    QINGYU_SECRET_ALERTMANAGER_RECEIVERS_CHAT_API_SECRET: 'wecom-secret',
    QINGYU_SECRET_ALERTMANAGER_RECEIVERS_DEADMANS_SWITCH_URL: 'https://deadman.example/ping/abc',
    QINGYU_SECRET_BACKUP_TARGET_ACCESS_KEY_ID: 'backup-key-id',
    QINGYU_SECRET_BACKUP_TARGET_SECRET_ACCESS_KEY: 'backup-secret-key',
  };
  const r = cluster.run('create-secrets.sh', ['--env', 'production', '--release-dir', release], env);
  expect(r.stderr).not.toContain('unhandled call');
  expect(cluster.secretData('alertmanager-receivers')).toEqual({
    'pager-routing-key': 'pd-routing-key',
    'chat-api-secret': 'wecom-secret',
    'deadmans-switch-url': 'https://deadman.example/ping/abc',
  });
  for (const value of Object.values(env)) expect(r.stdout + r.stderr).not.toContain(value);
  // The backup target: the access key as given, the restic password generated.
  const target = cluster.secretData('backup-target')!;
  expect(target['access-key-id']).toBe('backup-key-id');
  expect(target['restic-password']).toMatch(/^[0-9a-f]{64}$/);
});
