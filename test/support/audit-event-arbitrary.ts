import fc from 'fast-check';
import { AUDIT_ACTIONS, AUDIT_CATEGORIES, AUDIT_OUTCOMES, isReservedAction, type AuditEvent, type AuditEventInput } from '@otel-audit/contract';

// Events for property tests of the mappings on the ingest path: every optional field present
// or not, empty objects and lists included, Unicode text, metadata of each type.
const short = (max: number) => fc.string({ maxLength: max, unit: 'grapheme' });
const nonEmpty = (max: number) => fc.string({ minLength: 1, maxLength: max, unit: 'grapheme' });
/** Lower-case hex of the given length, not all zeros (W3C trace context: an all-zero id is invalid). */
export const nonZeroHex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`)).filter((h) => /[1-9a-f]/.test(h));
const metadataValue = fc.oneof(short(50), fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean());

/** The fields a sender writes, shared by the stored event and the input to record(). */
const senderFields = {
  time: fc.date({ min: new Date('1973-03-03T09:46:40.000Z'), max: new Date('2199-12-31T23:59:59.999Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  action: fc.oneof(fc.constantFrom(...Object.keys(AUDIT_ACTIONS)), fc.stringMatching(/^[a-z][a-z0-9_]{0,10}(\.[a-z][a-z0-9_]{0,10}){1,3}$/)),
  category: fc.constantFrom(...AUDIT_CATEGORIES),
  outcome: fc.constantFrom(...AUDIT_OUTCOMES),
  reason: short(40),
  actor: fc.record(
    { id: nonEmpty(20), name: short(20), type: fc.constantFrom('user', 'service', 'system'), email: short(20), roles: fc.array(nonEmpty(10), { maxLength: 3 }) },
    { requiredKeys: ['id', 'type'] },
  ),
  client: fc.record({ ip: short(20), userAgent: short(40) }, { requiredKeys: [] }),
  sessionId: short(20),
  workspace: fc.record({ id: nonEmpty(20), name: short(20) }, { requiredKeys: ['id'] }),
  resource: fc.record({ type: nonEmpty(20), id: short(20), name: short(20), href: short(40) }, { requiredKeys: ['type'] }),
  changes: fc.array(fc.record({ field: fc.stringMatching(/^[a-z][a-z_]{0,15}$/), from: fc.jsonValue({ maxDepth: 2 }), to: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ['field'] }), { maxLength: 3 }),
  request: fc.record({ id: short(20), parentId: short(20) }, { requiredKeys: [] }),
  correlationId: short(20),
  message: short(60),
  metadata: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/), metadataValue, { maxKeys: 5 }),
};

/** A stored event: the sender's fields plus what the pipeline adds (id, service, trace ids). */
export const auditEventArbitrary: fc.Arbitrary<AuditEvent> = fc.record(
  { id: fc.uuid({ version: 7 }), ...senderFields, service: fc.record({ name: nonEmpty(20) }), traceId: nonZeroHex(32), spanId: nonZeroHex(16) },
  { requiredKeys: ['id', 'time', 'action', 'category', 'outcome', 'actor'] },
) as fc.Arbitrary<AuditEvent>;

/**
 * What an application hands record(): no id, service or trace ids (record() adds them), only
 * action, category and actor required, and no reserved action (the collector refuses those from any service but the audit log's own).
 */
export const auditEventInputArbitrary: fc.Arbitrary<AuditEventInput> = fc.record(
  { ...senderFields, action: senderFields.action.filter((a) => !isReservedAction(a)) },
  { requiredKeys: ['action', 'category', 'actor'] },
) as fc.Arbitrary<AuditEventInput>;

/** The event less its objects without members: what a store that writes no empty objects gives back. */
export function withoutEmptyObjects(e: AuditEvent): AuditEvent {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(e)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && key !== 'changes' && Object.keys(value).length === 0) continue;
    out[key] = value;
  }
  return out as AuditEvent;
}
