import { App, Chart } from 'cdk8s';
import { ConfigError, loadConfig, PlatformConfig } from './config';
import { AppsChart } from './charts/apps/apps-chart';
import { EdgeChart } from './charts/edge/edge-chart';
import { MilvusChart } from './charts/milvus/milvus-chart';
import { MongoDbChart } from './charts/mongodb/mongodb-chart';
import { MonitoringChart } from './charts/monitoring/monitoring-chart';
import { NamespaceChart } from './charts/namespace/namespace-chart';
import { NetworkChart } from './charts/network/network-chart';
import { RedisChart } from './charts/redis/redis-chart';

/**
 * Composes the whole platform for one environment into `app`: one chart per deployable unit,
 * each written to its own file of dist/, numbered so that `kubectl apply -f dist` creates
 * what others depend on first.
 */
export function composePlatform(app: App, config: PlatformConfig): Chart[] {
  const namespace = new NamespaceChart(app, 'namespace', { config });
  const monitoring = new MonitoringChart(app, 'monitoring', { config });
  const { scraper } = monitoring;
  const mongodb = new MongoDbChart(app, 'mongodb', { config, scraper });
  const redis = new RedisChart(app, 'redis', { config, scraper });
  const milvus = new MilvusChart(app, 'milvus', { config, scraper });
  const apps = new AppsChart(app, 'apps', {
    config,
    scraper,
    mongodb: {
      members: mongodb.replicaSet.memberEndpoint('mongodb'),
      replicaSetName: mongodb.replicaSet.replicaSetName,
      database: mongodb.replicaSet.database,
    },
    redis: redis.redis.endpoint('redis'),
    milvus: milvus.milvus.endpoint('grpc'),
    connectToPrometheus: (from, purpose) => monitoring.connectToPrometheus(from, purpose),
  });

  const edge = new EdgeChart(app, 'edge', { config, goBackend: apps.goBackend, pythonAi: apps.pythonAi });

  // Last to be built: it derives the NetworkPolicies from every connection made above.
  const network = new NetworkChart(app, 'network', { config });

  // Apply order (file numbers): the namespace with its quota and default-deny policies first,
  // then the charts in the order built above, the allowed flows last. Every chart depends only on
  // the namespace chart: cdk8s links every object of a dependent chart to every object of the
  // chart it depends on, and a chain of chart dependencies made synth ten times slower.
  const ordered: Chart[] = [namespace, monitoring, mongodb, redis, milvus, apps, edge, network];
  ordered.slice(1).forEach((chart) => chart.addDependency(namespace));
  return ordered;
}

function main(): void {
  let config: PlatformConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const app = new App();
  composePlatform(app, config);
  app.synth();
}

if (require.main === module) main();
