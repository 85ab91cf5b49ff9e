import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { PlatformConfig, S3ObjectStorageConfig, validateConfig } from '../../config';
import { imageName } from '../../lib/pod';
import { compositionError, SMALL } from '../support/fixtures';
import { ALL_ENVIRONMENTS, container, find, podSpec, S3_OBJECT_STORAGE, synthesize } from '../support/synth';
import { envOf, milvusChart, milvusFile, minioConfig, prod } from './support';

// The milvus unit's object storage: the in-cluster MinIO, an external S3 store instead, and the
// bucket step that runs before Milvus starts.

describe('MinIO', () => {
  const sts = find(prod.objects, 'StatefulSet', 'minio');
  const minio = container(sts, 'minio');

  test('runs the design\'s release from quay.io as uid/gid/fsGroup 1000 with a read-only root filesystem', () => {
    expect(minio.image).toBe(imageName(minioConfig.image));
    expect(minio.command).toEqual(['minio']);
    expect(minio.args).toEqual(['server', '/data', '--address=:9000', '--certs-dir=/tmp/certs']);
    expect(podSpec(sts).securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, runAsNonRoot: true });
    expect(minio.securityContext.readOnlyRootFilesystem).toBe(true);
  });

  test('writes its config directory to an emptyDir and its objects to its volume', () => {
    expect(envOf(sts, 'minio').HOME).toBe('/tmp');
    expect(minio.volumeMounts).toEqual([{ name: 'data', mountPath: '/data' }, { name: 'tmp', mountPath: '/tmp' }]);
    expect(podSpec(sts).volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } });
    for (const env of ALL_ENVIRONMENTS) {
      const out = synthesize(env);
      const store = out.config.milvus.objectStorage;
      const claim = find(out.objects, 'StatefulSet', 'minio').spec.volumeClaimTemplates[0];
      expect(claim.spec.resources.requests.storage).toBe(`${store.type === 'minio' ? store.storage.sizeGiB : 0}Gi`);
    }
  });

  test('takes its root credentials from the minio-root Secret and ships no default credentials', () => {
    const env = envOf(sts, 'minio');
    expect(env.MINIO_ROOT_USER).toEqual({ secretKeyRef: { name: 'minio-root', key: 'root-user' } });
    expect(env.MINIO_ROOT_PASSWORD).toEqual({ secretKeyRef: { name: 'minio-root', key: 'root-password' } });
    expect(env.MINIO_ACCESS_KEY).toBeUndefined();
    expect(env.MINIO_SECRET_KEY).toBeUndefined();
    for (const env of ALL_ENVIRONMENTS) expect(milvusFile(synthesize(env)).yaml).not.toMatch(/minioadmin/);
  });

  test('is live on /minio/health/live and ready on /minio/health/ready', () => {
    expect(minio.livenessProbe.httpGet).toEqual({ path: '/minio/health/live', port: 'api' });
    expect(minio.readinessProbe.httpGet).toEqual({ path: '/minio/health/ready', port: 'api' });
    expect(minio.startupProbe.httpGet).toEqual({ path: '/minio/health/live', port: 'api' });
  });

  test('exposes public cluster metrics that a ServiceMonitor scrapes on the api port', () => {
    expect(envOf(sts, 'minio').MINIO_PROMETHEUS_AUTH_TYPE).toBe('public');
    expect(find(prod.objects, 'ServiceMonitor', 'minio').spec.endpoints).toEqual([
      expect.objectContaining({ port: 'api', path: '/minio/v2/metrics/cluster' }),
    ]);
  });

  test('refuses a bucket name S3 does not allow, naming the setting', () => {
    const milvus = { ...SMALL.milvus, objectStorage: { ...minioConfig, bucket: 'Milvus_Bucket' } };
    expect(compositionError({ ...SMALL, milvus })).toMatch(/^config development\.milvus\.objectStorage: 'bucket' must be a valid S3 bucket name.*got 'Milvus_Bucket'$/);
  });
});


