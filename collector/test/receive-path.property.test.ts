import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ATTR, AUDIT_CATEGORIES, DEFAULT_REDACT, isReservedAction, redact, withEventDefaults, type AuditEvent } from '@otel-audit/contract';
import { decodeOtlpJson } from '../src/internal/otlp-json.js';
import { decodeOtlpProtobuf } from '../src/internal/otlp-proto.js';
import { redactOriginal } from '../src/internal/original-record.js';
import { checkRecord } from '../src/internal/receive-records.js';
import type { ReceivedRecord } from '../src/internal/received-record.js';
import type { Sender } from '../src/internal/sender-auth.js';
import { auditEventArbitrary } from '../../test/support/audit-event-arbitrary.js';
import { otlpJsonLogRecord } from '../../test/support/otlp-json.js';
import { protobufBody } from '../../test/support/otlp-proto.js';
import { previousCheckRecord, previousDecodeProtobuf, previousRecordsFromJsonMapping } from './previous-receive-path.js';

/*
 * The one-pass decoders (each attribute straight into its event field, the record as sent
 * built only for a refused record) against what they replaced (previous-receive-path.ts:
 * the JSON mapping, a ReceivedLogRecord with an attribute map, fromLogRecord), and OTLP in
 * → event out for events encoded by the contract's toLogRecord. The real SDK exporters'
 * encoding is instrumentation/test/wire-mapping.property.test.ts's.
 */

type Json = Record<string, unknown>;

/** A log record in the JSON mapping with its ids as bytes: hex for OTLP/JSON, bytes for protobuf. */
interface WireRecord extends Json {
  traceId?: Uint8Array;
  spanId?: Uint8Array;
}

/** toLogRecord's record on the wire, its ids as bytes. */
function wireRecord(event: AuditEvent): WireRecord {
  const { traceId, spanId, ...r } = otlpJsonLogRecord(event);
  return {
    ...r,
    ...(typeof traceId === 'string' ? { traceId: Buffer.from(traceId, 'hex') } : {}),
    ...(typeof spanId === 'string' ? { spanId: Buffer.from(spanId, 'hex') } : {}),
  };
}

function request(resources: { service?: unknown; records: WireRecord[] }[]): Json {
  return {
    resourceLogs: resources.map(({ service, records }) => ({
      ...(service !== undefined ? { resource: { attributes: [{ key: 'service.name', value: typeof service === 'string' ? { stringValue: service } : { intValue: String(service) } }] } } : {}),
      scopeLogs: [{ scope: { name: 'test', version: '1' }, logRecords: records }],
    })),
  };
}

/** The two encodings of one request: OTLP/JSON as a receiver parses it (ids in hex), and protobuf. */
function encodings(req: Json): { json: unknown; protobuf: Buffer } {
  const hexIds = (_key: string, v: unknown) =>
    v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('hex') : v;
  return { json: JSON.parse(JSON.stringify(req), hexIds), protobuf: protobufBody(req) };
}

/** What a receiver does with a record, as the old and new paths can both show it. */
function outcome(checked: ReturnType<typeof checkRecord>, original: () => unknown) {
  if (checked.ok) return { ok: true, event: checked.event, json: JSON.stringify(checked.event) };
  const { kind, candidate, reason } = checked;
  return { ok: false, kind, candidate, reason, json: JSON.stringify(candidate), original: original() };
}
function previousOutcome(checked: ReturnType<typeof previousCheckRecord>) {
  if (checked.ok) return { ok: true, event: checked.event, json: JSON.stringify(checked.event) };
  const { kind, candidate, reason, original } = checked;
  return { ok: false, kind, candidate, reason, json: JSON.stringify(candidate), original };
}

// ---- arbitrary records, valid or not ------------------------------------------------------

const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '\u0000', '\uD800', 'NaN', '00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF') },
);
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 5, arbitrary: text.map((stringValue) => ({ stringValue })) },
    fc.boolean().map((boolValue) => ({ boolValue })),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => ({ intValue: String(n) })),
    fc.double().map((doubleValue) => ({ doubleValue })),
    fc.array(tie('value'), { maxLength: 3 }).map((values) => ({ arrayValue: { values } })),
    fc.array(fc.record({ key: text, value: tie('value') }), { maxLength: 3 }).map((values) => ({ kvlistValue: { values } })),
    fc.uint8Array({ maxLength: 6 }).map((b) => ({ bytesValue: Buffer.from(b).toString('base64') })),
    fc.constant({}),
  ),
}));
const mapped = Object.values(ATTR).filter((k) => k !== ATTR.metadataPrefix);
const attributeKey = fc.oneof(
  fc.constantFrom(...mapped),
  text.map((k) => ATTR.metadataPrefix + k),
  fc.constantFrom('http.route', 'audit.catgory', 'audit.metadata.password', 'audit.metadata.api_key'),
);
const attributeValue = (key: string) =>
  key === ATTR.category
    ? fc.oneof(fc.constantFrom(...AUDIT_CATEGORIES).map((stringValue) => ({ stringValue })), value)
    : key === ATTR.changes
      ? fc.oneof(fc.jsonValue({ maxDepth: 2 }).map((v) => ({ stringValue: JSON.stringify(v) })), fc.constant({ stringValue: '[{"field":"token","from":1,"to":2}]' }), value)
      : value;
