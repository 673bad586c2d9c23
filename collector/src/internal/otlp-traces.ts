import { actionDefinition, type ReceivedLogRecord } from '@otel-audit/contract';
import { CollectorError } from '../errors.js';
import { idHex, isObject, keyValues, listAt, nanosAsSent, nanosToMillis, type IdEncoding, type Obj } from './otlp-values.js';

/**
 * The span-event attribute that makes any span event an audit event and names its
 * action; the event's own name is then free (an application's own vocabulary).
 */
export const AUDIT_ACTION_ATTRIBUTE = 'audit.action';

/** What a traces request holds for the audit log, and what it held besides. */
export interface TraceReading {
  /** One record per audit span event, in request order. */
  records: ReceivedLogRecord[];
  /** `spanOfRecord[i]` is the index (over the whole request) of the span that carried `records[i]`. */
  spanOfRecord: number[];
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
 * log record's (the contract's ATTR table), its time is the span event's time, and it
 * carries the span's trace and span ids. Everything else in the request is ignored.
 * `encoding` only names the format in error messages; `ids` says how trace and span ids
 * are written (base64 is the protobuf JSON mapping's rule; OTLP/JSON writes hex).
 */
export function recordsFromTraceMapping(mapping: unknown, encoding: string, ids: IdEncoding = 'base64'): ReceivedLogRecord[] {
  return readTraceMapping(mapping, encoding, ids).records;
}

/** `recordsFromTraceMapping` with what a receiver needs to count spans and answer. */
export function readTraceMapping(mapping: unknown, encoding: string, ids: IdEncoding): TraceReading {
  const bad = (message: string) => new CollectorError('AUDIT_ERR_BAD_REQUEST', `invalid ${encoding} traces request: ${message}`);
  if (!isObject(mapping)) throw bad('body must be a JSON object');
  const reading: TraceReading = { records: [], spanOfRecord: [], spans: 0, ignoredSpans: 0, ignoredEvents: 0, spansWithActionAttribute: 0 };
  for (const [i, rs] of listAt(mapping, 'resourceSpans', 'resourceSpans', bad).entries()) {
    const resource = isObject(rs.resource) ? keyValues(rs.resource.attributes) : {};
    const serviceName = typeof resource['service.name'] === 'string' ? resource['service.name'] : undefined;
    for (const [j, ss] of listAt(rs, 'scopeSpans', `resourceSpans[${i}].scopeSpans`, bad).entries()) {
      for (const [k, span] of listAt(ss, 'spans', `resourceSpans[${i}].scopeSpans[${j}].spans`, bad).entries()) {
        const spanIndex = reading.spans;
        reading.spans += 1;
        const events = listAt(span, 'events', `resourceSpans[${i}].scopeSpans[${j}].spans[${k}].events`, bad);
        const traceId = idHex(span.traceId, ids);
        const spanId = idHex(span.spanId, ids);
        let audited = 0;
        for (const event of events) {
          const attributes = keyValues(event.attributes);
          const action = auditAction(event.name, attributes);
          if (action === undefined) {
            reading.ignoredEvents += 1;
            continue;
          }
          audited += 1;
          reading.spanOfRecord.push(spanIndex);
          // A span event always has a time in practice; should one come without, the end
          // of its span is the latest moment it can have happened, as a log record
          // without time falls back on when it was observed.
          const observed = span.endTimeUnixNano ?? span.startTimeUnixNano;
          const record: ReceivedLogRecord = {
            eventName: typeof action === 'string' ? action : undefined,
            timestamp: nanosToMillis(event.timeUnixNano),
            observedTimestamp: nanosToMillis(observed),
            timeUnixNano: nanosAsSent(event.timeUnixNano),
            observedTimeUnixNano: nanosAsSent(observed),
            attributes,
            serviceName,
            traceId,
            spanId,
          };
          record.original = originalOf(rs, ss, record, event);
          reading.records.push(record);
        }
        if (audited === 0) {
          reading.ignoredSpans += 1;
          if (AUDIT_ACTION_ATTRIBUTE in keyValues(span.attributes)) reading.spansWithActionAttribute += 1;
        }
      }
    }
  }
  return reading;
}

/**
 * The action of an audit span event, or undefined for a span event that is not one. The
 * attribute wins over the name: it is the explicit statement. A non-string or empty
 * attribute still makes an audit event (`null`: no action), so that validation refuses it
 * where the sender sees it (partial success, dead letter) instead of it vanishing as "not
 * audit".
 */
function auditAction(name: unknown, attributes: Record<string, unknown>): string | null | undefined {
  if (AUDIT_ACTION_ATTRIBUTE in attributes) {
    const value = attributes[AUDIT_ACTION_ATTRIBUTE];
    return typeof value === 'string' && value !== '' ? value : null;
  }
  return typeof name === 'string' && actionDefinition(name) !== undefined ? name : undefined;
}

/**
 * The audit event as received, for the dead-letter store: the one-record OTLP/JSON logs
 * request it stands for under this convention (resource and scope as sent; the event's
 * name, time and attributes as sent; the action as read; the span's ids in hex). The
 * dead-letter store's redaction and `dead-letters replay` read logs requests, so a refused
 * span event is redacted and replayed as any refused log record is.
 */
function originalOf(rs: Obj, ss: Obj, record: ReceivedLogRecord, event: Obj): Obj {
  const logRecord: Obj = {
    ...(record.eventName !== undefined ? { eventName: record.eventName } : {}),
    ...(event.timeUnixNano !== undefined ? { timeUnixNano: event.timeUnixNano } : {}),
    ...(record.observedTimeUnixNano !== undefined ? { observedTimeUnixNano: record.observedTimeUnixNano } : {}),
    ...(event.attributes !== undefined ? { attributes: event.attributes } : {}),
    ...(record.traceId !== undefined ? { traceId: record.traceId } : {}),
    ...(record.spanId !== undefined ? { spanId: record.spanId } : {}),
  };
  return {
    resourceLogs: [
      {
        ...(rs.resource !== undefined ? { resource: rs.resource } : {}),
        scopeLogs: [{ ...(ss.scope !== undefined ? { scope: ss.scope } : {}), logRecords: [logRecord] }],
      },
    ],
  };
}
