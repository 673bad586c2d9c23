import type { HrTime } from '@opentelemetry/api';
import type { LogRecord } from '@opentelemetry/api-logs';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { fromLogRecord, toLogRecord, validateAuditEvent, type AuditEvent } from '@otel-audit/contract';
import type { BuiltEvent } from './build-event.js';

/**
 * What the delivery queue and the spool keep: the validated event itself, and the trace
 * flags of the span it was recorded in. One JSON line per record in the spool; `v` names
 * the shape so that a later version can read this one.
 */
export interface QueuedEvent extends BuiltEvent {
  v: 2;
}

export function queuedEvent(built: BuiltEvent): QueuedEvent {
  return built.traceFlags === undefined ? { v: 2, event: built.event } : { v: 2, event: built.event, traceFlags: built.traceFlags };
}

/**
 * The event as the SDK's exporter takes it. The time goes in as an HrTime made here from
 * the event's ISO text, never through the SDK's number handling: the SDK reads a number
 * below half of the process's time origin (mid-1998) as a performance.now() offset and
 * adds the origin to it, which once stored an event from 1995 in 2052.
 */
export function toReadableLogRecord(queued: QueuedEvent, resource: Resource, scope: { name: string; version?: string }, observed: HrTime): ReadableLogRecord {
  const { event } = queued;
  const wire = toLogRecord(event);
  return {
    hrTime: hrTimeOf(event.time),
    // The observed time is when this pipeline handed the record on: for a replayed or
    // imported event it is not the event's own time.
    hrTimeObserved: observed,
    eventName: wire.eventName,
    severityNumber: wire.severityNumber,
    severityText: wire.severityText,
    body: wire.body,
    attributes: wire.attributes,
    ...(event.traceId && event.spanId ? { spanContext: { traceId: event.traceId, spanId: event.spanId, traceFlags: queued.traceFlags ?? 0 } } : {}),
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
  };
}

/** For an application's own LoggerProvider (`loggerProvider: 'global'`): a `Date`, never the number. */
export function toEmittedLogRecord(event: AuditEvent): LogRecord {
  const wire = toLogRecord(event);
  return {
    eventName: wire.eventName,
    timestamp: new Date(event.time),
    severityNumber: wire.severityNumber,
    severityText: wire.severityText,
    ...(wire.body !== undefined ? { body: wire.body } : {}),
    attributes: wire.attributes,
  };
}

export function hrTimeOf(iso: string): HrTime {
  const millis = Date.parse(iso);
  const seconds = Math.floor(millis / 1000);
  return [seconds, (millis - seconds * 1000) * 1_000_000];
}

/** The spool's line reader: today's shape as it is, the older shape converted (see `fromLegacyRecord`). */
export function reviveQueuedEvent(parsed: unknown): QueuedEvent {
  const line = parsed as Partial<QueuedEvent> & Partial<LegacyQueuedRecord>;
  if (line.v === 2 && line.event) return line as QueuedEvent;
  return fromLegacyRecord(line as LegacyQueuedRecord);
}

/** The spool line of versions before the event was kept itself: the SDK's LogRecord fields. */
interface LegacyQueuedRecord {
  hrTime: HrTime;
  hrTimeObserved?: HrTime;
  eventName?: string;
  body?: unknown;
  attributes: Record<string, unknown>;
  spanContext?: { traceId: string; spanId: string; traceFlags: number };
}

/**
 * Reads an old line back into the event it was made from, with the collector's own
 * decoding (fromLogRecord), which inverts toLogRecord. A line that does not make a valid
 * event today is still sent as decoded, not dropped: the collector then keeps it as a
 * dead letter that names what is wrong.
 */
function fromLegacyRecord(line: LegacyQueuedRecord): QueuedEvent {
  const [seconds, nanos] = line.hrTime;
  const candidate = fromLogRecord({
    eventName: line.eventName,
    timestamp: seconds * 1000 + Math.round(nanos / 1_000_000),
    body: line.body,
    attributes: line.attributes,
    traceId: line.spanContext?.traceId,
    spanId: line.spanContext?.spanId,
  });
  const validation = validateAuditEvent(candidate);
  // `actor` is the one part the wire mapping reads without a guard: an empty one maps to no
  // attributes, and the collector names the missing actor.id instead of the export throwing
  // at the head of the queue on every attempt.
  const event = validation.ok ? validation.event : ({ ...candidate, actor: candidate.actor ?? {} } as unknown as AuditEvent);
  return line.spanContext && event.traceId ? { v: 2, event, traceFlags: line.spanContext.traceFlags } : { v: 2, event };
}
