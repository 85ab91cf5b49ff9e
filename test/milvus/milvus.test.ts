import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { imageName } from '../../lib/pod';
import { compositionError, SMALL } from '../support/fixtures';
import { ALL_ENVIRONMENTS, container, find, ofKind, podSpec, synthesize } from '../support/synth';
import { envOf, etcdConfig, fqdn, milvusChart, milvusFile, minioConfig, prod, smallFqdn } from './support';

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


describe('Milvus', () => {
  const sts = find(prod.objects, 'StatefulSet', 'milvus');
  const milvus = container(sts, 'milvus');
  const env = envOf(sts, 'milvus');

  test('runs the pinned Milvus standalone under the image\'s tini entrypoint', () => {
    expect(milvus.image).toBe(imageName(prod.config.milvus.image));
    expect(milvus.command).toBeUndefined();
    expect(milvus.args).toEqual(['milvus', 'run', 'standalone']);
  });

  test('stops by itself before the grace period ends: the query node does not wait for a peer standalone lacks', () => {
    const queryNode = Number(env.QUERYNODE_GRACEFULSTOPTIMEOUT);
    const forceQuit = Number(env.COMMON_GRACEFULSTOPTIMEOUT);
    expect(queryNode).toBeGreaterThan(0);
    expect(queryNode).toBeLessThanOrEqual(10);
    expect(forceQuit).toBeGreaterThan(queryNode);
    // Room after Milvus's own force-quit for tini to reap and the kubelet to see it exit.
    expect(podSpec(sts).terminationGracePeriodSeconds - forceQuit).toBeGreaterThanOrEqual(10);
  });

  test('serves no REST API on its metrics port (2.3 serves it there unauthenticated: CVE-2026-26190)', () => {
    expect(env.PROXY_HTTP_ENABLED).toBe('false');
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
      MINIO_ACCESS_KEY_ID: { secretKeyRef: { name: 'minio-milvus', key: 'access-key' } },
      MINIO_SECRET_ACCESS_KEY: { secretKeyRef: { name: 'minio-milvus', key: 'secret-key' } },
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

  test('provisions its bucket and the MinIO users before it starts, as root, and runs with its own key', () => {
    const init = container(sts, 'provision');
    expect(podSpec(sts).initContainers.map((c: any) => c.name)).toEqual(['provision']);
    expect(init.image).toBe(imageName(minioConfig.clientImage));
    expect(init.command).toEqual(['/bin/sh', '/provision/provision.sh']);
    expect(envOf(sts, 'provision')).toMatchObject({ MINIO_ENDPOINT: `http://${fqdn('minio')}:9000`, MINIO_BUCKET: minioConfig.bucket });
    expect(init.volumeMounts.map((m: any) => m.name)).toEqual(expect.arrayContaining(['minio-root', 'minio-users']));
    expect(milvus.volumeMounts.map((m: any) => m.name)).not.toContain('minio-root');
    expect(envOf(sts, 'milvus').MINIO_ACCESS_KEY_ID).toEqual({ secretKeyRef: { name: 'minio-milvus', key: 'access-key' } });
    expect(init.resources.limits).toHaveProperty('memory');
    expect(init.securityContext.readOnlyRootFilesystem).toBe(true);
    const files = find(prod.objects, 'ConfigMap', 'milvus-scripts').data;
    expect(files['provision.sh']).toBe(readFileSync(join(__dirname, '..', '..', 'charts', 'milvus', 'assets', 'provision.sh'), 'utf8'));
    expect(files.buckets).toBe(`${minioConfig.bucket}\n`);
    expect(files.users).toBe('backup\nmilvus\n');
    const resources = (client: string) => JSON.parse(files[`policy-${client}.json`]).Statement.flatMap((st: any) => st.Resource);
    expect(resources('milvus')).toEqual([`arn:aws:s3:::${minioConfig.bucket}`, `arn:aws:s3:::${minioConfig.bucket}/*`]);
    // The backup reads Milvus's bucket; it may not write it.
    const backup = JSON.parse(files['policy-backup.json']).Statement.flatMap((st: any) => st.Action);
    expect(backup).toContain('s3:GetObject');
    expect(backup).not.toContain('s3:PutObject');
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
    const url = new URL(envOf(sts, 'provision').MINIO_ENDPOINT);
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
