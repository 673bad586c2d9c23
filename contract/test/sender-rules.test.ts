import { describe, expect, it } from 'vitest';
import {
  DEFAULT_REDACT,
  REDACTED,
  derivedEventId,
  fromLogRecord,
  redact,
  timeUnitProblem,
  validateAuditEvent,
  withEventDefaults,
  type ReceivedLogRecord,
} from '@otel-audit/contract';

const record = (over: Partial<ReceivedLogRecord> = {}): ReceivedLogRecord => ({
  eventName: 'auth.login',
  timestamp: 1_767_225_600_123,
  timeUnixNano: '1767225600123456789',
  attributes: { 'user.id': 'u-1' },
  serviceName: 'py-app',
  ...over,
});

describe('withEventDefaults: what a sender may leave out', () => {
  it('fills outcome, actor type, the catalogue category and message, and says when it failed', () => {
    expect(withEventDefaults({ action: 'auth.login', actor: { id: 'u-1' } })).toMatchObject({
      outcome: 'success',
      category: 'authentication',
      message: 'Logged on',
      actor: { id: 'u-1', type: 'user' },
    });
    expect(withEventDefaults({ action: 'auth.login', outcome: 'failure' }).message).toBe('Logged on (failed)');
    expect(withEventDefaults({ action: 'auth.login', message: '' }).message).toBe('Logged on');
  });

  it('keeps what the sender gave, and adds nothing for an action the catalogue does not know', () => {
    const given = { action: 'auth.login', outcome: 'unknown', category: 'session', message: 'custom', actor: { id: 's', type: 'service' } };
    expect(withEventDefaults(given)).toEqual(given);
    expect(withEventDefaults({ action: 'billing.refund' })).toEqual({ action: 'billing.refund', outcome: 'success' });
  });
});

describe('event ids from any sender', () => {
  it('lower-cases any RFC 9562 UUID, and derives one for none, an empty, a nil or a max id', () => {
    const v4 = 'C56A4180-65AA-42EC-A945-5FD21DEC0538';
    expect(fromLogRecord(record({ attributes: { 'user.id': 'u-1', 'log.record.uid': v4 } })).id).toBe(v4.toLowerCase());
    for (const uid of [undefined, '', '00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF']) {
      const r = record({ attributes: { 'user.id': 'u-1', ...(uid === undefined ? {} : { 'log.record.uid': uid }) } });
      expect(fromLogRecord(r).id).toBe(derivedEventId(r));
    }
  });

  it('accepts versions 1 to 8 and refuses other versions, variants and non-UUIDs by name', () => {
    for (const v of '12345678') {
      const id = `c56a4180-65aa-${v}2ec-a945-5fd21dec0538`;
      expect(validateAuditEvent(fromLogRecord(record({ attributes: { 'user.id': 'u-1', 'log.record.uid': id } }))).ok).toBe(true);
    }
    for (const id of ['c56a4180-65aa-92ec-a945-5fd21dec0538', 'c56a4180-65aa-42ec-c945-5fd21dec0538', '01ARZ3NDEKTSV4RRFFQ69G5FAV']) {
      const result = validateAuditEvent(fromLogRecord(record({ attributes: { 'user.id': 'u-1', 'log.record.uid': id } })));
      expect(result.ok ? [] : result.problems[0]).toMatch(/^id: must match pattern/);
    }
  });

  it('derives a UUIDv8 that depends on the content, not on attribute order or the kept original', () => {
    const a = record({ attributes: { 'user.id': 'u-1', 'http.route': '/login' } });
    const id = derivedEventId(a);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(derivedEventId({ ...a, attributes: { 'http.route': '/login', 'user.id': 'u-1' }, original: { any: 'form' } })).toBe(id);
    // Differences the stored event does not keep still make another record: not a duplicate.
    expect(derivedEventId({ ...a, attributes: { 'user.id': 'u-1', 'http.route': '/logout' } })).not.toBe(id);
    expect(derivedEventId({ ...a, timeUnixNano: '1767225600123456790' })).not.toBe(id);
    expect(derivedEventId({ ...a, serviceName: 'other' })).not.toBe(id);
    expect(derivedEventId({ ...a, body: 'x' })).not.toBe(id);
  });
});

