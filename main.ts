import { App, Chart } from 'cdk8s';

import { AppsChart } from './charts/apps/apps-chart';
import { EdgeChart } from './charts/edge/edge-chart';
import { MilvusChart } from './charts/milvus/milvus-chart';
import { MongoDbChart } from './charts/mongodb/mongodb-chart';
import { MonitoringChart } from './charts/monitoring/monitoring-chart';
import { NamespaceChart } from './charts/namespace/namespace-chart';
import { NetworkChart } from './charts/network/network-chart';
import { RedisChart } from './charts/redis/redis-chart';
import { loadConfig, PlatformConfig } from './config';
import { backupTarget } from './lib/backup';
import { fromSettings, reportAndExit } from './lib/errors';

/**
 * Composes the whole platform for one environment into `app`: one chart per deployable unit,
 * each written to its own file of dist/, numbered so that `kubectl apply -f dist` creates
 * what others depend on first.
 */
export function composePlatform(app: App, config: PlatformConfig): Chart[] {
  const namespace = new NamespaceChart(app, 'namespace', { config });
  const monitoring = new MonitoringChart(app, 'monitoring', { config });
  const mongodb = new MongoDbChart(app, 'mongodb', { config });
  const redis = new RedisChart(app, 'redis', { config });
  const milvus = new MilvusChart(app, 'milvus', { config });
  const apps = new AppsChart(app, 'apps', {
    config,
    mongodb: {
      members: mongodb.replicaSet.memberEndpoint('mongodb'),
      replicaSetName: mongodb.replicaSet.replicaSetName,
      database: mongodb.replicaSet.database,
      user: (client) => mongodb.replicaSet.user(client),
    },
    redis: { endpoint: redis.redis.endpoint('redis'), user: (client) => redis.redis.user(client, 'app') },
    milvus: { endpoint: milvus.milvus.endpoint('grpc'), user: (client) => milvus.auth.user(client) },
    prometheus: monitoring.queryEndpoint,
  });
  const edge = new EdgeChart(app, 'edge', { config, apps: apps.apps });

  // Every store backs up to the environment's target; each backup's RPO is watched.
  const minio = milvus.minio && { endpoint: milvus.minio.endpoint('api'), user: milvus.minio.user.bind(milvus.minio) };
  const target = fromSettings(`config ${config.environment}.backup.target`, () => backupTarget(config.backup.target, minio));
  const backups = [mongodb.backUp(target), redis.backUp(target), ...milvus.backUp(target)];

  monitoring.scrape(mongodb.replicaSet, redis.redis, milvus.etcd, ...(milvus.minio ? [milvus.minio] : []), milvus.milvus, ...apps.services);
  monitoring.watchApis(...apps.services);
  monitoring.watchSchedules(...backups);

  // Last to be built: it derives the NetworkPolicies from every connection made above.
  const network = new NetworkChart(app, 'network', { config });

  // Apply order (file numbers): the namespace with its quota and default-deny policies first,
  // then the charts in the order built above, the allowed flows last. Every chart depends only on
  // the namespace chart: cdk8s links every object of a dependent chart to every object of the
  // chart it depends on, and a chain of chart dependencies made synth ten times slower.
  const ordered: Chart[] = [namespace, monitoring, mongodb, redis, milvus, apps, edge, network];
  ordered.slice(1).forEach((chart) => chart.addDependency(namespace));
  namespace.sizeQuotaFor(...ordered.slice(1));
  return ordered;
}

/** `node build/main.js`: the app as the cdk8s CLI runs it (CDK8S_OUTDIR names the output). */
function main(): void {
  try {
    // No construct-metadata.json beside the manifests: `kubectl apply -f dist` must find only objects.
    const app = new App({ recordConstructMetadata: false });
    composePlatform(app, loadConfig(process.env));
    app.synth();
  } catch (error) {
    reportAndExit(error, process.env.CDK8S_OUTDIR);
  }
}

if (require.main === module) main();
