import { describe, expect, it } from 'vitest';
import { DEFAULT_REDACT } from '@otel-audit/contract';
import { AUDIT_LOGGER_DEFAULTS, createAuditLogger, type AuditLoggerOptions } from '@otel-audit/instrumentation';
import { resolveAuditLoggerOptions } from '../src/audit-logger-options.js';
import { startSqliteCollector } from '../../test/support/sqlite-collector.js';

const SPOOL_KEYS = new Set(['fsync', 'fsyncIntervalMillis', 'segmentBytes']);
const topLevel = Object.keys(AUDIT_LOGGER_DEFAULTS).filter((k) => !SPOOL_KEYS.has(k));
const everyOptionUndefined = Object.fromEntries(
  [...topLevel, 'serviceName', 'endpoint', 'headers', 'protocol', 'spool', 'redact', 'onDeliveryError'].map((k) => [k, undefined]),
) as AuditLoggerOptions;

describe('createAuditLogger options', () => {
  for (const key of topLevel) {
    it(`keeps the default of ${key} when it is passed as undefined`, () => {
      const resolved = resolveAuditLoggerOptions({ [key]: undefined }, DEFAULT_REDACT);
      expect(resolved[key as keyof typeof resolved]).toBe(AUDIT_LOGGER_DEFAULTS[key as keyof typeof AUDIT_LOGGER_DEFAULTS]);
    });
  }

  it('keeps the spool defaults when they are passed as undefined, and freezes what it resolved', () => {
    const resolved = resolveAuditLoggerOptions({ spool: { dir: '/tmp/s', fsync: undefined, fsyncIntervalMillis: undefined, segmentBytes: undefined } }, DEFAULT_REDACT);
    expect(resolved.spool).toEqual({ dir: '/tmp/s', fsync: 'interval', fsyncIntervalMillis: 1000, segmentBytes: 8 * 1024 * 1024 });
    expect(resolveAuditLoggerOptions({ redact: undefined }, DEFAULT_REDACT).redact).toBe(DEFAULT_REDACT);
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(Object.isFrozen(resolved.spool)).toBe(true);
    expect(Object.isFrozen(AUDIT_LOGGER_DEFAULTS)).toBe(true);
  });

  it('refuses a bad value at creation, naming the option and the value', () => {
    expect(() => createAuditLogger({ maxQueueRecords: -1 })).toThrow('option maxQueueRecords must be a finite number ≥ 0, got -1');
    expect(() => createAuditLogger({ maxBatchSize: 0 })).toThrow('option maxBatchSize must be an integer ≥ 1, got 0');
    expect(() => createAuditLogger({ compression: 'brotli' as never })).toThrow('option compression must be "gzip" or "none", got "brotli"');
    expect(() => createAuditLogger({ spool: { dir: '/tmp/x', fsync: 'sometimes' as never } })).toThrow('option spool.fsync');
  });

  it('records and delivers with every option passed as undefined (a real collector on a SQLite file)', async () => {
    const collector = await startSqliteCollector();
    const saved = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collector.url;
    try {
      const audit = createAuditLogger(everyOptionUndefined);
      const ids = Array.from({ length: 3 }, () => audit.record({ action: 'auth.login', actor: { id: 'u-1', type: 'user' }, metadata: { password: 'hunter2' } }));
      await audit.shutdown({ timeoutMillis: 30_000 });
      const stored = [];
      for await (const e of collector.store.query({ from: new Date(0), to: new Date(Date.now() + 60_000) })) stored.push(e);
      expect(stored.map((e) => e.id).sort()).toEqual(ids.sort());
      // The default redaction held too.
      expect(stored.every((e) => e.metadata?.password === '[REDACTED]')).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = saved;
      await collector.close();
    }
  });
});
