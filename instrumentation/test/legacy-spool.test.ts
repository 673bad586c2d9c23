import { appendFileSync, copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@otel-audit/contract';
import { createAuditLogger } from '@otel-audit/instrumentation';
import { startSqliteCollector, type SqliteCollector } from '../../test/support/sqlite-collector.js';

// The fixture is a spool segment written by the version before the spool kept the event
// itself (its lines are the SDK's LogRecord fields: hrTime, attributes, spanContext); three
// lines were recorded by that version's record(), the fourth carries a span context.
const fixture = resolve(import.meta.dirname, 'fixtures/legacy-spool/segment-000000000001.ndjson');

describe('a spool written in the older line shape (real files, SQLite collector)', () => {
  let collector: SqliteCollector;
  beforeAll(async () => {
    collector = await startSqliteCollector();
  });
  afterAll(() => collector.close());

  it('is read after an upgrade and every event arrives as it was recorded, once; new lines are events', async () => {
    const spool = join(collector.dir, 'spool');
    mkdirSync(spool);
    copyFileSync(fixture, join(spool, 'segment-000000000001.ndjson'));
    const audit = createAuditLogger({ serviceName: 'upgraded', endpoint: collector.url, spool: { dir: spool }, scheduledDelayMillis: 3_600_000 });
    expect(audit.stats()).toMatchObject({ replayed: 4, pending: 4 });
    const fresh = audit.record({ action: 'auth.login', actor: { id: 'u-9', type: 'user' } });
    // The new record is appended as the event itself.
    const segments = readdirSync(spool).filter((f) => f.startsWith('segment-')).sort();
    const newest = readFileSync(join(spool, segments.at(-1)!), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { v: number; event: AuditEvent });
    expect(newest.at(-1)).toMatchObject({ v: 2, event: { id: fresh, action: 'auth.login', actor: { id: 'u-9', type: 'user' }, outcome: 'success' } });
    await audit.shutdown({ timeoutMillis: 30_000 });

    const stored = new Map<string, AuditEvent>();
    for await (const e of collector.store.query({ from: new Date('1990-01-01T00:00:00Z'), to: new Date('2100-01-01T00:00:00Z') })) stored.set(e.id, e);
    expect(stored.size).toBe(5);
    const service = { name: 'upgraded' };
    expect(stored.get('01a22e84-d1c8-77e4-9915-3c1ed230e11b')).toEqual({
      id: '01a22e84-d1c8-77e4-9915-3c1ed230e11b',
      time: '1995-06-01T10:00:00.123Z',
      action: 'auth.login',
      category: 'authentication',
      outcome: 'success',
      message: 'Logged on',
      actor: { id: 'u-1', type: 'user', name: 'Ann' },
      client: { ip: '203.0.113.7' },
      service,
    });
    expect(stored.get('01a22e84-d1f9-745e-8d39-a6176f830bb3')).toEqual({
      id: '01a22e84-d1f9-745e-8d39-a6176f830bb3',
      time: '2026-11-22T07:00:00.000Z',
      action: 'record.update',
      category: 'data',
      outcome: 'failure',
      reason: 'denied',
      actor: { id: 'svc-9', type: 'service' },
      resource: { type: 'invoice', id: 'inv-7' },
      changes: [{ field: 'total', from: 10, to: null }],
      metadata: { attempt: 2, dryRun: false, note: 'x' },
      service,
    });
    expect(stored.get('01a22e84-d220-7209-83cd-756b558bcd97')).toMatchObject({ time: '2089-12-31T12:00:00.500Z', action: 'api_token.create', message: 'made a token', workspace: { id: 'acme' } });
    expect(stored.get('01a22e84-d240-7aaa-8bbb-0123456789ab')).toMatchObject({
      time: '2026-11-30T00:53:20.042Z',
      action: 'auth.logout',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
    });
    expect(stored.get(fresh)).toMatchObject({ action: 'auth.login', service });
  });

  it('sends an old line that no longer makes a valid event as it is, and does not let it block the lines after it', async () => {
    const spool = join(collector.dir, 'spool-broken');
    mkdirSync(spool);
    const line = (attributes: Record<string, unknown>) => `${JSON.stringify({ hrTime: [1_796_000_000, 0], hrTimeObserved: [1_796_000_000, 0], eventName: 'auth.login', severityNumber: 9, severityText: 'INFO', attributes })}\n`;
    appendFileSync(join(spool, 'segment-000000000001.ndjson'), line({ 'log.record.uid': '01a22e84-d260-7aaa-8bbb-0123456789ab' }));
    appendFileSync(join(spool, 'segment-000000000001.ndjson'), line({ 'log.record.uid': '01a22e84-d261-7aaa-8bbb-0123456789ab', 'user.id': 'u-5', 'audit.actor.type': 'user' }));
    const audit = createAuditLogger({ serviceName: 'upgraded', endpoint: collector.url, spool: { dir: spool } });
    expect(audit.stats()).toMatchObject({ replayed: 2 });
    // The collector acknowledges the request and keeps the bad record as a dead letter.
    await audit.shutdown({ timeoutMillis: 30_000 });
    expect(audit.stats()).toMatchObject({ acknowledged: 2, pending: 0 });
    const ids: string[] = [];
    for await (const e of collector.store.query({ from: new Date('2026-01-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') })) ids.push(e.id);
    expect(ids).toContain('01a22e84-d261-7aaa-8bbb-0123456789ab');
    expect(ids).not.toContain('01a22e84-d260-7aaa-8bbb-0123456789ab');
  });
});
