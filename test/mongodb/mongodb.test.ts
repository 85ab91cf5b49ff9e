import { Testing } from 'cdk8s';

import { cacheSizeGB, MongoReplicaSet, MongoReplicaSetProps } from '../../charts/mongodb/mongo-replica-set';
import { MongoDbChart } from '../../charts/mongodb/mongodb-chart';
import { EnvironmentName, ENVIRONMENTS } from '../../config';
import { imageName } from '../../lib/pod';
import { compositionError, objectsOf, scratchChart, SMALL } from '../support/fixtures';
import { ALL_ENVIRONMENTS, container, find, K8sObject, ofKind, podSpec, synthesize } from '../support/synth';

const prod = synthesize('production');
const mongo = prod.config.mongodb;
const mongoFile = () => prod.files.find((f) => f.name.endsWith('-mongodb.k8s.yaml'))!;

/** Only the MongoDB chart of an environment: cheaper than the whole platform. */
function mongoChart(env: EnvironmentName): K8sObject[] {
  return objectsOf(new MongoDbChart(Testing.app(), 'mongodb', { config: ENVIRONMENTS[env] }));
}

/** A replica set from the small config with some props changed, in a scratch chart. */
function replicaSet(change: Partial<MongoReplicaSetProps>): MongoReplicaSet {
  return new MongoReplicaSet(scratchChart(), 'rs', { ...SMALL.mongodb, ...change });
}

