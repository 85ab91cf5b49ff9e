import { PropError } from './errors';

/**
 * Every Secret the platform references, by name and key. Values never appear in this
 * repository or in dist/: `scripts/create-secrets.sh` creates them in the cluster, and the
 * deploy preflight checks they exist with these keys.
 */
export interface SecretKey {
  readonly key: string;
  /** How `create-secrets.sh` fills the value. */
  readonly source: 'random' | 'prompt' | 'fixed';
  /** For `fixed` keys: the value (a user name, never a password). */
  readonly value?: string;
  readonly description: string;
}

export interface SecretSpec {
  readonly name: string;
  readonly type?: 'Opaque' | 'kubernetes.io/tls';
  readonly keys: Readonly<Record<string, SecretKey>>;
  readonly description: string;
  /**
   * A store's administrative credentials: only these containers (`Kind/name/container`, `*` for
   * any container of the pod) may read them; the policy gate refuses any other (rule
   * admin-credentials).
   */
  readonly adminOnly?: readonly string[];
}

function secret<K extends string>(
  name: string,
  description: string,
  keys: Record<K, Omit<SecretKey, 'key'> & { key: string }>,
  adminOnly?: readonly string[],
): SecretSpec & { readonly keys: Readonly<Record<K, SecretKey>> } {
  return { name, description, keys, ...(adminOnly ? { adminOnly } : {}) };
}

export const SECRETS = {
  goBackend: secret('go-backend-secrets', 'go-backend application secrets', {
    jwtSecret: { key: 'jwt-secret', source: 'random', description: 'HMAC key that signs JWTs' },
  }),
  pythonAi: secret('python-ai-secrets', 'python-ai application secrets', {
    openaiApiKey: { key: 'openai-api-key', source: 'prompt', description: 'OpenAI API key' },
  }),
  mongodbRoot: secret('mongodb-root', 'MongoDB root user, used only by the replica-set bootstrap sidecar (which creates it) and the preStop step-down', {
    username: { key: 'username', source: 'fixed', value: 'root', description: 'root user name' },
    password: { key: 'password', source: 'random', description: 'root password' },
  }, ['StatefulSet/mongodb/*']),
  mongodbKeyfile: secret('mongodb-keyfile', 'MongoDB internal member authentication', {
    keyfile: { key: 'keyfile', source: 'random', description: 'shared keyFile (base64 characters, 6 to 1024)' },
  }),
  minio: secret('minio-root', 'MinIO root credentials: the server, and the bucket step that creates buckets and users (administration only)', {
    // Random, not a fixed name: with a guessable access key ID, any bug that needs only the key ID
    // (MinIO's 2026 unsigned-trailer bypass, CVE-2026-40344) is one guess away.
    rootUser: { key: 'root-user', source: 'random', description: 'MinIO root user (random, like a password)' },
    rootPassword: { key: 'root-password', source: 'random', description: 'MinIO root password' },
  }, ['StatefulSet/minio/minio', 'StatefulSet/milvus/provision']),
  objectStore: secret('milvus-object-store', "Milvus's access key to the external S3 bucket (milvus.objectStorage.type 's3' only)", {
    accessKeyId: { key: 'access-key-id', source: 'prompt', description: 'S3 access key ID (scoped to the bucket)' },
    secretAccessKey: { key: 'secret-access-key', source: 'prompt', description: 'S3 secret access key' },
  }),
  alertmanagerReceivers: secret('alertmanager-receivers', 'Where Alertmanager delivers (monitoring.alerting.receivers): only the keys of the receivers an environment configures are referenced', {
    pagerRoutingKey: { key: 'pager-routing-key', source: 'prompt', description: 'PagerDuty Events API v2 integration (routing) key' },
    pagerUrl: { key: 'pager-url', source: 'prompt', description: 'URL of the paging webhook, with its token' },
    chatApiSecret: { key: 'chat-api-secret', source: 'prompt', description: 'WeCom application secret (corpsecret)' },
    chatUrl: { key: 'chat-url', source: 'prompt', description: 'URL of the chat webhook (Slack incoming webhook, or any), with its token' },
    emailPassword: { key: 'email-password', source: 'prompt', description: 'SMTP password of the alert mail account' },
    deadmansSwitchUrl: { key: 'deadmans-switch-url', source: 'prompt', description: "URL of the dead man's switch check that the Watchdog pings" },
  }),
  backupTarget: secret('backup-target', 'The backup target: the S3 access key of the backup bucket, and the restic repository password', {
    accessKeyId: { key: 'access-key-id', source: 'prompt', description: 'S3 access key ID, scoped to the backup bucket (s3 targets only)' },
    secretAccessKey: { key: 'secret-access-key', source: 'prompt', description: 'S3 secret access key (s3 targets only)' },
    // Without it no backup can be read: keep a copy outside the cluster (README "Recovery").
    resticPassword: { key: 'restic-password', source: 'random', description: 'encryption password of every restic repository' },
  }),
  milvusRoot: secret('milvus-root', "Milvus's root user, used only by the milvus-auth Job (which sets its password at the first start and manages every client's user and role)", {
    username: { key: 'username', source: 'fixed', value: 'root', description: 'Milvus root user name (built in)' },
    password: { key: 'password', source: 'random', description: 'Milvus root password (replaces the built-in default at the first start)' },
  }, ['Job/milvus-auth-*/auth']),
  grafana: secret('grafana-admin', 'Grafana administrator', {
    adminUser: { key: 'admin-user', source: 'fixed', value: 'admin', description: 'Grafana admin user' },
    adminPassword: { key: 'admin-password', source: 'random', description: 'Grafana admin password' },
  }, ['Deployment/grafana/grafana']),
} as const;

