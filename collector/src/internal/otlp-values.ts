/**
 * Readers of the protobuf JSON mapping shared by every OTLP signal the collector decodes
 * (logs, traces): one reading of attribute values, times and ids, so that an audit
 * event's fields come out the same whichever signal carried it.
 */
import type { CollectorError } from '../errors.js';

export type Obj = Record<string, unknown>;

/**
 * How `bytes` fields (trace and span ids) are written in the mapping: OTLP/JSON writes
 * them as hex, against the protobuf JSON mapping's rule (base64), which is what
 * protobufjs' `toObject` produces from the binary encoding.
 */
export type IdEncoding = 'hex' | 'base64';

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An absent list is empty (proto3 default); a list of the wrong shape is an error. */
export function listAt(parent: Obj, key: string, path: string, bad: (message: string) => CollectorError): Obj[] {
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

export function keyValues(list: unknown, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!Array.isArray(list)) return out;
  for (const kv of list) {
    if (isObject(kv) && typeof kv.key === 'string') out[kv.key] = anyValue(kv.value, depth);
  }
  return out;
}

/** `service.name` of a resource's attributes: the last one given, when it is a string. */
export function serviceNameOf(attributes: unknown): string | undefined {
  let name: unknown;
  if (Array.isArray(attributes)) {
    for (const kv of attributes) if (isObject(kv) && kv.key === 'service.name') name = anyValue(kv.value);
  }
  return typeof name === 'string' ? name : undefined;
}

export function anyValue(v: unknown, depth = 0): unknown {
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

export function nanosToMillis(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.floor(v / 1e6) : undefined;
  // The digits less the last six are the whole milliseconds, exactly (at most 14 digits,
  // within a double's integers), without a BigInt division per record.
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return v.length > 6 ? Number(v.slice(0, -6)) : 0;
  return undefined;
}

/**
 * The count as sent, in decimal digits, so that a time in seconds or milliseconds is
 * named by the value the sender wrote (timeUnitProblem). Negative numbers are kept for
 * it to refuse; `nanosToMillis` alone would make -1 a valid 1969 time.
 */
export function nanosAsSent(v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)).toString() : undefined;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return BigInt(v).toString();
  return undefined;
}

/**
 * A trace or span id as hex text, whatever the encoding; LogRecordFields checks its length
 * and drops an all-zero or malformed one, so nothing here refuses a record.
 */
export function idHex(v: unknown, ids: IdEncoding): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  if (ids === 'hex') return v;
  // Buffer.from skips characters outside the alphabet; a strict check keeps "ab!cd" from
  // passing as a shorter valid id.
  return /^[A-Za-z0-9+/]*={0,2}$/.test(v) ? Buffer.from(v, 'base64').toString('hex') : undefined;
}
