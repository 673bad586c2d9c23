import type { ReceivedLogRecord } from '@otel-audit/contract';
import { CollectorError } from '../errors.js';
import { originalRecord } from './original-record.js';
import { anyValue, idHex, isObject, keyValues, listAt, nanosAsSent, nanosToMillis, type IdEncoding } from './otlp-values.js';

// The value readers live in otlp-values.ts, shared with the traces decoder, so an audit
// event reads the same whichever signal carried it.
export type { IdEncoding } from './otlp-values.js';

/**
 * Decodes an OTLP/JSON ExportLogsServiceRequest (opentelemetry-proto, JSON mapping:
 * lowerCamelCase keys, 64-bit integers as decimal strings or numbers, unknown fields
 * ignored). A body whose structure is wrong is a 400; a single odd value inside a
 * record is left undefined and the contract validation names the field instead.
 */
export function decodeOtlpJson(body: unknown): ReceivedLogRecord[] {
  return recordsFromJsonMapping(body, 'OTLP/JSON', 'hex');
}

/**
 * Reads an ExportLogsServiceRequest given in the protobuf JSON mapping, whatever the
 * wire encoding was: the protobuf decoder produces that same mapping with protobufjs'
 * `toObject`, so both encodings share this one reading and cannot drift apart.
 * `encoding` only names the format in error messages; `ids` says how trace and span ids
 * are written.
 */
export function recordsFromJsonMapping(body: unknown, encoding: string, ids: IdEncoding): ReceivedLogRecord[] {
  const bad = (message: string) => new CollectorError('AUDIT_ERR_BAD_REQUEST', `invalid ${encoding} logs request: ${message}`);
  if (!isObject(body)) throw bad('body must be a JSON object');
  const records: ReceivedLogRecord[] = [];
  for (const [i, rl] of listAt(body, 'resourceLogs', 'resourceLogs', bad).entries()) {
    const resource = isObject(rl.resource) ? keyValues(rl.resource.attributes) : {};
    const serviceName = typeof resource['service.name'] === 'string' ? resource['service.name'] : undefined;
    for (const [j, sl] of listAt(rl, 'scopeLogs', `resourceLogs[${i}].scopeLogs`, bad).entries()) {
      for (const lr of listAt(sl, 'logRecords', `resourceLogs[${i}].scopeLogs[${j}].logRecords`, bad)) {
        records.push({
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
          original: originalRecord(rl, sl, lr, ids),
        });
      }
    }
  }
  return records;
}
