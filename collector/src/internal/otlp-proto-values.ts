/**
 * Readers of decoded protobufjs messages of the OTLP protos, read field by field instead of
 * converted first to the JSON mapping (`toObject`): each gives what the JSON-mapping reader
 * of otlp-values.ts gives for that message's mapping, so a record decodes the same from
 * either encoding (collector/test/receive-path.property.test.ts holds the two together).
 */

/** A decoded message: set fields are own properties; unset ones read the prototype's default. */
export type Msg = { readonly [field: string]: unknown };

/** A 64-bit integer as protobufjs decodes it with the `long` package present; a number without it. */
interface Long {
  low: number;
  high: number;
  unsigned: boolean;
}

const hasOwn = (m: Msg, field: string) => Object.prototype.hasOwnProperty.call(m, field);

/** Whether the field was on the wire: what the JSON mapping (`toObject`, defaults off) writes. */
export function present(m: Msg, field: string): boolean {
  return hasOwn(m, field) && m[field] !== null && m[field] !== undefined;
}

/** Deeper array and kvlist values read as undefined, as in otlp-values.ts (a hostile body's stack). */
const MAX_VALUE_DEPTH = 32;

/** An AnyValue message's value; the oneof members in otlp-values.ts's order. */
export function messageValue(v: unknown, depth = 0): unknown {
  if (typeof v !== 'object' || v === null || depth > MAX_VALUE_DEPTH) return undefined;
  const m = v as Msg;
  if (present(m, 'stringValue')) return m.stringValue;
  if (present(m, 'boolValue')) return m.boolValue;
  if (present(m, 'intValue')) {
    const n = signedNumber(m.intValue);
    return Number.isFinite(n) ? n : undefined;
  }
  if (present(m, 'doubleValue')) return m.doubleValue;
  if (present(m, 'arrayValue')) return messageList(m.arrayValue, 'values').map((item) => messageValue(item, depth + 1));
  if (present(m, 'kvlistValue')) return messageKeyValues(messageList(m.kvlistValue, 'values'), depth + 1);
  // Empty bytes are "" in the mapping: a value, unlike an empty id.
  if (present(m, 'bytesValue')) return bytesText(m.bytesValue, 'base64') ?? '';
  return undefined;
}

/** A KeyValue list as an object (kvlist values); a key that was not on the wire is skipped, as the mapping leaves it out. */
export function messageKeyValues(list: readonly Msg[], depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list) if (present(kv, 'key')) out[kv.key as string] = messageValue(kv.value, depth);
  return out;
}

/** A repeated field (an empty one is the prototype's empty array). */
export function messageList(m: unknown, field: string): readonly Msg[] {
  const list = (m as Msg)[field];
  return Array.isArray(list) ? (list as Msg[]) : [];
}

/** `service.name` of a Resource message: the last one given, when it is a string. */
export function messageServiceName(resource: unknown): string | undefined {
  let name: unknown;
  for (const kv of messageList(resource, 'attributes')) if (present(kv, 'key') && kv.key === 'service.name') name = messageValue(kv.value);
  return typeof name === 'string' ? name : undefined;
}

/**
 * Milliseconds of a fixed64 nanosecond count, exactly (as the BigInt division of its
 * decimal text): 2^32 ns = 4294 ms + 967296 ns, so every part stays within a double's
 * integers. Undefined when the field was not on the wire.
 */
export function fixed64Millis(m: Msg, field: string): number | undefined {
  if (!present(m, field)) return undefined;
  const v = m[field] as Long | number;
  if (typeof v === 'number') return Math.floor(v / 1e6);
  const high = v.high >>> 0;
  const rest = high * 967_296 + (v.low >>> 0);
  return high * 4294 + (rest - (rest % 1e6)) / 1e6;
}

/** An int64 as a number, rounded as the number of its decimal text would be. */
function signedNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  const { low, high, unsigned } = v as Long;
  return (unsigned ? high >>> 0 : high) * 4_294_967_296 + (low >>> 0);
}

/** A `bytes` field as hex or base64 text; undefined when empty or not on the wire. */
export function bytesText(v: unknown, encoding: 'hex' | 'base64'): string | undefined {
  if (!(v instanceof Uint8Array) || v.length === 0) return undefined;
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString(encoding);
}
