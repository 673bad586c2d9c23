import { describe, expect, it } from 'vitest';
import { ATTR, fromLogRecord, toLogRecord, validateAuditEvent, type AuditEvent } from '@otel-audit/contract';

const full: AuditEvent = {
  id: '01a20127-faaf-7079-9fbd-fdd6c53d7560',
  time: '2026-01-02T03:04:05.678Z',
  action: 'permission.update',
  category: 'iam',
  outcome: 'failure',
  reason: 'not allowed',
  actor: { id: 'u-1', name: 'Ann', type: 'user', email: 'ann@example.com', roles: ['admin'] },
  client: { ip: '2001:db8::1', userAgent: 'curl/8' },
  sessionId: 's-9',
  workspace: { id: 'w-1', name: 'Team' },
  resource: { type: 'group', id: 'g-1', name: 'Auditors', href: 'https://app.example/groups/g-1' },
  changes: [{ field: 'permissions', from: null, to: ['security-logs:view'] }],
  request: { id: 'r-2', parentId: 'r-1' },
  correlationId: 'req-77',
  message: 'Permission change refused',
  metadata: { attempt: 2, viaApi: true, note: 'x' },
  service: { name: 'billing' },
};

describe('OpenTelemetry mapping', () => {
  it('round-trips every field through a LogRecord', () => {
    const record = toLogRecord(full);
    expect(record.eventName).toBe('permission.update');
    expect(record.timestamp).toBe(Date.parse(full.time));
    expect(record.severityText).toBe('WARN');
    expect(record.body).toBe('Permission change refused');
    expect(record.attributes).toMatchObject({
      [ATTR.id]: full.id,
      'user.id': 'u-1',
      'user.name': 'Ann',
      'user.roles': ['admin'],
      'client.address': '2001:db8::1',
      'user_agent.original': 'curl/8',
      'session.id': 's-9',
      'audit.metadata.attempt': 2,
    });
    const back = fromLogRecord({ ...record, serviceName: 'billing' });
    expect(validateAuditEvent(back)).toEqual({ ok: true, event: full });
  });

  it('uses INFO for outcomes other than failure', () => {
    expect(toLogRecord({ ...full, outcome: 'success' }).severityNumber).toBe(9);
  });

  it('falls back to the event.name attribute and the observed time for older senders', () => {
    const record = toLogRecord(full);
    const back = fromLogRecord({
      attributes: { ...record.attributes, 'event.name': 'permission.update' },
      observedTimestamp: record.timestamp,
      body: record.body,
      serviceName: 'billing',
    });
    expect(validateAuditEvent(back)).toEqual({ ok: true, event: full });
  });

  it('reports wrong types by field instead of coercing them', () => {
    const record = toLogRecord(full);
    const result = validateAuditEvent(fromLogRecord({ ...record, attributes: { ...record.attributes, 'user.id': 42 } }));
    expect(result).toEqual({ ok: false, problems: ['actor.id: must be string'] });
  });

  describe('trace context', () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const spanId = '00f067aa0ba902b7';

    it('round-trips the trace and span id as the LogRecord trace context, not as attributes', () => {
      const traced = { ...full, traceId, spanId };
      const record = toLogRecord(traced);
      expect(record).toMatchObject({ traceId, spanId });
      expect(Object.values(record.attributes)).not.toContain(traceId);
      expect(validateAuditEvent(fromLogRecord({ ...record, serviceName: 'billing' }))).toEqual({ ok: true, event: traced });
    });

    it('stores ids in lower case, as OpenTelemetry writes them in text', () => {
      const back = fromLogRecord({ ...toLogRecord(full), traceId: traceId.toUpperCase(), spanId: spanId.toUpperCase() });
      expect(back).toMatchObject({ traceId, spanId });
    });

    it('drops all-zero ids ("no trace") and malformed ones instead of refusing the event', () => {
      const record = toLogRecord(full);
      for (const ids of [
        { traceId: '0'.repeat(32), spanId: '0'.repeat(16) },
        { traceId: 'not-a-trace-id', spanId: 'xyz' },
        { traceId: traceId.slice(1), spanId: spanId.slice(1) },
        // A span id without a valid trace id is no span context.
        { traceId: '0'.repeat(32), spanId },
      ]) {
        const back = fromLogRecord({ ...record, ...ids, serviceName: 'billing' });
        expect(back).not.toHaveProperty('traceId');
        expect(back).not.toHaveProperty('spanId');
        expect(validateAuditEvent(back)).toEqual({ ok: true, event: full });
      }
      expect(fromLogRecord({ ...record, traceId, spanId: '0'.repeat(16) })).toMatchObject({ traceId });
      expect(fromLogRecord({ ...record, traceId, spanId: '0'.repeat(16) })).not.toHaveProperty('spanId');
    });

    it('refuses an event whose stored ids are not lower-case hex', () => {
      expect(validateAuditEvent({ ...full, traceId: traceId.toUpperCase() })).toMatchObject({ ok: false });
      expect(validateAuditEvent({ ...full, traceId, spanId: 'short' })).toMatchObject({ ok: false });
    });
  });
});
