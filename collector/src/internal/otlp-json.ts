import type { ReceivedLogRecord } from '@otel-audit/contract';
import { CollectorError } from '../errors.js';
import { originalRecord } from './original-record.js';

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
 * How `bytes` fields (a LogRecord's `traceId`, `spanId`) are written in the mapping:
 * OTLP/JSON writes trace and span ids as hex, against the protobuf JSON mapping's rule
 * (base64), which is what protobufjs' `toObject` produces from the binary encoding.
 */
export type IdEncoding = 'hex' | 'base64';

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

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An absent list is empty (proto3 default); a list of the wrong shape is an error. */
function listAt(parent: Obj, key: string, path: string, bad: (message: string) => CollectorError): Obj[] {
  const value = parent[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every(isObject)) throw bad(`${path} must be an array of objects`);
  return value;
}

/**
 * How deep array and kvlist values are read. An audit event holds scalars and lists of
 * them, so nothing valid comes near this; it keeps a hostile body (a value nested
 * 100,000 levels deep fits in a few hundred kilobytes) from overflowing the stack.
 * Deeper values read as undefined and validation names the field.
 */
const MAX_VALUE_DEPTH = 32;

function keyValues(list: unknown, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!Array.isArray(list)) return out;
  for (const kv of list) {
    if (isObject(kv) && typeof kv.key === 'string') out[kv.key] = anyValue(kv.value, depth);
  }
  return out;
}

function anyValue(v: unknown, depth = 0): unknown {
  if (!isObject(v) || depth > MAX_VALUE_DEPTH) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) {
    const n = Number(v.intValue);
    return Number.isFinite(n) ? n : undefined;
  }
  if ('doubleValue' in v) return typeof v.doubleValue === 'number' ? v.doubleValue : Number(v.doubleValue);
  if ('arrayValue' in v) {
    const values = isObject(v.arrayValue) && Array.isArray(v.arrayValue.values) ? v.arrayValue.values : [];
    return values.map((item) => anyValue(item, depth + 1));
  }
  if ('kvlistValue' in v) return isObject(v.kvlistValue) ? keyValues(v.kvlistValue.values, depth + 1) : {};
  if ('bytesValue' in v) return v.bytesValue;
  return undefined;
}

/**
 * A trace or span id as hex text, whatever the encoding; fromLogRecord checks its length
 * and drops an all-zero or malformed one, so nothing here refuses a record.
 */
function idHex(v: unknown, ids: IdEncoding): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  if (ids === 'hex') return v;
  // Buffer.from skips characters outside the alphabet; a strict check keeps "ab!cd" from
  // passing as a shorter valid id.
  return /^[A-Za-z0-9+/]*={0,2}$/.test(v) ? Buffer.from(v, 'base64').toString('hex') : undefined;
}

/**
 * The count as sent, in decimal digits, so that a time in seconds or milliseconds is
 * named by the value the sender wrote (timeUnitProblem). Negative numbers are kept for
 * it to refuse; `nanosToMillis` alone would make -1 a valid 1969 time.
 */
function nanosAsSent(v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)).toString() : undefined;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return BigInt(v).toString();
  return undefined;
}

function nanosToMillis(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.floor(v / 1e6) : undefined;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return Number(BigInt(v) / 1_000_000n);
  return undefined;
}