const extraAttributes = fc.array(attributeKey.chain((key) => attributeValue(key).map((v) => ({ key, value: v }))), { maxLength: 6 });
const nanos = fc.oneof(
  fc.bigInt({ min: 10n ** 17n, max: 4n * 10n ** 18n }),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  fc.constantFrom(0n, 1n, 999_999n, 1_764_000_000n, 1_764_000_000_000n, 1_764_000_000_000_000n),
);
const id = (bytes: number) => fc.oneof(fc.uint8Array({ minLength: bytes, maxLength: bytes }), fc.constant(new Uint8Array(bytes)), fc.uint8Array({ maxLength: 20 }));

/** A toLogRecord record, then changed the ways senders get records wrong. */
const senderRecord: fc.Arbitrary<WireRecord> = fc
  .record(
    {
      event: auditEventArbitrary,
      extra: extraAttributes,
      dropUid: fc.boolean(),
      dropEventName: fc.boolean(),
      time: fc.option(nanos, { nil: undefined }),
      observed: fc.option(nanos, { nil: undefined }),
      body: value,
      traceId: id(16),
      spanId: id(8),
      action: fc.constantFrom('audit_log.export', 'auth.login', 'Not An Action'),
    },
    { requiredKeys: ['event', 'extra'] },
  )
  .map(({ event, extra, dropUid, dropEventName, time, observed, body, traceId, spanId, action }) => {
    const r = wireRecord(action !== undefined ? { ...event, action } : event);
    let attributes = [...(r.attributes as Json[]), ...extra];
    if (dropUid) attributes = attributes.filter((kv) => kv.key !== ATTR.id);
    return {
      ...r,
      attributes,
      ...(dropEventName ? { eventName: '' } : {}),
      ...(time !== undefined ? { timeUnixNano: String(time) } : {}),
      ...(observed !== undefined ? { observedTimeUnixNano: String(observed) } : {}),
      ...(body !== undefined ? { body } : {}),
      ...(traceId !== undefined ? { traceId } : {}),
      ...(spanId !== undefined ? { spanId } : {}),
    };
  });
const senderRequest = fc.array(
  fc.record({ service: fc.option(fc.oneof(fc.constantFrom('billing', 'audit-log'), text, fc.integer()), { nil: undefined }), records: fc.array(senderRecord, { minLength: 1, maxLength: 3 }) }),
  { minLength: 1, maxLength: 2 },
);
const sender: fc.Arbitrary<Sender | undefined> = fc.constantFrom(undefined, { service: 'billing', authenticated: true, actions: ['auth.*'] });

// ---- properties -----------------------------------------------------------------------------

describe('the one-pass decoders', () => {
  it('agree with the previous receive path on any record: the event, or the dead letter (candidate, reason, original)', () => {
    fc.assert(
      fc.property(senderRequest, sender, (resources, from) => {
        const { json, protobuf } = encodings(request(resources));
        const cases: [() => ReceivedRecord[], () => ReturnType<typeof previousCheckRecord>[]][] = [
          [() => decodeOtlpJson(json), () => previousRecordsFromJsonMapping(json, 'hex').map((r) => previousCheckRecord(r, from))],
          [() => decodeOtlpProtobuf(protobuf), () => previousDecodeProtobuf(protobuf).map((r) => previousCheckRecord(r, from))],
        ];
        for (const [decode, previousDecode] of cases) {
          // A lone surrogate is no UTF-8: both refuse such a protobuf body, with protobufjs' words.
          const previous = attempt(previousDecode);
          const records = attempt(decode);
          if (previous instanceof Error || records instanceof Error) {
            expect(String(records)).toContain((previous as Error).message);
            continue;
          }
          expect(records).toHaveLength(previous.length);
          const now = records.map((r) => outcome(checkRecord(r, from), () => redactOriginal(r.original(), DEFAULT_REDACT)));
          expect(now).toEqual(previous.map(previousOutcome));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('OTLP in → event out: an event encoded by toLogRecord, as protobuf and as JSON, decodes to that event', () => {
    fc.assert(
      // Reserved actions are refused from any service but the audit log's own (sender-rules tests).
      fc.property(auditEventArbitrary.filter((e) => !isReservedAction(e.action)), (event) => {
        const service = event.service?.name;
        const { json, protobuf } = encodings(request([{ service, records: [wireRecord(event)] }]));
        // What record() would have stored for it: the defaults filled, secrets redacted.
        // Through JSON, as every store writes it (no -0) and as OTLP/JSON carries it.
        // A span id without its trace id is dropped (W3C: the pair is the span context).
        const traced = event.traceId === undefined ? { ...event, spanId: undefined } : event;
        const expected = JSON.parse(JSON.stringify(redact(withEventDefaults(traced), DEFAULT_REDACT))) as unknown;
        for (const records of [decodeOtlpJson(json), decodeOtlpProtobuf(protobuf)]) {
          expect(records).toHaveLength(1);
          const checked = checkRecord(records[0]!, undefined);
          expect(checked.ok).toBe(true);
          if (checked.ok) expect(JSON.parse(JSON.stringify(checked.event))).toEqual(withoutEmpty(expected));
        }
      }),
      { numRuns: 300 },
    );
  });
});

function attempt<T>(run: () => T): T | Error {
  try {
    return run();
  } catch (err) {
    return err as Error;
  }
}

/** Objects without a member travel as no attribute at all, so they come back absent. */
function withoutEmpty(e: unknown): unknown {
  return Object.fromEntries(
    Object.entries(e as Json).filter(([key, v]) => key === 'changes' || v === null || typeof v !== 'object' || Array.isArray(v) || Object.keys(v).length > 0),
  );
}
