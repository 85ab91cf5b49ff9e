import { Construct } from 'constructs';
import { AppService } from './app-service';
import { Endpoint } from '../../lib/component';
import { FlowTable } from '../../lib/flows';
import { MetricsScraper } from '../../lib/metrics';
import { PlatformChart, PlatformChartProps } from '../../lib/platform-chart';
import { SECRETS } from '../../lib/secrets';

export interface AppsChartProps extends PlatformChartProps {
  readonly scraper: MetricsScraper;
  /** Every member of the MongoDB replica set, on its `mongodb` port. */
  readonly mongodb: { readonly members: Endpoint; readonly replicaSetName: string; readonly database: string };
  /** The Redis client Service. */
  readonly redis: Endpoint;
  /** The Milvus gRPC Service. */
  readonly milvus: Endpoint;
  /** Records a connection to Prometheus and returns its `host:port`. */
  readonly connectToPrometheus: (from: AppService, purpose: string) => string;
}

/** Ports of the application tier (the design's, section 3). */
export const APP_PORTS = {
  goBackendHttp: 8080,
  pythonAiHttp: 8081,
  pythonAiGrpc: 50051,
} as const;

/**
 * The application tier: go-backend (Gin API) and python-ai (FastAPI, LangGraph, RAG; SSE and
 * gRPC), wired to the data stores through their endpoints.
 */
export class AppsChart extends PlatformChart {
  public readonly goBackend: AppService;
  public readonly pythonAi: AppService;
  /** The headless Service that lets gRPC clients balance over every python-ai pod. */
  public readonly pythonAiGrpc: Endpoint;

  constructor(scope: Construct, id: string, props: AppsChartProps) {
    super(scope, id, props);
    const { config } = this;

    this.goBackend = new AppService(this, 'go-backend', {
      name: 'go-backend',
      component: 'api',
      config: config.goBackend,
      ports: [{ name: 'http', port: APP_PORTS.goBackendHttp }],
      scraper: props.scraper,
    });

    this.pythonAi = new AppService(this, 'python-ai', {
      name: 'python-ai',
      component: 'ai',
      config: config.pythonAi,
      ports: [
        { name: 'http', port: APP_PORTS.pythonAiHttp },
        { name: 'grpc', port: APP_PORTS.pythonAiGrpc },
      ],
      scraper: props.scraper,
    });
    this.pythonAiGrpc = this.pythonAi.addHeadlessService('python-ai-grpc', 'grpc');

    const mongoUri = (app: AppService) => {
      const members = app.connect(props.mongodb.members, 'application data');
      // No credentials in the URI: they come from the mongodb-app Secret as separate variables.
      return `mongodb://${members.hostPorts}/${props.mongodb.database}?replicaSet=${props.mongodb.replicaSetName}&authSource=admin`;
    };

    const go = this.goBackend;
    go.addSetting('APP_ENV', config.environment);
    go.addSetting('TZ', config.timeZone);
    go.addSetting('MONGODB_URI', mongoUri(go));
    go.addSecret('MONGODB_USERNAME', SECRETS.mongodbApp, SECRETS.mongodbApp.keys.username);
    go.addSecret('MONGODB_PASSWORD', SECRETS.mongodbApp, SECRETS.mongodbApp.keys.password);
    go.addSetting('REDIS_ADDR', go.connect(props.redis, 'cache and sessions').address);
    go.addSecret('REDIS_PASSWORD', SECRETS.redis, SECRETS.redis.keys.password);
    // dns:/// makes gRPC clients resolve every python-ai pod and round-robin over them.
    go.addSetting('AI_SERVICE_URL', `dns:///${go.connect(this.pythonAiGrpc, 'AI calls over gRPC').address}`);
    go.addSetting('PROMETHEUS_ADDR', props.connectToPrometheus(go, 'metrics queries'));
    go.addSecret('JWT_SECRET', SECRETS.goBackend, SECRETS.goBackend.keys.jwtSecret);

    const ai = this.pythonAi;
    ai.addSetting('APP_ENV', config.environment);
    ai.addSetting('TZ', config.timeZone);
    ai.addSetting('MONGODB_URI', mongoUri(ai));
    ai.addSecret('MONGODB_USERNAME', SECRETS.mongodbApp, SECRETS.mongodbApp.keys.username);
    ai.addSecret('MONGODB_PASSWORD', SECRETS.mongodbApp, SECRETS.mongodbApp.keys.password);
    const milvus = ai.connect(props.milvus, 'vector search');
    ai.addSetting('MILVUS_HOST', milvus.hosts[0]);
    ai.addSetting('MILVUS_PORT', String(milvus.port));
    ai.addSetting('REDIS_URL', `redis://${ai.connect(props.redis, 'cache and sessions').address}/0`);
    ai.addSecret('REDIS_PASSWORD', SECRETS.redis, SECRETS.redis.keys.password);
    ai.addSetting('GO_API_URL', `http://${ai.connect(go.endpoint('http'), 'business API calls').address}`);
    ai.addSecret('OPENAI_API_KEY', SECRETS.pythonAi, SECRETS.pythonAi.keys.openaiApiKey);
    FlowTable.of(this).add({
      from: { kind: 'component', component: ai },
      to: { kind: 'cidr', cidrs: config.network.egressCidrs, except: config.network.egressExceptCidrs, description: 'internet' },
      port: 443,
      protocol: 'TCP',
      purpose: 'OpenAI API over HTTPS',
    });
  }
}
