export const REDACTED = '[REDACTED]';

/**
 * Names whose values must never reach the store. Matched against `changes[].field`
 * and `metadata` keys; the event keeps the name (what changed) but not the value.
 */
export const DEFAULT_REDACT = /pass(word|phrase)?|secret|token|api[-_]?key|private[-_]?key|credential|authorization|cookie/i;

/**
 * Replaces the values of the `changes` entries and `metadata` keys the pattern names by
 * `[REDACTED]`. Both the Node package (`record()`) and the collector (every sender) run it,
 * before validation, so a secret is neither stored nor kept in a dead letter nor quoted in
 * an error. It takes a candidate as received, any shape: what is not a change or a
 * metadata object is left for validation to name.
 */
export function redact<T extends Record<string, unknown>>(candidate: T, pattern: RegExp): T {
  // search(), not test(): it ignores a `g` or `y` flag's lastIndex, which would make
  // test() skip every other match.
  const secret = (name: unknown) => typeof name === 'string' && name.search(pattern) !== -1;
  const { changes, metadata } = candidate;
  return {
    ...candidate,
    ...(Array.isArray(changes)
      ? {
          changes: changes.map((c: unknown) =>
            isObject(c) && secret(c.field)
              ? { ...c, ...('from' in c ? { from: REDACTED } : {}), ...('to' in c ? { to: REDACTED } : {}) }
              : c,
          ),
        }
      : {}),
    ...(isObject(metadata)
      ? { metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, secret(k) ? REDACTED : v])) }
      : {}),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
