import { Construct } from 'constructs';

import { AppConfig, PlatformConfig } from '../../config';
import { Endpoint } from '../../lib/component';
import { fromSettings } from '../../lib/errors';
import { FlowTable } from '../../lib/flows';
import { PlatformChart } from '../../lib/platform-chart';
import { ClientSecret, SECRETS } from '../../lib/secrets';
import { AppService } from './app-service';

/** What the application tier connects to, handed over by the units that own it. */
export interface AppsChartProps {
  readonly config: PlatformConfig;
  /** Every member of the MongoDB replica set on its `mongodb` port, the set's names, and each app's user (and Secret). */
  readonly mongodb: {
    readonly members: Endpoint;
    readonly replicaSetName: string;
    readonly database: string;
    user(client: string): ClientSecret;
  };
  /** The Redis client Service, and the ACL user (and Secret) of each app that uses it. */
  readonly redis: { readonly endpoint: Endpoint; user(client: string): ClientSecret };
  /** The Milvus gRPC Service, and the Milvus user (and Secret) of each app that uses it. */
  readonly milvus: { readonly endpoint: Endpoint; user(client: string): ClientSecret };
  /** Where Prometheus answers queries (the platform's own, or a shared stack's). */
  readonly prometheus: Endpoint;
}

/** What an app's contract can wire it to: the other apps and the stores. */
interface Wiring {
  readonly config: PlatformConfig;
  readonly apps: Readonly<Record<string, AppService>>;
  readonly props: AppsChartProps;
}

/**
 * The settings each app reads from its environment (README "Application contract"), in the
 * order they appear in its ConfigMap and container. An app with no contract here gets the
 * default one.
 */
const CONTRACTS: Readonly<Record<string, (app: AppService, w: Wiring) => void>> = {
  'go-backend': (go, w) => {
    common(go, w);
    mongodb(go, w);
    redis(go, w, 'REDIS_ADDR');
    // dns:/// makes gRPC clients resolve every python-ai pod and round-robin over them.
    go.addSetting('AI_SERVICE_URL', `dns:///${go.connect(w.apps['python-ai'].headlessEndpoint('grpc'), 'AI calls over gRPC').address}`);
    go.addSetting('PROMETHEUS_ADDR', go.connect(w.props.prometheus, 'metrics queries').address);
    go.addSecret('JWT_SECRET', SECRETS.goBackend, SECRETS.goBackend.keys.jwtSecret);
  },
  'python-ai': (ai, w) => {
    common(ai, w);
    mongodb(ai, w);
    milvus(ai, w);
    redis(ai, w, 'REDIS_URL');
    ai.addSetting('GO_API_URL', `http://${ai.connect(w.apps['go-backend'].endpoint('http'), 'business API calls').address}`);
    ai.addSecret('OPENAI_API_KEY', SECRETS.pythonAi, SECRETS.pythonAi.keys.openaiApiKey);
    const net = w.config.network;
    FlowTable.of(ai).add({
      from: ai.peer,
      to: { kind: 'cidr', cidrs: net.egressCidrs, except: net.egressExceptCidrs, description: 'internet' },
      port: 443,
      protocol: 'TCP',
      purpose: 'OpenAI API over HTTPS',
    });
  },
};

/** The default contract: APP_ENV and TZ, and the standard variables of each store in `uses`. */
function defaultContract(app: AppService, w: Wiring, config: AppConfig): void {
  common(app, w);
  for (const store of config.uses ?? []) {
    if (store === 'mongodb') mongodb(app, w);
    if (store === 'milvus') milvus(app, w);
    if (store === 'redis') redis(app, w, 'REDIS_ADDR');
  }
}

function common(app: AppService, w: Wiring): void {
  app.addSetting('APP_ENV', w.config.environment);
  app.addSetting('TZ', w.config.timeZone);
}

/**
 * Redis for one app: its address (`host:port` in REDIS_ADDR, or `redis://host:port/0` in
 * REDIS_URL), and its own ACL user, REDIS_USERNAME and REDIS_PASSWORD (from `redis-<app>`).
 */
function redis(app: AppService, w: Wiring, variable: 'REDIS_ADDR' | 'REDIS_URL'): void {
  const address = app.connect(w.props.redis.endpoint, 'cache and sessions').address;
  app.addSetting(variable, variable === 'REDIS_URL' ? `redis://${address}/0` : address);
  const user = w.props.redis.user(app.name);
  app.addSetting('REDIS_USERNAME', user.keys.username.value!);
  app.addSecret('REDIS_PASSWORD', user, user.keys.password);
}

/**
 * MongoDB for one app: MONGODB_URI (every member, the replica set, no credentials), and its own
 * user (readWrite on the app database), MONGODB_USERNAME and MONGODB_PASSWORD (from `mongodb-<app>`).
 */
function mongodb(app: AppService, w: Wiring): void {
  const m = w.props.mongodb;
  const members = app.connect(m.members, 'application data');
  app.addSetting('MONGODB_URI', `mongodb://${members.hostPorts}/${m.database}?replicaSet=${m.replicaSetName}&authSource=admin`);
  const user = m.user(app.name);
  app.addSetting('MONGODB_USERNAME', user.keys.username.value!);
  app.addSecret('MONGODB_PASSWORD', user, user.keys.password);
}

/**
 * Milvus for one app: MILVUS_HOST and MILVUS_PORT, and its own Milvus user, MILVUS_USERNAME and
 * MILVUS_PASSWORD (from `milvus-<app>`; the user name has `_` for `-`).
 */
function milvus(app: AppService, w: Wiring): void {
  const endpoint = app.connect(w.props.milvus.endpoint, 'vector search');
  app.addSetting('MILVUS_HOST', endpoint.hosts[0]);
  app.addSetting('MILVUS_PORT', String(endpoint.port));
  const user = w.props.milvus.user(app.name);
  app.addSetting('MILVUS_USERNAME', user.keys.username.value!);
  app.addSecret('MILVUS_PASSWORD', user, user.keys.password);
}

/**
 * The application tier: one AppService per entry of `apps` (go-backend, the Gin API, and
 * python-ai, FastAPI with LangGraph and RAG, SSE and gRPC, in the design), each wired to the
 * stores and to each other through endpoints. Settings: `apps` in config/environments.ts.
 */
export class AppsChart extends PlatformChart {
  /** Every app by name. */
  public readonly apps: Readonly<Record<string, AppService>>;

  constructor(scope: Construct, id: string, props: AppsChartProps) {
    super(scope, id, { platform: props.config });
    const { config } = props;
    const at = (name: string) => `config ${config.environment}.apps['${name}']`;
    const apps: Record<string, AppService> = {};
    for (const [name, app] of Object.entries(config.apps)) {
      apps[name] = fromSettings(at(name), () => new AppService(this, name, { name, ...app }));
    }
    this.apps = apps;
    const wiring: Wiring = { config, apps, props };
    for (const [name, app] of Object.entries(apps)) {
      fromSettings(at(name), () => (CONTRACTS[name] ?? ((a, w) => defaultContract(a, w, config.apps[name])))(app, wiring));
    }
  }

  /** Every app, in the order of the configuration. */
  public get services(): AppService[] {
    return Object.values(this.apps);
  }
}
