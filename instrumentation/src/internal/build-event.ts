import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { EARLIEST_EVENT_TIME, redact, validateAuditEvent, withEventDefaults, xmlSafeDeep, type AuditEvent, type AuditEventInput } from '@otel-audit/contract';
import { v7 as uuidv7 } from 'uuid';
import { AuditError } from '../errors.js';
import { currentAuditContext } from '../request-context.js';

/** The validated event and what sending it needs beside it: the span's trace flags. */
export interface BuiltEvent {
  event: AuditEvent;
  traceFlags?: number | undefined;
}

/**
 * The input as the event the collector will store: defaults, the request context, the
 * active span's trace context, cleaning, redaction, validation. Throws
 * AUDIT_ERR_INVALID_EVENT naming each problem.
 */
export function buildEvent(input: AuditEventInput, redactPattern: RegExp): BuiltEvent {
  const requestContext = currentAuditContext();
  const time = input.time === undefined ? new Date() : new Date(input.time);
  const client = { ...requestContext?.client, ...input.client };
  // The span active when record() runs, as the SDK's Logger.emit would take it.
  const span = trace.getSpanContext(context.active());
  const traced = span && isSpanContextValid(span) ? span : undefined;
  // Defaults, cleaning and redaction are the contract's, which the collector applies to
  // every other sender's records too (fromLogRecord, redact), so both paths store the same.
  // Redacted before validation, as in the collector: a secret is never quoted or checked.
  const candidate = redact(
    withEventDefaults(
      xmlSafeDeep(
        stripUndefined({
          ...input,
          id: uuidv7(),
          time: Number.isNaN(time.getTime()) ? String(input.time) : time.toISOString(),
          // An empty object sends no attribute and comes back absent: left out here, the
          // event record() built is the event the collector stores (the wire property test).
          client: nonEmpty(client),
          request: nonEmpty(input.request),
          metadata: nonEmpty(input.metadata),
          sessionId: input.sessionId ?? requestContext?.sessionId,
          correlationId: input.correlationId ?? requestContext?.requestId,
          traceId: traced?.traceId,
          spanId: traced?.spanId,
        }),
      ),
    ),
    redactPattern,
  );
  const validation = validateAuditEvent(candidate);
  // The collector reads an earlier time as seconds or milliseconds sent by mistake and
  // refuses it; refused here, the caller learns it from record() instead of from a dead letter.
  const early = time < EARLIEST_EVENT_TIME ? [`time: ${time.toISOString()} is before ${EARLIEST_EVENT_TIME.toISOString()}, the earliest time an audit event may have`] : [];
  const result = validation.ok && early.length > 0 ? { ok: false as const, problems: early } : validation;
  if (!result.ok) {
    throw new AuditError('AUDIT_ERR_INVALID_EVENT', `invalid audit event: ${result.problems.join('; ')}`, {
      problems: result.problems,
      action: typeof input.action === 'string' ? input.action : undefined,
    });
  }
  return traced ? { event: result.event, traceFlags: traced.traceFlags } : { event: result.event };
}

function nonEmpty<T extends object>(value: T | undefined): T | undefined {
  return value && Object.values(value).some((v) => v !== undefined) ? value : undefined;
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
