import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Testing } from 'cdk8s';

import { MilvusChart } from '../../charts/milvus/milvus-chart';
import { MilvusConfig, PlatformConfig, S3ObjectStorageConfig, validateConfig } from '../../config';
import { imageName } from '../../lib/pod';
import { compositionError, flowsOf, fqdn as fqdnIn, objectsOf, scrapeForTest, SMALL } from '../support/fixtures';
import { ALL_ENVIRONMENTS, container, find, K8sObject, ofKind, podSpec, S3_OBJECT_STORAGE, synthesize } from '../support/synth';

const prod = synthesize('production');
const milvusFile = (env = prod) => env.files.find((f) => f.name.endsWith('-milvus.k8s.yaml'))!;
const fqdn = (service: string) => fqdnIn(prod.config, service);
const etcdConfig = prod.config.milvus.etcd;
const minioConfig = prod.config.milvus.objectStorage;
if (minioConfig.type !== 'minio') throw new Error('production runs the in-cluster MinIO');

function envOf(workload: K8sObject, name: string): Record<string, any> {
  return Object.fromEntries(container(workload, name).env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
}

/** The milvus unit alone, from the small config with `milvus` changed, its three stores scraped. */
function milvusChart(change: (c: MilvusConfig) => MilvusConfig = (c) => c) {
  const config: PlatformConfig = { ...SMALL, milvus: change(SMALL.milvus) };
  const chart = new MilvusChart(Testing.app(), 'milvus', { config });
  scrapeForTest(chart.etcd, ...(chart.minio ? [chart.minio] : []), chart.milvus);
  return { config, chart, objects: objectsOf(chart), flows: flowsOf(chart) };
}
const smallFqdn = (service: string) => fqdnIn(SMALL, service);

test('the milvus chart matches its snapshot', () => {
  expect(milvusFile().yaml).toMatchSnapshot();
});

describe('etcd', () => {
  const sts = find(prod.objects, 'StatefulSet', 'etcd');
  const etcd = container(sts, 'etcd');
  const arg = (flag: string) => etcd.args.find((a: string) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3);

  test('runs the pinned etcd image as the distroless nonroot user, owning its volume through fsGroup', () => {
    expect(etcd.image).toBe(imageName(etcdConfig.image));
    expect(etcd.command).toEqual(['/usr/local/bin/etcd']);
    expect(podSpec(sts).securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 });
    expect(etcd.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  });

  test('compacts by revision keeping 1000, caps the backend at the configured quota and snapshots every 50000 entries', () => {
    expect(arg('auto-compaction-mode')).toBe('revision');
    expect(arg('auto-compaction-retention')).toBe('1000');
    expect(arg('quota-backend-bytes')).toBe(String(etcdConfig.quotaBackendBytes));
    expect(arg('snapshot-count')).toBe('50000');
    const dev = synthesize('development');
    expect(find(dev.objects, 'StatefulSet', 'etcd').spec.template.spec.containers[0].args)
      .toContain(`--quota-backend-bytes=${dev.config.milvus.etcd.quotaBackendBytes}`);
  });

  test('advertises its stable member name, learnt through the downward API', () => {
    expect(envOf(sts, 'etcd').POD_NAME).toEqual({ fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } });
    expect(envOf(sts, 'etcd').MEMBER_HOST).toBe(`$(POD_NAME).${fqdn('etcd-headless')}`);
    expect(arg('name')).toBe('$(POD_NAME)');
    expect(arg('initial-advertise-peer-urls')).toBe('http://$(MEMBER_HOST):2380');
    expect(arg('advertise-client-urls')).toBe('http://$(MEMBER_HOST):2379');
    expect(arg('initial-cluster')).toBe(`etcd-0=http://etcd-0.${fqdn('etcd-headless')}:2380`);
    expect(arg('initial-cluster-state')).toBe('new');
  });

  test('serves health and metrics on a separate plain-HTTP port named metrics', () => {
    expect(arg('listen-metrics-urls')).toBe('http://0.0.0.0:2381');
    expect(etcd.ports).toEqual([
      { name: 'client', containerPort: 2379, protocol: 'TCP' },
      { name: 'peer', containerPort: 2380, protocol: 'TCP' },
      { name: 'metrics', containerPort: 2381, protocol: 'TCP' },
    ]);
  });

  test('is probed over HTTP like kubeadm does: liveness ignores quorum loss and NOSPACE, readiness needs a quorum read', () => {
    for (const probe of [etcd.startupProbe, etcd.livenessProbe, etcd.readinessProbe]) {
      expect(probe.httpGet.port).toBe('metrics');
      expect(probe.exec).toBeUndefined();
    }
    expect(etcd.livenessProbe.httpGet.path).toBe('/health?exclude=NOSPACE&serializable=true');
    expect(etcd.readinessProbe.httpGet.path).toBe('/health?exclude=NOSPACE');
    expect(etcd.startupProbe.httpGet.path).toBe('/health?serializable=false');
  });

  test('keeps its data in a subdirectory of its own volume', () => {
    expect(arg('data-dir')).toBe('/var/lib/etcd/data');
    expect(etcd.volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/etcd' });
    for (const env of ALL_ENVIRONMENTS) {
      const out = synthesize(env);
      const claim = find(out.objects, 'StatefulSet', 'etcd').spec.volumeClaimTemplates[0];
      expect(claim.spec.resources.requests.storage).toBe(`${out.config.milvus.etcd.storage.sizeGiB}Gi`);
    }
  });

  test('has a headless Service publishing not-ready members and a client Service with client, peer and metrics ports', () => {
    const headless = find(prod.objects, 'Service', 'etcd-headless');
    expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(sts.spec.serviceName).toBe('etcd-headless');
    const ports = find(prod.objects, 'Service', 'etcd').spec.ports.map((p: any) => [p.name, p.port]);
    expect(ports).toEqual([['client', 2379], ['peer', 2380], ['metrics', 2381]]);
  });

  test('runs one member by default and no PodDisruptionBudget', () => {
    expect(sts.spec.replicas).toBe(1);
    expect(ofKind(prod.objects, 'PodDisruptionBudget').filter((p) => p.metadata.name === 'etcd')).toEqual([]);
  });

  test('forms a 3-member cluster from the members\' stable names, starting them together, with a PDB and peer traffic allowed', () => {
    const { objects, flows } = milvusChart((c) => ({ ...c, etcd: { ...c.etcd, replicas: 3 } }));
    const three = find(objects, 'StatefulSet', 'etcd');
    expect(three.spec.replicas).toBe(3);
    expect(three.spec.podManagementPolicy).toBe('Parallel');
    expect(podSpec(three).containers[0].args).toContain(
      `--initial-cluster=${[0, 1, 2].map((i) => `etcd-${i}=http://etcd-${i}.${smallFqdn('etcd-headless')}:2380`).join(',')}`,
    );
    expect(find(objects, 'PodDisruptionBudget', 'etcd').spec).toMatchObject({ maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
    expect(flows).toContain('etcd -> etcd:2380');
  });

  test('refuses an even member count, naming the setting', () => {
    const milvus = { ...SMALL.milvus, etcd: { ...SMALL.milvus.etcd, replicas: 2 } };
    expect(compositionError({ ...SMALL, milvus })).toBe(
      "config development.milvus.etcd: 'replicas' must be odd (1, 3, 5 or 7) for an etcd cluster, so that a majority survives a failure, got 2");
  });

  test('refuses a backend quota larger than half of its volume (a 4 GiB quota on a 6 GiB volume), naming the setting', () => {
    const milvus = { ...SMALL.milvus, etcd: { ...SMALL.milvus.etcd, quotaBackendBytes: 4 * 1024 ** 3, storage: { sizeGiB: 6 } } };
    expect(compositionError({ ...SMALL, milvus })).toBe(
      "config development.milvus.etcd: 'quotaBackendBytes' (4294967296, 4 GiB) must be at most half of the volume, 'storage.sizeGiB' 6: "
      + 'defragmentation needs room beside the database; raise the volume to at least 8 GiB');
  });
});

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

describe('Milvus', () => {
  const sts = find(prod.objects, 'StatefulSet', 'milvus');
  const milvus = container(sts, 'milvus');
  const env = envOf(sts, 'milvus');

  test('runs the pinned Milvus standalone under the image\'s tini entrypoint', () => {
    expect(milvus.image).toBe(imageName(prod.config.milvus.image));
    expect(milvus.command).toBeUndefined();
    expect(milvus.args).toEqual(['milvus', 'run', 'standalone']);
  });

  test('is a StatefulSet of exactly one member with a ReadWriteOnce volume at /var/lib/milvus', () => {
    expect(sts.spec.replicas).toBe(1);
    const claim = sts.spec.volumeClaimTemplates[0];
    expect(claim.spec).toMatchObject({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: `${prod.config.milvus.storage.sizeGiB}Gi` } } });
    expect(milvus.volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/milvus' });
  });

  test('runs non-root with a read-only root filesystem, writing only its volume, /run/milvus and /tmp', () => {
    expect(podSpec(sts).securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 });
    expect(milvus.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(milvus.volumeMounts.map((m: any) => m.mountPath).sort()).toEqual(['/run/milvus', '/tmp', '/var/lib/milvus']);
    expect(podSpec(sts).enableServiceLinks).toBe(false); // MINIO_PORT=tcp://... would override minio.port
  });

  test('is configured through Milvus\'s environment overrides, pointing at etcd and MinIO by Service name', () => {
    expect(env).toMatchObject({
      ETCD_ENDPOINTS: `${fqdn('etcd')}:2379`,
      MINIO_ADDRESS: fqdn('minio'),
      MINIO_PORT: '9000',
      MINIO_ACCESS_KEY_ID: { secretKeyRef: { name: 'minio-root', key: 'root-user' } },
      MINIO_SECRET_ACCESS_KEY: { secretKeyRef: { name: 'minio-root', key: 'root-password' } },
      MINIO_BUCKET_NAME: minioConfig.bucket,
      MINIO_ROOT_PATH: 'files',
      MINIO_USE_SSL: 'false',
    });
  });

  test('serves gRPC on 19530 and metrics and /healthz on 9091 through the Service python-ai uses', () => {
    expect(milvus.ports).toEqual([
      { name: 'grpc', containerPort: 19530, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9091, protocol: 'TCP' },
    ]);
    expect(find(prod.objects, 'Service', 'milvus').spec.ports.map((p: any) => [p.name, p.port])).toEqual([['grpc', 19530], ['metrics', 9091]]);
    expect(find(prod.objects, 'ConfigMap', 'python-ai-config').data).toMatchObject({ MILVUS_HOST: fqdn('milvus'), MILVUS_PORT: '19530' });
  });

  test('is ready and started on /healthz, alive while its port answers (etcd or MinIO trouble must not restart it)', () => {
    for (const probe of [milvus.startupProbe, milvus.readinessProbe]) {
      expect(probe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    }
    expect(milvus.livenessProbe.tcpSocket).toEqual({ port: 'metrics' });
    expect(milvus.startupProbe.periodSeconds * milvus.startupProbe.failureThreshold).toBeGreaterThanOrEqual(300);
    expect(milvus.livenessProbe).not.toEqual(milvus.readinessProbe);
  });

  test('creates its bucket before it starts, with a pinned mc and the root credentials, idempotently', () => {
    const init = container(sts, 'create-bucket');
    expect(podSpec(sts).initContainers.map((c: any) => c.name)).toEqual(['create-bucket']);
    expect(init.image).toBe(imageName(minioConfig.clientImage));
    expect(init.command).toEqual(['/bin/sh', '/scripts/create-bucket.sh']);
    expect(envOf(sts, 'create-bucket')).toMatchObject({
      MINIO_ENDPOINT: `http://${fqdn('minio')}:9000`,
      MINIO_BUCKET: minioConfig.bucket,
      MINIO_ROOT_USER: { secretKeyRef: { name: 'minio-root', key: 'root-user' } },
      MINIO_ROOT_PASSWORD: { secretKeyRef: { name: 'minio-root', key: 'root-password' } },
    });
    expect(init.resources.limits).toHaveProperty('memory');
    expect(init.securityContext.readOnlyRootFilesystem).toBe(true);
    const script = find(prod.objects, 'ConfigMap', 'milvus-scripts').data['create-bucket.sh'];
    expect(script).toBe(readFileSync(join(__dirname, '..', '..', 'charts', 'milvus', 'assets', 'create-bucket.sh'), 'utf8'));
  });

  test('has a ServiceMonitor on the metrics port that keeps Milvus\'s own labels', () => {
    expect(find(prod.objects, 'ServiceMonitor', 'milvus').spec.endpoints).toEqual([
      expect.objectContaining({ port: 'metrics', path: '/metrics', honorLabels: true }),
    ]);
  });

  test('records its connections to etcd and MinIO, and the scrapes of all three', () => {
    const { flows } = milvusChart();
    expect(flows).toEqual(expect.arrayContaining([
      'milvus -> etcd:2379',
      'milvus -> minio:9000',
      'monitoring/prometheus -> etcd:2381',
      'monitoring/prometheus -> minio:9000',
      'monitoring/prometheus -> milvus:9091',
    ]));
    expect(flows).not.toContain('etcd -> etcd:2380');
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

describe('create-bucket.sh', () => {
  const script = join(__dirname, '..', '..', 'charts', 'milvus', 'assets', 'create-bucket.sh');

  /** Runs the script with fake `mc` and `sleep`; `mc` fails its first `failures` calls. */
  function run(failures: number, maxAttempts: number) {
    const dir = mkdtempSync(join(tmpdir(), 'create-bucket-'));
    try {
      const fake = (name: string, body: string) => {
        writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
        chmodSync(join(dir, name), 0o755);
      };
      fake('mc', `n=$(cat "${dir}/count" 2>/dev/null || echo 0); echo $((n + 1)) > "${dir}/count"; echo "$*" >> "${dir}/calls"; [ "$n" -ge ${failures} ]`);
      fake('sleep', 'exit 0');
      const result = spawnSync('sh', [script], {
        encoding: 'utf8',
        env: {
          PATH: `${dir}:/usr/bin:/bin`, MAX_ATTEMPTS: String(maxAttempts), MC_CONFIG_DIR: `${dir}/mc`,
          MINIO_ENDPOINT: 'http://minio:9000', MINIO_BUCKET: 'milvus-bucket', MINIO_ROOT_USER: 'milvus', MINIO_ROOT_PASSWORD: 's3cr3t',
        },
      });
      return { status: result.status, calls: readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n') };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('retries until MinIO answers, then makes the bucket if it does not exist', () => {
    const { status, calls } = run(2, 10);
    expect(status).toBe(0);
    expect(calls.at(-1)).toBe(`--config-dir ${calls.at(-1)!.split(' ')[1]} --quiet mb --ignore-existing qingyu/milvus-bucket`);
    // Two failed attempts, then the alias and the bucket.
    expect(calls.filter((c) => c.includes(' alias set qingyu http://minio:9000 '))).toHaveLength(3);
    expect(calls).toHaveLength(4);
  });

  test('gives up with an error after MAX_ATTEMPTS', () => {
    expect(run(100, 3).status).toBe(1);
  });
});

describe.each(ALL_ENVIRONMENTS)('%s output', (envName) => {
  const { objects, config } = synthesize(envName);
  const suffix = `.${config.namespace}.svc.${config.clusterDomain}`;

  /** The Service behind `host` (`<svc><suffix>`) with a port `port`, or why there is none. */
  function resolve(host: string, port: number): string | undefined {
    if (!host.endsWith(suffix)) return `${host} is not a Service name in ${config.namespace}`;
    const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === host.slice(0, -suffix.length));
    if (!service) return `no Service for ${host}`;
    return service.spec.ports.some((p: any) => p.port === port) ? undefined : `Service ${service.metadata.name} has no port ${port}`;
  }

  test('Milvus\'s etcd and MinIO addresses resolve to Services and ports in the output', () => {
    const sts = find(objects, 'StatefulSet', 'milvus');
    const env = envOf(sts, 'milvus');
    const problems: string[] = [];
    for (const endpoint of (env.ETCD_ENDPOINTS as string).split(',')) {
      const [host, port] = endpoint.split(':');
      problems.push(resolve(host, Number(port)) ?? '');
    }
    problems.push(resolve(env.MINIO_ADDRESS, Number(env.MINIO_PORT)) ?? '');
    const url = new URL(envOf(sts, 'create-bucket').MINIO_ENDPOINT);
    problems.push(resolve(url.hostname, Number(url.port)) ?? '');
    expect(problems.filter((p) => p)).toEqual([]);
    expect(resolve(env.MINIO_ADDRESS, 9000)).toBeUndefined();
  });

  test('each ServiceMonitor of the stack selects exactly one Service, which has the named port', () => {
    for (const name of ['etcd', 'minio', 'milvus']) {
      const sm = find(objects, 'ServiceMonitor', name);
      const selected = ofKind(objects, 'Service').filter((s) =>
        Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v));
      expect(selected.map((s) => s.metadata.name)).toEqual([name]);
      expect(selected[0].spec.ports.map((p: any) => p.name)).toContain(sm.spec.endpoints[0].port);
    }
  });
});
