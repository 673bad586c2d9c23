import { optionError } from './coded-error.js';

/**
 * The options among `keys` that are counts, sizes or durations: each the caller's value or,
 * when it gave none or `undefined`, its default (`??`: a spread of the options over the
 * defaults would let `undefined` wipe a default out, and a limit with it). Each must be a
 * positive safe integer; the first that is not is thrown as `optionError`, naming `factory`,
 * the option and its value.
 */
export function positiveIntegerOptions<K extends string>(
  factory: string,
  given: Partial<Record<K, number | undefined>>,
  defaults: NoInfer<Readonly<Record<K, number>>>,
  keys: readonly K[],
): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const key of keys) {
    const value = given[key] ?? defaults[key];
    if (!Number.isSafeInteger(value) || value < 1) throw optionError(factory, key, value, 'a positive integer');
    out[key] = value;
  }
  return out;
}
