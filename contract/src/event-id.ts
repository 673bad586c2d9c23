import { createHash } from 'node:crypto';
import stableStringify from 'safe-stable-stringify';
import { MAX, NIL, stringify } from 'uuid';
import type { ReceivedLogRecord } from './otel-mapping.js';

// Versions the derivation: a change to what is hashed must not reuse the old ids' space.
const DERIVATION = 'otel-audit/log-record/v1\n';

/**
 * The id of the event a received record holds: its `log.record.uid` in lower case, or,
 * when it has none, one derived from its content (derivedEventId). The nil and max UUIDs
 * count as none: they identify nothing, and storing them as given would let every such
 * record after the first be dropped as its duplicate. Anything else (a number, a ULID)
 * is returned as given, for validation to refuse by name. `received` is asked for the
 * record only when the id is derived: a decoder builds that shape for no other reason.
 */
export function eventIdOf(uid: unknown, received: () => ReceivedLogRecord): unknown {
  if (uid === undefined || uid === '') return derivedEventId(received());
  if (typeof uid !== 'string') return uid;
  const id = uid.toLowerCase();
  return id === NIL || id === MAX ? derivedEventId(received()) : id;
}

/**
 * A UUIDv8 (RFC 9562 appendix B.2: name-based, SHA-256) over every field of the record as
 * received: resource service.name, event name, both times in nanoseconds as sent, body,
 * every attribute (mapped or not), trace context. The same record resent by a retrying
 * SDK gets the same id, so the store keeps it once; records that differ in anything they
 * carry get different ids (122 bits of SHA-256), even two log-ons by one user in the
 * same millisecond that differ only in an attribute the event does not keep. Keys are
 * sorted so the attribute order a sender uses does not matter.
 */
export function derivedEventId(record: ReceivedLogRecord): string {
  // `original` repeats the same content in whatever form a receiver keeps; left out so a
  // record's id does not depend on which receiver took it.
  const content: string = stableStringify({ ...record, original: undefined } as object);
  const hash = createHash('sha256').update(DERIVATION).update(content).digest();
  const bytes = Uint8Array.from(hash.subarray(0, 16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return stringify(bytes);
}
