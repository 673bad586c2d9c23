import { actionDefinition, LogRecordFields, type ReceivedLogRecord } from '@otel-audit/contract';
import { CollectorError } from '../errors.js';
import { originalRecord } from './original-record.js';
import { readAttributes } from './otlp-json.js';
import { anyValue, idHex, isObject, keyValues, listAt, nanosAsSent, nanosToMillis, serviceNameOf, type IdEncoding, type Obj } from './otlp-values.js';
import { timeProblemOf, type ReceivedRecord } from './received-record.js';

/**
 * The span-event attribute that makes any span event an audit event and names its
 * action; the event's own name is then free (an application's own vocabulary).
 */
export const AUDIT_ACTION_ATTRIBUTE = 'audit.action';

/** What a traces request holds for the audit log, and what it held besides. */
export interface TraceReading {
  /** One record per audit span event, in request order. */
  records: ReceivedRecord[];
  /** `spanOfRecord[i]` is the index (over the whole request) of the span that carried `records[i]`. */
  spanOfRecord: number[];
  /** `actionOfRecord[i]` is the action `records[i]` was found under (undefined: an `audit.action` that is no action). */
  actionOfRecord: (string | undefined)[];
  /** Spans in the request. */
  spans: number;
  /** Spans without any audit event: acknowledged, not stored. */
  ignoredSpans: number;
  /** Span events that are not audit events (exceptions, application events): not stored. */
  ignoredEvents: number;
  /**
   * Spans that carry `audit.action` as a span attribute: not audit events (only span events
   * are), which the sender is told in the answer's `error_message` as a warning.
   */
  spansWithActionAttribute: number;
}

/**
 * Reads the audit events out of an ExportTraceServiceRequest given in the protobuf JSON
 * mapping, whatever the wire encoding was (OTLP/JSON, or OTLP/protobuf and OTLP/gRPC by
 * way of protobufjs' `toObject`). A span event is an audit event when its name is a
 * catalogue action or it has an `audit.action` attribute; its attributes are read as a
 * log record's (LogRecordFields, the contract's ATTR table), its time is the span event's
 * time, and it carries the span's trace and span ids. Everything else in the request is
 * ignored. `encoding` only names the format in error messages; `ids` says how trace and
 * span ids are written (base64 is the protobuf JSON mapping's rule; OTLP/JSON writes hex).
 */
export function readTraceMapping(mapping: unknown, encoding: string, ids: IdEncoding): TraceReading {
  const bad = (message: string) => new CollectorError('AUDIT_ERR_BAD_REQUEST', `invalid ${encoding} traces request: ${message}`);
  if (!isObject(mapping)) throw bad('body must be a JSON object');
  const reading: TraceReading = { records: [], spanOfRecord: [], actionOfRecord: [], spans: 0, ignoredSpans: 0, ignoredEvents: 0, spansWithActionAttribute: 0 };
  const fields = new LogRecordFields();
  for (const [i, rs] of listAt(mapping, 'resourceSpans', 'resourceSpans', bad).entries()) {
    const serviceName = isObject(rs.resource) ? serviceNameOf(rs.resource.attributes) : undefined;
    for (const [j, ss] of listAt(rs, 'scopeSpans', `resourceSpans[${i}].scopeSpans`, bad).entries()) {
      for (const [k, span] of listAt(ss, 'spans', `resourceSpans[${i}].scopeSpans[${j}].spans`, bad).entries()) {
        const spanIndex = reading.spans;
        reading.spans += 1;
        const events = listAt(span, 'events', `resourceSpans[${i}].scopeSpans[${j}].spans[${k}].events`, bad);
        const context = { serviceName, traceId: idHex(span.traceId, ids), spanId: idHex(span.spanId, ids) };
        let audited = 0;
        for (const event of events) {
          const action = auditAction(event.name, event.attributes);
          if (action === undefined) {
            reading.ignoredEvents += 1;
            continue;
          }
          audited += 1;
          reading.spanOfRecord.push(spanIndex);
          reading.actionOfRecord.push(action ?? undefined);
          // A span event always has a time in practice; should one come without, the end
          // of its span is the latest moment it can have happened, as a log record
          // without time falls back on when it was observed.
          const observed = span.endTimeUnixNano ?? span.startTimeUnixNano;
          reading.records.push(readSpanEvent(fields, event, action ?? undefined, observed, context, () => [rs.resource, ss.scope]));
        }
        if (audited === 0) {
          reading.ignoredSpans += 1;
          if (hasAttribute(span.attributes, AUDIT_ACTION_ATTRIBUTE)) reading.spansWithActionAttribute += 1;
        }
      }
    }
  }
  return reading;
}

