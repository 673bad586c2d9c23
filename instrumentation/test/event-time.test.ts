import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLogger } from '@otel-audit/instrumentation';
import { startSqliteCollector, type SqliteCollector } from '../../test/support/sqlite-collector.js';

// The OpenTelemetry SDK takes a number below half of the process's time origin (about
// mid-1998) for a performance.now() offset and adds the origin to it: an event from 1995
// recorded with its time as a number came out in 2052. Imported history and old records
// are real audit data, so times on either side of that line must arrive as they left.
describe('event times through the real SDK exporter (SQLite file, loopback port)', () => {
  let collector: SqliteCollector;
  beforeAll(async () => {
    collector = await startSqliteCollector();
  });
  afterAll(() => collector.close());

  // 1973-03-03T09:46:40Z is the earliest time the collector takes for nanoseconds (TIME_UNIT_BANDS).
  const times = ['1973-03-03T09:46:40.000Z', '1995-06-01T10:00:00.123Z', '1998-12-31T23:59:59.999Z', '2026-11-22T07:00:00.000Z', '2089-12-31T12:00:00.500Z'];

  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    it(`keeps every time to the millisecond over ${protocol}`, async () => {
      const audit = createAuditLogger({ serviceName: `event-time-${protocol}`, endpoint: collector.url, protocol });
      const ids = times.map((time) => audit.record({ time, action: 'auth.login', category: 'authentication', actor: { id: 'u-1', type: 'user' } }));
      await audit.shutdown();
      const stored = new Map<string, string>();
      for await (const e of collector.store.query({ from: new Date('1960-01-01T00:00:00Z'), to: new Date('2100-01-01T00:00:00Z') })) stored.set(e.id, e.time);
      expect(ids.map((id) => stored.get(id))).toEqual(times);
    });
  }

  it('refuses, in record(), a time before the earliest the collector takes, naming it', async () => {
    const audit = createAuditLogger({ serviceName: 'event-time-early', endpoint: collector.url });
    try {
      expect(() => audit.record({ time: '1973-03-03T09:46:39.999Z', action: 'auth.login', actor: { id: 'u-1', type: 'user' } })).toThrow(
        'invalid audit event: time: 1973-03-03T09:46:39.999Z is before 1973-03-03T09:46:40.000Z, the earliest time an audit event may have',
      );
    } finally {
      await audit.shutdown();
    }
  });
});
