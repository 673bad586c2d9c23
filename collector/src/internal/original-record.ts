import { REDACTED, redact } from '@otel-audit/contract';

type Obj = Record<string, unknown>;

/**
 * The record as the sender sent it, for the dead-letter store: a one-record OTLP/JSON
 * request with the record's resource and scope (each left out when undefined), so an
 * operator sees the attributes as written (a misspelt `audit.catgory` included) and
 * `dead-letters replay` can decode it again. Receivers call it only for a refused record,
 * with the parts in the JSON mapping and trace and span ids in hex, as OTLP/JSON writes
 * them, so every original decodes one way.
 */
export function originalRecord(resource: unknown, scope: unknown, record: Obj): Obj {
  return {
    resourceLogs: [
      {
        ...(resource !== undefined ? { resource } : {}),
        scopeLogs: [{ ...(scope !== undefined ? { scope } : {}), logRecords: [record] }],
      },
    ],
  };
}

/**
 * The original with the values the redaction rule names replaced, as the collector does
 * for the mapped event: a secret must not survive in the dead letter's copy as sent.
 * A key is tested whole and by its last part (`audit.metadata.password`, and a misspelt
 * `audit.metdata.password` too); `audit.changes` is redacted entry by entry.
 */
export function redactOriginal(original: unknown, pattern: RegExp): unknown {
  const secret = (key: string) => key.search(pattern) !== -1 || key.slice(key.lastIndexOf('.') + 1).search(pattern) !== -1;
  const walkRecord = (lr: unknown): unknown => {
    if (!isObject(lr) || !Array.isArray(lr.attributes)) return lr;
    return {
      ...lr,
      attributes: lr.attributes.map((kv: unknown) => {
        if (!isObject(kv) || typeof kv.key !== 'string') return kv;
        if (kv.key === 'audit.changes' && isObject(kv.value) && typeof kv.value.stringValue === 'string') {
          try {
            const changes: unknown = JSON.parse(kv.value.stringValue);
            return { ...kv, value: { stringValue: JSON.stringify(redact({ changes }, pattern).changes) } };
          } catch {
            return kv;
          }
        }
        return secret(kv.key) ? { ...kv, value: { stringValue: REDACTED } } : kv;
      }),
    };
  };
  if (!isObject(original) || !Array.isArray(original.resourceLogs)) return original;
  return {
    ...original,
    resourceLogs: original.resourceLogs.map((rl: unknown) =>
      isObject(rl) && Array.isArray(rl.scopeLogs)
        ? {
            ...rl,
            scopeLogs: rl.scopeLogs.map((sl: unknown) =>
              isObject(sl) && Array.isArray(sl.logRecords) ? { ...sl, logRecords: sl.logRecords.map(walkRecord) } : sl,
            ),
          }
        : rl,
    ),
  };
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
