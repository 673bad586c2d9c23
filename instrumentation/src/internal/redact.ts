import type { AuditEvent } from '@otel-audit/contract';

export const REDACTED = '[REDACTED]';

/**
 * Names whose values must never leave the process. Matched against `changes[].field`
 * and `metadata` keys; the event keeps the name (what changed) but not the value.
 */
export const DEFAULT_REDACT = /pass(word|phrase)?|secret|token|api[-_]?key|private[-_]?key|credential|authorization|cookie/i;

export function redact(event: AuditEvent, pattern: RegExp): AuditEvent {
  const changes = event.changes?.map((c) =>
    pattern.test(c.field)
      ? { field: c.field, ...('from' in c ? { from: REDACTED } : {}), ...('to' in c ? { to: REDACTED } : {}) }
      : c,
  );
  const metadata = event.metadata
    ? Object.fromEntries(Object.entries(event.metadata).map(([k, v]) => [k, pattern.test(k) ? REDACTED : v]))
    : undefined;
  return { ...event, ...(changes ? { changes } : {}), ...(metadata ? { metadata } : {}) };
}