describe("milvus.objectStorage 's3': an external S3-compatible store instead of MinIO", () => {
  const { objects, config } = synthesize('production with external S3 object storage');
  const store = config.milvus.objectStorage as S3ObjectStorageConfig;
  const sts = find(objects, 'StatefulSet', 'milvus');

  test('emits no MinIO object at all', () => {
    expect(objects.filter((o) => o.metadata.name.startsWith('minio') || o.metadata.labels?.['app.kubernetes.io/name'] === 'minio')).toEqual([]);
    expect(objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.name === 'milvus-scripts')).toEqual([]);
  });

  test('points Milvus at the endpoint, bucket, region and TLS setting of the config', () => {
    expect(envOf(sts, 'milvus')).toMatchObject({
      MINIO_ADDRESS: store.endpoint,
      MINIO_PORT: String(store.port),
      MINIO_BUCKET_NAME: store.bucket,
      MINIO_REGION: store.region,
      MINIO_USE_SSL: String(store.tls),
      MINIO_USE_IAM: 'false',
    });
  });

  test('reads its access key from the milvus-object-store Secret, never MinIO root credentials', () => {
    const env = envOf(sts, 'milvus');
    expect(env.MINIO_ACCESS_KEY_ID).toEqual({ secretKeyRef: { name: 'milvus-object-store', key: 'access-key-id' } });
    expect(env.MINIO_SECRET_ACCESS_KEY).toEqual({ secretKeyRef: { name: 'milvus-object-store', key: 'secret-access-key' } });
    expect(JSON.stringify(objects)).not.toContain('minio-root');
  });

  test('creates no bucket: the external bucket must exist, so there is no init container', () => {
    expect(podSpec(sts).initContainers).toBeUndefined();
    expect(podSpec(sts).volumes.map((v: any) => v.name)).toEqual(['run', 'tmp']);
  });

  test('records the flow to the endpoint\'s CIDRs, and no flow to a MinIO', () => {
    const { flows } = milvusChart((c) => ({ ...c, objectStorage: S3_OBJECT_STORAGE }));
    expect(flows).toContain(`milvus -> S3 endpoint ${store.endpoint}:${store.port}`);
    expect(flows.filter((f) => f.includes('minio'))).toEqual([]);
  });

  test.each([
    [{ endpoint: 'https://s3.example.com' }, 'config development.milvus.objectStorage.endpoint: must be a host name or IPv4 address, without scheme or port, got "https://s3.example.com"'],
    [{ port: 0 }, 'config development.milvus.objectStorage.port: must be a port from 1 to 65535, got 0'],
    [{ cidrs: [] }, 'config development.milvus.objectStorage.cidrs: must list at least one CIDR (where the endpoint answers), got "[]"'],
    [{ cidrs: ['10.0.0.0/33'] }, 'config development.milvus.objectStorage.cidrs[0]: must be an IPv4 CIDR, got "10.0.0.0/33"'],
  ])('refuses the address %j with one message naming the setting', (change, message) => {
    const bad = { ...SMALL, milvus: { ...SMALL.milvus, objectStorage: { ...S3_OBJECT_STORAGE, ...change } } } as PlatformConfig;
    expect(validateConfig(bad)).toEqual([message]);
  });

  test.each([
    [{ bucket: 'Bad_Bucket' }, "config development.milvus: 'objectStorage.bucket' must be an S3 bucket name (3-63 lowercase letters, digits, '.' or '-'), got 'Bad_Bucket'"],
    [{ region: 'CN East' }, "config development.milvus: 'objectStorage.region' must be a region name (lowercase letters, digits, '-'), got 'CN East'"],
  ])('refuses the store %j when composing, naming the setting', (change, message) => {
    const bad = { ...SMALL, milvus: { ...SMALL.milvus, objectStorage: { ...S3_OBJECT_STORAGE, ...change } } } as PlatformConfig;
    expect(compositionError(bad)).toBe(message);
  });
});