describe('timeUnitProblem: the bands', () => {
  const at = (timeUnixNano: string) => timeUnitProblem(record({ timeUnixNano }));
  it.each([
    ['1', 'seconds', '1970-01-01T00:00:01.000Z'],
    ['1764000000', 'seconds', '2025-11-24T16:00:00.000Z'],
    ['99999999999', 'seconds', '5138-11-16T09:46:39.000Z'],
    ['100000000000', 'milliseconds', '1973-03-03T09:46:40.000Z'],
    ['1764000000000', 'milliseconds', '2025-11-24T16:00:00.000Z'],
    ['99999999999999', 'milliseconds', '5138-11-16T09:46:39.999Z'],
    ['100000000000000', 'microseconds', '1973-03-03T09:46:40.000Z'],
    ['1764000000000000', 'microseconds', '2025-11-24T16:00:00.000Z'],
    ['99999999999999999', 'microseconds', '5138-11-16T09:46:39.999Z'],
  ])('timeUnixNano %s looks like %s (%s)', (value, unit, date) => {
    expect(at(value)).toBe(`time: timeUnixNano ${value} looks like ${unit} since the epoch (${date}); OTLP wants nanoseconds`);
  });

  it('accepts nanoseconds from 1973-03-03T09:46:40Z on, and an unset time with a plausible observed time', () => {
    expect(at('100000000000000000')).toBeUndefined();
    expect(at('1767225600123456789')).toBeUndefined();
    expect(timeUnitProblem(record({ timeUnixNano: '0', timestamp: 0, observedTimeUnixNano: '1767225600123456789' }))).toBeUndefined();
  });

  it('checks the observed time when it stands in, and refuses a negative count', () => {
    const r = record({ timeUnixNano: undefined, timestamp: undefined, observedTimeUnixNano: '1764000000000', observedTimestamp: 1 });
    expect(timeUnitProblem(r)).toMatch(/^time: observedTimeUnixNano 1764000000000 looks like milliseconds/);
    expect(at('-1')).toBe('time: timeUnixNano -1 is negative; OTLP wants nanoseconds since the epoch');
  });

  it('classifies by milliseconds alone for a receiver that kept no raw count', () => {
    expect(timeUnitProblem({ attributes: {}, timestamp: 1_764_000 })).toMatch(/looks like milliseconds/);
    expect(timeUnitProblem({ attributes: {}, timestamp: 1_764_000_000_000 })).toBeUndefined();
  });
});

describe('redact', () => {
  it('redacts secret-looking changes and metadata of any candidate, and leaves odd shapes to validation', () => {
    const candidate = {
      changes: [{ field: 'password', from: 'a', to: 'b' }, { field: 'api_key', to: 'k' }, { field: 'plan', from: 1, to: 2 }, 'odd'],
      metadata: { clientSecret: 's', plan: 'pro' },
    };
    expect(redact(candidate, DEFAULT_REDACT)).toEqual({
      changes: [{ field: 'password', from: REDACTED, to: REDACTED }, { field: 'api_key', to: REDACTED }, { field: 'plan', from: 1, to: 2 }, 'odd'],
      metadata: { clientSecret: REDACTED, plan: 'pro' },
    });
    expect(redact({ changes: 'not a list', metadata: [1] }, DEFAULT_REDACT)).toEqual({ changes: 'not a list', metadata: [1] });
  });

  it('matches every name with a global pattern too (no lastIndex carried between names)', () => {
    expect(redact({ metadata: { pin: 1, pin2: 2, pin3: 3 } }, /pin/g).metadata).toEqual({ pin: REDACTED, pin2: REDACTED, pin3: REDACTED });
  });
});
