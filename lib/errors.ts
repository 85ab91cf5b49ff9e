import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Bad input, said once: a refused value ends the synth with one line that names the setting, the
 * value and what is allowed, exit code 2 and no stack trace.
 */

/**
 * A construct refused a prop value. The message names the prop, the value received and what is
 * allowed; the chart that mapped the configuration onto the prop prefixes the setting's path
 * (`fromSettings`), so that the user reads one line about what to change.
 */
export class PropError extends Error {
  public override readonly name = 'PropError';
}

/** A setting of the configuration that a construct refused: `config production.mongodb: 'replicas' must be odd...`. */
export class SettingError extends Error {
  public override readonly name = 'SettingError';
}

/**
 * Builds constructs from the settings under `path` (`config production.milvus.etcd`): a value a
 * construct refuses (`PropError`) is reported as that setting's error.
 */
export function fromSettings<T>(path: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof PropError) throw new SettingError(`${path}: ${error.message}`);
    throw error;
  }
}

/**
 * The file the app writes instead of manifests when it refuses its input under `cdk8s synth`
 * (which cannot be told "refused" without printing a stack trace of its own): the validation
 * plugin sees it and ends the synth with exit code 2 (policy/plugin.ts).
 */
export const FAILURE_MARKER = 'SYNTHESIS-FAILED.yaml';

/** The errors that are the user's input, not a bug: ConfigError (config/load.ts) and the two above. */
const INPUT_ERRORS = new Set(['ConfigError', 'SettingError', 'PropError']);

/** Whether `error` reports bad input (its message is the whole story). */
export function isInputError(error: unknown): error is Error {
  return error instanceof Error && INPUT_ERRORS.has(error.name);
}

/**
 * Ends the process for an error raised while composing: bad input as `error: <message>` with exit
 * code 2; anything else is a bug, reported with its stack and exit code 1.
 */
export function reportAndExit(error: unknown, cliOutdir?: string): never {
  if (isInputError(error)) {
    process.stderr.write(`error: ${error.message}\n`);
    if (cliOutdir) {
      // Under the cdk8s CLI a non-zero exit is reported with the CLI's own stack trace: leave the
      // marker for the validation plugin, which exits with 2, and let the CLI carry on to it.
      mkdirSync(cliOutdir, { recursive: true });
      writeFileSync(join(cliOutdir, FAILURE_MARKER), `# The app refused its input: ${error.message}\n`);
      process.exit(0);
    }
    process.exit(2);
  }
  process.stderr.write(`error: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
}