describe('provision.sh', () => {
  const script = join(__dirname, '..', '..', 'charts', 'milvus', 'assets', 'provision.sh');

  /**
   * Runs the script with fake `mc` (failing its first `failures` calls; `attach` answers
   * `attachAnswer`) and `sleep`, against files for the buckets and two users.
   */
  function run(failures: number, maxAttempts: number, attachAnswer = 'ok') {
    const dir = mkdtempSync(join(tmpdir(), 'provision-'));
    try {
      const fake = (name: string, body: string) => {
        writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
        chmodSync(join(dir, name), 0o755);
      };
      const write = (file: string, content: string) => {
        mkdirSync(join(dir, file, '..'), { recursive: true });
        writeFileSync(join(dir, file), content);
      };
      fake('mc', [
        `n=$(cat "${dir}/count" 2>/dev/null || echo 0); echo $((n + 1)) > "${dir}/count"; echo "$*" >> "${dir}/calls"`,
        `[ "$n" -ge ${failures} ] || exit 1`,
        `case "$*" in *"policy attach"*) [ "${attachAnswer}" = ok ] || { echo "${attachAnswer}" >&2; exit 1; } ;; esac`,
      ].join('\n'));
      fake('sleep', 'exit 0');
      write('provision/buckets', 'milvus-bucket\n');
      write('provision/users', 'backup\nmilvus\n');
      for (const u of ['backup', 'milvus']) write(`provision/policy-${u}.json`, '{}');
      write('secrets/root/user', 'root-key');
      write('secrets/root/password', 'root-secret');
      for (const u of ['backup', 'milvus']) {
        write(`secrets/users/${u}/access-key`, `${u}-key`);
        write(`secrets/users/${u}/secret-key`, `${u}-secret`);
      }
      const result = spawnSync('sh', [script], {
        encoding: 'utf8',
        env: {
          PATH: `${dir}:/usr/bin:/bin`, MAX_ATTEMPTS: String(maxAttempts), MC_CONFIG_DIR: `${dir}/mc`,
          MINIO_ENDPOINT: 'http://minio:9000', MINIO_BUCKET: 'milvus-bucket', PROVISION_DIR: join(dir, 'provision'), SECRETS_DIR: join(dir, 'secrets'),
        },
      });
      const calls = existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n') : [];
      return { status: result.status, calls, stderr: result.stderr };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('retries until MinIO answers as root, then makes the bucket, each user with its policy, and checks Milvus\'s key', () => {
    const { status, calls } = run(2, 10);
    expect(status).toBe(0);
    expect(calls.slice(2)).toEqual([
      '--quiet alias set root http://minio:9000 root-key root-secret',
      '--quiet admin info root',
      '--quiet mb --ignore-existing root/milvus-bucket',
      '--quiet admin user add root backup-key backup-secret',
      expect.stringMatching(/^--quiet admin policy create root qingyu-backup \S+\/policy-backup\.json$/),
      '--quiet admin policy attach root qingyu-backup --user backup-key',
      '--quiet admin user add root milvus-key milvus-secret',
      expect.stringMatching(/^--quiet admin policy create root qingyu-milvus \S+\/policy-milvus\.json$/),
      '--quiet admin policy attach root qingyu-milvus --user milvus-key',
      '--quiet alias set milvus http://minio:9000 milvus-key milvus-secret',
      '--quiet ls milvus/milvus-bucket',
    ]);
  });

  test('takes a policy already attached as done, and fails on any other attach error', () => {
    // RELEASE.2023-03-20 (the pinned server) says XMinioPolicyAlreadyAttached; later ones "already in effect".
    expect(run(0, 3, 'mc: <ERROR> Unable to attach policy. The specified policy is already attached.').status).toBe(0);
    expect(run(0, 3, 'mc: <ERROR> The specified policy change is already in effect.').status).toBe(0);
    const failed = run(0, 3, 'mc: <ERROR> Access Denied.');
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain('attaching policy qingyu-backup: mc: <ERROR> Access Denied.');
  });

  test('gives up with an error after MAX_ATTEMPTS', () => {
    expect(run(100, 3).status).toBe(1);
  });
});
