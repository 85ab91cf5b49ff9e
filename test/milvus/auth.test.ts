import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { IMAGES } from '../../config/images';
import { podSets } from '../../lib/manifest';
import { imageName } from '../../lib/pod';
import { objectsOf } from '../support/fixtures';
import { ALL_ENVIRONMENTS, container, find, ofKind, podSpec, synthesize } from '../support/synth';
import { envOf, fqdn, milvusChart, prod } from './support';

// Milvus authentication (issue 18): Milvus refuses unauthenticated calls; the milvus-auth Job,
// alone with the root password, gives each client its own user and role.

const job = (objects = prod.objects) => ofKind(objects, 'Job').find((j) => j.metadata.name.startsWith('milvus-auth-'))!;
const files = (objects = prod.objects) => find(objects, 'ConfigMap', 'milvus-auth').data as Record<string, string>;
const secretsOf = (spec: any): string[] => (spec.volumes ?? []).flatMap((v: any) => [
  ...(v.secret ? [v.secret.secretName] : []),
  ...(v.projected?.sources ?? []).flatMap((s: any) => (s.secret ? [s.secret.name] : [])),
]);

test('Milvus runs with authorization on', () => {
  expect(envOf(find(prod.objects, 'StatefulSet', 'milvus'), 'milvus').COMMON_SECURITY_AUTHORIZATIONENABLED).toBe('true');
});

test('python-ai logs in as its own user, python_ai, with the password of milvus-python-ai', () => {
  const env = Object.fromEntries(container(find(prod.objects, 'Deployment', 'python-ai'), 'python-ai').env.map((e: any) => [e.name, e]));
  expect(env.MILVUS_PASSWORD.valueFrom).toEqual({ secretKeyRef: { name: 'milvus-python-ai', key: 'password' } });
  expect(find(prod.objects, 'ConfigMap', 'python-ai-config').data.MILVUS_USERNAME).toBe('python_ai');
  expect(files().users).toBe('python-ai python_ai\n');
});

describe('the milvus-auth Job', () => {
  const j = job();
  const spec = podSpec(j);
  const auth = container(j, 'auth');

  test('runs the script with grpcurl against Milvus\'s gRPC Service, once, within a deadline', () => {
    expect(j.metadata.name).toMatch(/^milvus-auth-[0-9a-f]{10}$/);
    expect(auth.command).toEqual(['/bin/sh', '/auth/milvus-auth.sh']);
    expect(auth.image).toBe(imageName(IMAGES.grpcurl));
    expect(envOf(j, 'auth').MILVUS_ADDRESS).toBe(`${fqdn('milvus')}:19530`);
    expect(Number(envOf(j, 'auth').MAX_WAIT_SECONDS)).toBeGreaterThanOrEqual(600);
    expect(spec.restartPolicy).toBe('Never');
    expect(j.spec.backoffLimit).toBeGreaterThan(0);
    expect(j.spec.activeDeadlineSeconds).toBeGreaterThan(Number(envOf(j, 'auth').MAX_WAIT_SECONDS));
    expect(files()['milvus-auth.sh']).toBe(readFileSync(join(__dirname, '../../charts/milvus/assets/milvus-auth.sh'), 'utf8'));
  });

  test('is restricted, has no API token, and reads only the root password and each client\'s', () => {
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(auth.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(secretsOf(spec).sort()).toEqual(['milvus-python-ai', 'milvus-root']);
    const projected = spec.volumes.find((v: any) => v.name === 'secrets').projected.sources.flatMap((s: any) => s.secret.items.map((i: any) => i.path));
    expect(projected.sort()).toEqual(['root/password', 'users/python-ai/password']);
  });

  test('grants python_ai\'s role the collection workflow and no administration', () => {
    const grants = files()['grants-python_ai'].trim().split('\n');
    for (const g of ['Global * CreateCollection', 'Global * DescribeCollection', 'Collection * Insert', 'Collection * Search', 'Collection * Query', 'Collection * CreateIndex', 'Collection * Load']) {
      expect(grants).toContain(g);
    }
    // Administration: users, roles, databases, resource groups, bulk operations; `All` is everything.
    expect(grants.filter((g) => /Ownership|User|Role|Database|ResourceGroup|Import|Compaction|LoadBalance| All$/.test(g))).toEqual([]);
    expect(new Set(grants).size).toBe(grants.length);
  });
});

describe.each(ALL_ENVIRONMENTS)('%s', (env) => {
  const { objects } = synthesize(env);

  test('only the milvus-auth Job reads the Milvus root password', () => {
    const readers = podSets(objects).filter((s) => secretsOf(s.spec).includes('milvus-root')
      || s.spec.containers.some((c: any) => (c.env ?? []).some((e: any) => e.valueFrom?.secretKeyRef?.name === 'milvus-root')));
    expect(readers.map((s) => `${s.owner.kind}/${s.owner.metadata.name}`)).toEqual([`Job/${job(objects).metadata.name}`]);
  });
});

describe('the Job\'s name follows what it applies', () => {
  // The users are added before the chart is synthesized (milvusChart's objects are read before).
  const nameWith = (...clients: string[]) => {
    const { chart } = milvusChart();
    clients.forEach((c) => chart.auth.user(c));
    return job(objectsOf(chart)).metadata.name;
  };

  test('the same users give the same name; another client gives another', () => {
    const one = nameWith('python-ai');
    expect(nameWith('python-ai')).toBe(one);
    expect(nameWith('python-ai', 'indexer')).not.toBe(one);
  });

  test('refuses a client name Milvus could not hold, naming it', () => {
    const { chart } = milvusChart();
    expect(() => chart.auth.user('Search_Indexer')).toThrow("Milvus clients are named with lower-case letters, digits and '-' (at most 31), got 'Search_Indexer'");
  });

  test("refuses a client whose Secret would be root's (milvus-root), and a second role for a client", () => {
    const { chart } = milvusChart();
    expect(() => chart.auth.user('root')).toThrow(/a Milvus client cannot be named 'root': the Secret milvus-root is the store's own/);
    chart.auth.user('indexer');
    expect(() => chart.auth.user('indexer', 'admin' as any)).toThrow("Milvus user 'indexer' has the role app already, not admin");
  });
});
