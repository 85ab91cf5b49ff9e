import { ENVIRONMENTS } from './environments';
import { ENVIRONMENT_NAMES, EnvironmentName, ImageRef, PlatformConfig } from './types';
import { DIGEST_PATTERN, TAG_PATTERN, validateConfig } from './validate';

/** Bad input: the message names the variable, the value received and what is allowed. */
export class ConfigError extends Error {
  public override readonly name = 'ConfigError';
}

/** The variables `loadConfig` reads; everything else in the environment is ignored. */
export interface ConfigInputs {
  /** `production` (default), `staging` or `development`. */
  readonly QINGYU_ENV?: string;
  /** Tag or `sha256:` digest for every application image. */
  readonly QINGYU_IMAGE_TAG?: string;
  /**
   * A JSON object merged into the environment's configuration, for a one-off variant (the real
   * node runs development with `{"apps":{"go-backend":{"replicas":3,"maxReplicas":4},...}}`):
   * objects merge key by key, other values replace. Only existing settings can be set, each with
   * a value of its type.
   */
  readonly QINGYU_CONFIG_OVERRIDES?: string;
}

export const DEFAULT_ENVIRONMENT: EnvironmentName = 'production';

/** Parses an image version override: a tag, or a digest rendered as `@sha256:...`. */
export function parseImageVersion(variable: string, value: string): Pick<ImageRef, 'tag' | 'digest'> {
  if (value.startsWith('sha256:')) {
    if (!DIGEST_PATTERN.test(value)) {
      throw new ConfigError(
        `${variable}: invalid digest '${value}'; expected 'sha256:' followed by 64 lowercase hex characters`,
      );
    }
    return { digest: value };
  }
  if (!TAG_PATTERN.test(value)) {
    throw new ConfigError(
      `${variable}: invalid image tag '${value}'; expected a tag matching [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} or a digest sha256:<64 hex>`,
    );
  }
  if (value === 'latest') {
    throw new ConfigError(
      `${variable}: 'latest' is not allowed; deploy an immutable version (a release tag or sha256:<64 hex>)`,
    );
  }
  return { tag: value };
}

function blankToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/**
 * Builds and validates the configuration selected by the inputs.
 * @throws ConfigError on an unknown environment, a malformed override or an invalid value.
 */
export function loadConfig(inputs: ConfigInputs): PlatformConfig {
  const envName = blankToUndefined(inputs.QINGYU_ENV) ?? DEFAULT_ENVIRONMENT;
  if (!(ENVIRONMENT_NAMES as readonly string[]).includes(envName)) {
    throw new ConfigError(
      `QINGYU_ENV: unknown environment '${envName}'; expected one of: ${ENVIRONMENT_NAMES.join(', ')}`,
    );
  }
  let config = ENVIRONMENTS[envName as EnvironmentName];

  const imageOverride = blankToUndefined(inputs.QINGYU_IMAGE_TAG);
  if (imageOverride !== undefined) {
    const version = parseImageVersion('QINGYU_IMAGE_TAG', imageOverride);
    const withVersion = (ref: ImageRef): ImageRef => ({ repository: ref.repository, ...version });
    // Every application service: the release CI builds and deploys together.
    const apps = Object.fromEntries(Object.entries(config.apps).map(([name, app]) => [name, { ...app, image: withVersion(app.image) }]));
    config = { ...config, apps };
  }

  const overrides = blankToUndefined(inputs.QINGYU_CONFIG_OVERRIDES);
  if (overrides !== undefined) config = applyOverrides(config, overrides);

  return checkConfig(config);
}

/** `config` with the JSON object `text` merged in; refuses a key or a type the config does not have. */
export function applyOverrides(config: PlatformConfig, text: string): PlatformConfig {
  const variable = 'QINGYU_CONFIG_OVERRIDES';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${variable}: not valid JSON (${(error as Error).message}); expected an object such as {"redis":{"maxMemoryMiB":256}}`);
  }
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  const merge = (base: unknown, over: unknown, path: string): unknown => {
    if (kind(over) !== kind(base)) {
      throw new ConfigError(`${variable}: '${path || '(top)'}' must be ${kind(base) === 'object' ? 'an object' : `a${kind(base) === 'array' ? 'n' : ''} ${kind(base)}`}, got ${JSON.stringify(over)}`);
    }
    if (kind(over) !== 'object') return over;
    const result: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [key, value] of Object.entries(over as Record<string, unknown>)) {
      const at = path ? `${path}.${key}` : key;
      if (!(key in result)) {
        throw new ConfigError(`${variable}: unknown setting '${at}'; expected one of: ${Object.keys(result).join(', ')}`);
      }
      result[key] = merge(result[key], value, at);
    }
    return result;
  };
  return merge(config, parsed, '') as PlatformConfig;
}

/**
 * `config`, if its formats are valid (validateConfig); else a ConfigError with the first problem
 * on one line and the number of the others.
 */
export function checkConfig(config: PlatformConfig): PlatformConfig {
  const problems = validateConfig(config);
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    throw new ConfigError(`${problems[0]}${more}`);
  }
  return config;
}