/** The credentials of one client of a store: a user named after the client, and its password. */
export type ClientSecret = SecretSpec & { readonly keys: { readonly username: SecretKey; readonly password: SecretKey } };

const CLIENT_SECRETS = new Map<string, ClientSecret>();

/**
 * The Secret `<store>-<client>` of one client of a store (a Redis ACL user, a Milvus user): its
 * user name is the client's, its password random. Stores make these as their clients connect,
 * so a new client gets its own credentials without an edit here; the catalogue lists every one
 * the composition made (`catalogueSecrets`), which `scripts/create-secrets.sh` creates.
 * `username`: the store's name for the user, where the store allows fewer characters than a
 * client name has (Milvus: letters, digits and `_`).
 */
export function clientSecret(
  store: string, client: string, purpose: string, adminOnly?: readonly string[], username = client,
): ClientSecret {
  const name = `${store}-${client}`;
  const spec: ClientSecret = {
    name,
    description: `${store} user '${username}': ${purpose}`,
    ...(adminOnly ? { adminOnly } : {}),
    keys: {
      username: { key: 'username', source: 'fixed', value: username, description: `${store} user name` },
      password: { key: 'password', source: 'random', description: `password of ${store} user ${username}` },
    },
  };
  CLIENT_SECRETS.set(name, spec);
  return spec;
}

/** How one store names, grants and describes its users (StoreUsers). */
export interface StoreUserRules<R extends string> {
  /** The store's name in messages (`Redis`). */
  readonly title: string;
  /** The longest client name the store (or the Secret name it prefixes) takes. */
  readonly maxLength: number;
  /** What a user of `role` is for, in its Secret's description. */
  purpose(role: R): string;
  /** The containers that alone may read a user's Secret (an administrative user's). */
  adminOnly?(role: R): readonly string[] | undefined;
  /** The store's name for the user of `client`, where the store takes fewer characters. */
  username?(client: string): string;
}

/**
 * The users of one store (Redis, MongoDB, Milvus), one per client: each holds one role and its
 * own Secret `<store>-<client>` (clientSecret). Asking again for a client returns its Secret;
 * asking with another role, a malformed name, or a name whose Secret the catalogue already has
 * for the store itself (`mongodb-root`) is refused.
 */
export class StoreUsers<R extends string> {
  private readonly users = new Map<string, { readonly secret: ClientSecret; readonly role: R }>();