type SpanContext = { serviceName: string | undefined; traceId: string | undefined; spanId: string | undefined };

function readSpanEvent(fields: LogRecordFields, event: Obj, action: string | undefined, observed: unknown, span: SpanContext, parts: () => [unknown, unknown]): ReceivedRecord {
  const received = (): ReceivedLogRecord => ({
    eventName: action,
    timestamp: nanosToMillis(event.timeUnixNano),
    observedTimestamp: nanosToMillis(observed),
    timeUnixNano: nanosAsSent(event.timeUnixNano),
    observedTimeUnixNano: nanosAsSent(observed),
    attributes: keyValues(event.attributes),
    ...span,
  });
  Object.assign(fields, span);
  fields.eventName = action;
  fields.timestamp = nanosToMillis(event.timeUnixNano);
  fields.observedTimestamp = nanosToMillis(observed);
  const timeProblem = timeProblemOf(fields.timestamp, received);
  readAttributes(fields, event.attributes);
  return { candidate: fields.candidate(received), serviceName: span.serviceName, timeProblem, original: () => originalOf(parts(), received(), event) };
}

/**
 * The action of an audit span event, or undefined for a span event that is not one. The
 * attribute wins over the name: it is the explicit statement. A non-string or empty
 * attribute still makes an audit event (`null`: no action), so that validation refuses it
 * where the sender sees it (partial success, dead letter) instead of it vanishing as "not
 * audit".
 */
function auditAction(name: unknown, attributes: unknown): string | null | undefined {
  if (hasAttribute(attributes, AUDIT_ACTION_ATTRIBUTE)) {
    let value: unknown;
    for (const kv of attributes as unknown[]) if (isObject(kv) && kv.key === AUDIT_ACTION_ATTRIBUTE) value = anyValue(kv.value);
    return typeof value === 'string' && value !== '' ? value : null;
  }
  return typeof name === 'string' && actionDefinition(name) !== undefined ? name : undefined;
}

function hasAttribute(attributes: unknown, key: string): boolean {
  return Array.isArray(attributes) && attributes.some((kv) => isObject(kv) && kv.key === key);
}

/**
 * The audit event as received, for the dead-letter store: the one-record OTLP/JSON logs
 * request it stands for under this convention (resource and scope as sent; the event's
 * name, time and attributes as sent; the action as read; the span's ids in hex). The
 * dead-letter store's redaction and `dead-letters replay` read logs requests, so a refused
 * span event is redacted and replayed as any refused log record is.
 */
function originalOf([resource, scope]: [unknown, unknown], record: ReceivedLogRecord, event: Obj): Obj {
  const logRecord: Obj = {
    ...(record.eventName !== undefined ? { eventName: record.eventName } : {}),
    ...(event.timeUnixNano !== undefined ? { timeUnixNano: event.timeUnixNano } : {}),
    ...(record.observedTimeUnixNano !== undefined ? { observedTimeUnixNano: record.observedTimeUnixNano } : {}),
    ...(event.attributes !== undefined ? { attributes: event.attributes } : {}),
    ...(record.traceId !== undefined ? { traceId: record.traceId } : {}),
    ...(record.spanId !== undefined ? { spanId: record.spanId } : {}),
  };
  return originalRecord(resource, scope, logRecord);
}