function envOf(workload: K8sObject, name: string): Record<string, any> {
  return Object.fromEntries(container(workload, name).env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
}

/** Every member's host:port, as the configuration names them. */
const hostsOf = (config: typeof prod.config) => Array.from({ length: config.mongodb.replicas },
  (_, i) => `mongodb-${i}.mongodb-headless.${config.namespace}.svc.${config.clusterDomain}:27017`);
const HOSTS = hostsOf(prod.config);

test('the mongodb chart matches its snapshot', () => {
  expect(mongoFile().yaml).toMatchSnapshot();
});

describe('members', () => {
  test.each(ALL_ENVIRONMENTS)('%s runs its configured members of the replica set', (env) => {
    const c = ENVIRONMENTS[env].mongodb;
    const sts = find(mongoChart(env), 'StatefulSet', 'mongodb');
    expect(sts.spec.replicas).toBe(c.replicas);
    const args: string[] = container(sts, 'mongod').args;
    expect(args.slice(args.indexOf('--replSet'), args.indexOf('--replSet') + 2)).toEqual(['--replSet', c.replicaSetName]);
    expect(envOf(sts, 'bootstrap').MEMBER_HOSTS.split(',')).toHaveLength(c.replicas);
  });

  test('runs mongod itself from the pinned mongo image, bound to every interface, with the keyFile and no zlib', () => {
    const sts = find(prod.objects, 'StatefulSet', 'mongodb');
    const mongod = container(sts, 'mongod');
    expect(mongod.image).toBe(imageName(mongo.image));
    expect(mongod.command).toEqual(['mongod']);
    expect(mongod.args).toEqual([
      '--replSet', mongo.replicaSetName, '--bind_ip_all', '--port', '27017', '--dbpath', '/data/db', '--keyFile', '/keyfile/keyfile',
      '--wiredTigerCacheSizeGB', String(cacheSizeGB(mongo.resources.memoryMiB.limit)), '--networkMessageCompressors', 'snappy,zstd',
    ]);
  });

  test('starts members in parallel: member 0 initiates only once every member is up', () => {
    expect(find(prod.objects, 'StatefulSet', 'mongodb').spec.podManagementPolicy).toBe('Parallel');
  });

  test('the bootstrap sidecar knows every member by its stable DNS name, and its own pod name', () => {
    const sts = find(prod.objects, 'StatefulSet', 'mongodb');
    const env = envOf(sts, 'bootstrap');
    expect(env.MEMBER_HOSTS).toBe(HOSTS.join(','));
    expect(env.POD_NAME).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(env.REPLICA_SET_NAME).toBe(mongo.replicaSetName);
    expect(env.APP_DATABASE).toBe(mongo.database);
    expect(container(sts, 'bootstrap').command).toEqual(['bash', '/scripts/replica-set-bootstrap.sh']);
  });

  test('memberEndpoint lists every member on 27017 for the applications', () => {
    const endpoint = replicaSet({ replicas: 3 }).memberEndpoint('mongodb');
    expect(endpoint.port).toBe(27017);
    expect(endpoint.hostPorts).toBe(hostsOf({ ...SMALL, mongodb: { ...SMALL.mongodb, replicas: 3 } }).join(','));
  });
});

describe('services and storage', () => {
  test('a headless governing Service publishes not-ready addresses, so members resolve before the set exists', () => {
    const headless = find(prod.objects, 'Service', 'mongodb-headless');
    expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(find(prod.objects, 'StatefulSet', 'mongodb').spec.serviceName).toBe('mongodb-headless');
  });

  test('a ClusterIP client Service mongodb serves 27017 and marks the metrics port for scraping', () => {
    const svc = find(prod.objects, 'Service', 'mongodb');
    expect(svc.spec.type).toBe('ClusterIP');
    expect(svc.spec.ports.map((p: any) => [p.name, p.port])).toEqual([['mongodb', 27017], ['metrics', 9216]]);
    expect(svc.metadata.labels!['qingyu.io/metrics']).toBe('true');
  });

  test.each(ALL_ENVIRONMENTS)('%s claims its configured ReadWriteOnce volume per member, mounted at /data/db', (env) => {
    const sts = find(mongoChart(env), 'StatefulSet', 'mongodb');
    const [claim] = sts.spec.volumeClaimTemplates;
    expect(claim.metadata.name).toBe('data');
    expect(claim.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(claim.spec.resources.requests.storage).toBe(`${ENVIRONMENTS[env].mongodb.storage.sizeGiB}Gi`);
    expect(container(sts, 'mongod').volumeMounts).toContainEqual({ name: 'data', mountPath: '/data/db' });
  });
});

describe('probes and termination', () => {
  const sts = find(prod.objects, 'StatefulSet', 'mongodb');
  const mongod = container(sts, 'mongod');

  test('startup and liveness ping mongod (probe.sh live); startup allows 10 minutes of recovery', () => {
    expect(mongod.startupProbe.exec.command).toEqual(['bash', '/scripts/probe.sh', 'live', '8']);
    expect(mongod.livenessProbe.exec.command).toEqual(['bash', '/scripts/probe.sh', 'live', '8']);
    expect(mongod.startupProbe.periodSeconds * mongod.startupProbe.failureThreshold).toBe(600);
    expect(mongod.livenessProbe.periodSeconds * mongod.livenessProbe.failureThreshold).toBe(120);
  });

  test('readiness requires the member to be PRIMARY or SECONDARY (probe.sh ready), and differs from liveness', () => {
    expect(mongod.readinessProbe.exec.command).toEqual(['bash', '/scripts/probe.sh', 'ready', '8']);
    expect(mongod.readinessProbe).not.toEqual(mongod.livenessProbe);
    // probe.sh stops mongosh before the kubelet's timeout.
    for (const p of [mongod.startupProbe, mongod.livenessProbe, mongod.readinessProbe]) expect(p.timeoutSeconds).toBeGreaterThan(8);
  });

  test('a primary steps down in preStop, and the grace period outlasts the step-down and the shutdown', () => {
    expect(mongod.lifecycle.preStop.exec.command).toEqual(['bash', '/scripts/pre-stop.sh']);
    expect(podSpec(sts).terminationGracePeriodSeconds).toBe(120);
    expect(() => replicaSet({ terminationGracePeriodSeconds: 60 })).toThrow(/'terminationGracePeriodSeconds' must be at least 75 .*got 60/);
  });

  test('the bootstrap sidecar is ready once its loop runs and live while passes keep starting', () => {
    const bootstrap = container(sts, 'bootstrap');
    expect(bootstrap.readinessProbe.exec.command).toEqual(['bash', '/scripts/replica-set-bootstrap.sh', 'started']);
    expect(bootstrap.livenessProbe.exec.command.slice(0, 3)).toEqual(['bash', '/scripts/replica-set-bootstrap.sh', 'healthy']);
    expect(Number(bootstrap.livenessProbe.exec.command[3])).toBeGreaterThan(300);
  });
});

describe('authentication', () => {
  const sts = find(prod.objects, 'StatefulSet', 'mongodb');
  const spec = podSpec(sts);
  const volume = (name: string) => spec.volumes.find((v: any) => v.name === name);

  test('an init container copies the keyFile from its Secret to a memory emptyDir, for mode 0400 owned by 999', () => {
    const init = container(sts, 'install-keyfile');
    expect(init.command).toEqual(['bash', '/scripts/install-keyfile.sh']);
    expect(volume('keyfile-secret').secret.secretName).toBe('mongodb-keyfile');
    expect(volume('keyfile').emptyDir.medium).toBe('Memory');
    expect(init.volumeMounts).toContainEqual({ name: 'keyfile', mountPath: '/keyfile' });
    expect(container(sts, 'mongod').volumeMounts).toContainEqual({ name: 'keyfile', mountPath: '/keyfile', readOnly: true });
    // mongod never sees the Secret volume itself (fsGroup makes it group-readable: "too open").
    expect(container(sts, 'mongod').volumeMounts.map((m: any) => m.name)).not.toContain('keyfile-secret');
  });

  test('the bootstrap reads root and every client user from Secret files, not the environment, and is told each role', () => {
    const sources = volume('credentials').projected.sources.map((s: any) => s.secret);
    expect(sources.map((s: any) => s.name)).toEqual(['mongodb-root', 'mongodb-backup', 'mongodb-go-backend', 'mongodb-metrics', 'mongodb-python-ai']);
    expect(sources[2].items).toEqual([
      { key: 'username', path: 'users/go-backend/username' },
      { key: 'password', path: 'users/go-backend/password' },
    ]);
    expect(envOf(sts, 'bootstrap').USERS).toBe('backup:backup,go-backend:app,metrics:metrics,python-ai:app');
    expect(container(sts, 'bootstrap').volumeMounts).toContainEqual({ name: 'credentials', mountPath: '/secrets', readOnly: true });
    expect(Object.keys(envOf(sts, 'bootstrap')).filter((k) => /PASSWORD/.test(k))).toEqual([]);
  });

  test('the exporter authenticates with MONGODB_USER/MONGODB_PASSWORD from mongodb-metrics, never in its URI', () => {
    const exporter = container(sts, 'exporter');
    expect(envOf(sts, 'exporter')).toEqual({
      MONGODB_USER: { secretKeyRef: { name: 'mongodb-metrics', key: 'username' } },
      MONGODB_PASSWORD: { secretKeyRef: { name: 'mongodb-metrics', key: 'password' } },
    });
    expect(exporter.args).toContain('--mongodb.uri=mongodb://127.0.0.1:27017/admin');
    expect(exporter.args).toContain('--compatible-mode');
    expect(exporter.image).toBe(imageName(mongo.exporter.image));
  });

  test('the applications connect to every member, naming the replica set, each as its own user', () => {
    for (const app of ['go-backend', 'python-ai']) {
      const settings = find(prod.objects, 'ConfigMap', `${app}-config`).data;
      expect(settings.MONGODB_URI).toBe(`mongodb://${HOSTS.join(',')}/${mongo.database}?replicaSet=${mongo.replicaSetName}&authSource=admin`);
      expect(settings.MONGODB_USERNAME).toBe(app);
      expect(envOf(find(prod.objects, 'Deployment', app), app).MONGODB_PASSWORD).toEqual({ secretKeyRef: { name: `mongodb-${app}`, key: 'password' } });
    }
  });

  test('a client gets one user, of one role, and no name that is the replica set\'s own Secret', () => {
    const rs = replicaSet({});
    expect(rs.user('notifier')).toBe(rs.user('notifier', 'app'));
    expect(rs.user('notifier').name).toBe('mongodb-notifier');
    expect(() => rs.user('notifier', 'backup')).toThrow("MongoDB user 'notifier' has the role app already, not backup");
    expect(() => rs.user('root')).toThrow(/a MongoDB client cannot be named 'root': the Secret mongodb-root is the store's own/);
    expect(() => rs.user('keyfile')).toThrow(/the Secret mongodb-keyfile/);
    expect(() => rs.user('Billing_2')).toThrow("MongoDB clients are named with lower-case letters, digits and '-' (at most 63), got 'Billing_2'");
  });
});

describe('security and availability', () => {
  const sts = find(prod.objects, 'StatefulSet', 'mongodb');
  const spec = podSpec(sts);

  test('runs as the image mongodb user (999), restricted, read-only root with /tmp and HOME on emptyDirs', () => {
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of [...spec.initContainers, ...spec.containers]) {
      expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    }
    expect(container(sts, 'mongod').volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    expect(envOf(sts, 'mongod').HOME).toBe('/tmp');
    expect(envOf(sts, 'bootstrap').HOME).toBe('/tmp');
    expect(spec.automountServiceAccountToken).toBe(false);
  });

  test('sizes the WiredTiger cache from the memory limit as MongoDB does: half of (limit - 1 GiB), at least 0.25', () => {
    expect(cacheSizeGB(4096)).toBe(1.5);
    expect(cacheSizeGB(1024)).toBe(0.25);
    const dev = find(mongoChart('development'), 'StatefulSet', 'mongodb');
    expect(container(dev, 'mongod').args).toContain(String(cacheSizeGB(ENVIRONMENTS.development.mongodb.resources.memoryMiB.limit)));
  });

  test('a PodDisruptionBudget keeps a majority: one member of three may go at a time', () => {
    const pdb = find(prod.objects, 'PodDisruptionBudget', 'mongodb');
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(sts.spec.selector.matchLabels);
    expect(ofKind(mongoChart('development'), 'PodDisruptionBudget')).toEqual([]);
  });

  test('spreads members over nodes', () => {
    expect(spec.topologySpreadConstraints[0]).toMatchObject({ topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule' });
    expect(spec.affinity.podAntiAffinity).toBeDefined();
  });

  test('members may reach each other on 27017, and the applications may reach them', () => {
    const ingress = find(prod.objects, 'NetworkPolicy', 'mongodb-ingress');
    const from = ingress.spec.ingress
      .filter((r: any) => r.ports.some((p: any) => p.port === 27017))
      .flatMap((r: any) => r.from.map((f: any) => f.podSelector?.matchLabels?.['app.kubernetes.io/name']));
    expect(from).toEqual(expect.arrayContaining(['mongodb', 'go-backend', 'python-ai']));
  });

  test('the exporter is scraped through a ServiceMonitor on the metrics port', () => {
    const sm = find(prod.objects, 'ServiceMonitor', 'mongodb');
    expect(sm.spec.endpoints[0].port).toBe('metrics');
    expect(sm.spec.selector.matchLabels['qingyu.io/metrics']).toBe('true');
  });

  test('scripts come from the mongodb-scripts ConfigMap, and a change rolls the members', () => {
    const cm = find(prod.objects, 'ConfigMap', 'mongodb-scripts');
    expect(Object.keys(cm.data).sort()).toEqual(['install-keyfile.sh', 'pre-stop.sh', 'probe.sh', 'replica-set-bootstrap.sh', 'replica-set.js']);
    expect(sts.spec.template.metadata.annotations['qingyu.io/scripts-checksum']).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('validation', () => {
  test.each([2, 4, 0, 9, 1.5])('fails when replicas is %p', (replicas) => {
    expect(() => replicaSet({ replicas })).toThrow(`'replicas' must be odd (1, 3, 5 or 7) for a MongoDB replica set, so that a majority survives the loss of a member, got ${replicas}`);
  });

  test('fails on a replica-set name or database MongoDB would refuse', () => {
    expect(() => replicaSet({ replicaSetName: 'rs/0' })).toThrow(/'replicaSetName' .* got 'rs\/0'/);
    expect(() => replicaSet({ database: 'admin' })).toThrow(/'database' .* got 'admin'/);
  });

  test('accepts 5 members and lists them all', () => {
    expect(replicaSet({ replicas: 5 }).memberHosts).toHaveLength(5);
  });
});

describe('refused settings name the setting, the value and what is allowed', () => {
  test.each([
    [{ replicas: 4 }, "config development.mongodb: 'replicas' must be odd (1, 3, 5 or 7) for a MongoDB replica set, so that a majority survives the loss of a member, got 4"],
    [{ database: 'admin' }, "config development.mongodb: 'database' must be 1 to 63 letters, digits, '_' or '-' and not admin, local or config, got 'admin'"],
  ])('%j', (change, message) => {
    expect(compositionError({ ...SMALL, mongodb: { ...SMALL.mongodb, ...change } })).toBe(message);
  });
});
