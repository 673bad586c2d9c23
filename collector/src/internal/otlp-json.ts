import { LogRecordFields, type ReceivedLogRecord } from '@otel-audit/contract';
import { CollectorError } from '../errors.js';
import { originalRecord } from './original-record.js';
import { timeProblemOf, type ReceivedRecord } from './received-record.js';
import { anyValue, idHex, isObject, keyValues, listAt, nanosAsSent, nanosToMillis, serviceNameOf, type IdEncoding, type Obj } from './otlp-values.js';

/**
 * Decodes an OTLP/JSON ExportLogsServiceRequest (opentelemetry-proto, JSON mapping:
 * lowerCamelCase keys, 64-bit integers as decimal strings or numbers, trace and span ids
 * in hex, unknown fields ignored) straight into candidate events: each attribute goes to
 * its event field as it is read (LogRecordFields), with no attribute map in between. A
 * body whose structure is wrong is a 400; a single odd value inside a record is left
 * undefined and the contract validation names the field instead. `encoding` names the
 * format in error messages (`dead-letters replay` reads a dead letter's original with it).
 */
export function decodeOtlpJson(body: unknown, encoding = 'OTLP/JSON'): ReceivedRecord[] {
  const bad = (message: string) => new CollectorError('AUDIT_ERR_BAD_REQUEST', `invalid ${encoding} logs request: ${message}`);
  if (!isObject(body)) throw bad('body must be a JSON object');
  const fields = new LogRecordFields();
  const records: ReceivedRecord[] = [];
  for (const [i, rl] of listAt(body, 'resourceLogs', 'resourceLogs', bad).entries()) {
    const serviceName = isObject(rl.resource) ? serviceNameOf(rl.resource.attributes) : undefined;
    for (const [j, sl] of listAt(rl, 'scopeLogs', `resourceLogs[${i}].scopeLogs`, bad).entries()) {
      for (const lr of listAt(sl, 'logRecords', `resourceLogs[${i}].scopeLogs[${j}].logRecords`, bad)) {
        records.push(readLogRecord(fields, lr, serviceName, () => originalRecord(rl.resource, sl.scope, lr)));
      }
    }
  }
  return records;
}

function readLogRecord(fields: LogRecordFields, lr: Obj, serviceName: string | undefined, original: () => unknown): ReceivedRecord {
  const received = () => receivedLogRecord(lr, serviceName, 'hex');
  fields.eventName = typeof lr.eventName === 'string' ? lr.eventName : undefined;
  fields.timestamp = nanosToMillis(lr.timeUnixNano);
  fields.observedTimestamp = nanosToMillis(lr.observedTimeUnixNano);
  fields.body = anyValue(lr.body);
  fields.serviceName = serviceName;
  fields.traceId = idHex(lr.traceId, 'hex');
  fields.spanId = idHex(lr.spanId, 'hex');
  const timeProblem = timeProblemOf(fields.timestamp, received);
  readAttributes(fields, lr.attributes);
  return { candidate: fields.candidate(received), serviceName, timeProblem, original };
}

/** Each attribute of a JSON-mapping list into `fields`, in the order sent. */
export function readAttributes(fields: LogRecordFields, attributes: unknown): void {
  if (!Array.isArray(attributes)) return;
  for (const kv of attributes) if (isObject(kv) && typeof kv.key === 'string') fields.attribute(kv.key, anyValue(kv.value));
}

/**
 * A log record of the JSON mapping as the contract's ReceivedLogRecord: every attribute,
 * mapped or not, both times as sent. Built only when a record needs it: to derive an id
 * from the record's whole content, or to read its times as sent.
 */
export function receivedLogRecord(lr: Obj, serviceName: string | undefined, ids: IdEncoding): ReceivedLogRecord {
  return {
    eventName: typeof lr.eventName === 'string' ? lr.eventName : undefined,
    timestamp: nanosToMillis(lr.timeUnixNano),
    observedTimestamp: nanosToMillis(lr.observedTimeUnixNano),
    timeUnixNano: nanosAsSent(lr.timeUnixNano),
    observedTimeUnixNano: nanosAsSent(lr.observedTimeUnixNano),
    body: anyValue(lr.body),
    attributes: keyValues(lr.attributes),
    serviceName,
    traceId: idHex(lr.traceId, ids),
    spanId: idHex(lr.spanId, ids),
  };
}