  constructor(private readonly store: string, private readonly rules: StoreUserRules<R>) {}

  public user(client: string, role: R): ClientSecret {
    const { title, maxLength } = this.rules;
    const known = this.users.get(client);
    if (known) {
      if (known.role !== role) throw new PropError(`${title} user '${client}' has the role ${known.role} already, not ${role}`);
      return known.secret;
    }
    if (!new RegExp(`^[a-z][a-z0-9-]{0,${maxLength - 1}}$`).test(client)) {
      throw new PropError(`${title} clients are named with lower-case letters, digits and '-' (at most ${maxLength}), got '${client}'`);
    }
    const taken = Object.values(SECRETS).find((s) => s.name === `${this.store}-${client}`);
    if (taken) throw new PropError(`a ${title} client cannot be named '${client}': the Secret ${taken.name} is the store's own (${taken.description})`);
    const { purpose, adminOnly, username } = this.rules;
    const secret = clientSecret(this.store, client, purpose(role), adminOnly?.(role), username?.(client) ?? client);
    this.users.set(client, { secret, role });
    return secret;
  }

  /** Every user as [client, { secret, role }], in the order they were asked for. */
  public entries(): Array<[string, { readonly secret: ClientSecret; readonly role: R }]> {
    return [...this.users.entries()];
  }

  /** Every user, by client name. */
  public sorted(): Array<[string, { readonly secret: ClientSecret; readonly role: R }]> {
    return this.entries().sort(([a], [b]) => a.localeCompare(b));
  }
}

/** An S3 access key of one client of an object store: both halves random. */
export type AccessKeySecret = SecretSpec & { readonly keys: { readonly accessKey: SecretKey; readonly secretKey: SecretKey } };

const ACCESS_KEY_SECRETS = new Map<string, AccessKeySecret>();

/**
 * The Secret `<store>-<client>` with one client's S3 access key of an object store (MinIO). The
 * access key ID is random too, not the client's name: a bug that needs only a key ID
 * (CVE-2026-40344) then needs a guess nobody can make.
 */
export function accessKeySecret(store: string, client: string, purpose: string): AccessKeySecret {
  const name = `${store}-${client}`;
  const spec: AccessKeySecret = {
    name,
    description: `${store} access key of ${client}: ${purpose}`,
    keys: {
      accessKey: { key: 'access-key', source: 'random', description: `${client}'s ${store} access key ID (random)` },
      secretKey: { key: 'secret-key', source: 'random', description: `${client}'s ${store} secret key` },
    },
  };
  ACCESS_KEY_SECRETS.set(name, spec);
  return spec;
}

/** Every Secret the platform may reference: the fixed catalogue and the client credentials made so far. */
export function catalogueSecrets(): SecretSpec[] {
  const made: SecretSpec[] = [...CLIENT_SECRETS.values(), ...ACCESS_KEY_SECRETS.values()];
  return [...Object.values(SECRETS), ...made.sort((a, b) => a.name.localeCompare(b.name))];
}

/** A `secretKeyRef` for one key of a catalogued Secret. */
export function secretKeyRef(spec: SecretSpec, key: SecretKey): { secretKeyRef: { name: string; key: string } } {
  return { secretKeyRef: { name: spec.name, key: key.key } };
}

/**
 * The TLS certificate of the public API host (`edge.tlsSecretName`): a Secret of type
 * kubernetes.io/tls in the platform's namespace. With `edge.clusterIssuer` set, cert-manager
 * creates and renews it; otherwise it is created from the certificate files
 * (`kubectl create secret tls <name> --cert=... --key=...`).
 */
export function edgeTlsSecret(name: string): SecretSpec {
  return {
    name,
    type: 'kubernetes.io/tls',
    description: 'TLS certificate and key of the public API host',
    keys: {
      certificate: { key: 'tls.crt', source: 'prompt', description: 'PEM certificate chain for the API host' },
      privateKey: { key: 'tls.key', source: 'prompt', description: 'PEM private key of the certificate' },
    },
  };
}
