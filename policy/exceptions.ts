import { PolicyException } from './rules';

/**
 * Findings we accept on purpose. Each names the rule, the object (`Kind/name[/container]`)
 * and why. Keep this list short: an exception is a decision someone must be able to revisit.
 */
export const EXCEPTIONS: readonly PolicyException[] = [];
