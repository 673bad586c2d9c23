import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@otel-audit/contract';
import { AuditError, createAuditLogger } from '@otel-audit/instrumentation';
import { startSqliteCollector } from '../../test/support/sqlite-collector.js';

const actor = { id: 'u-alice', type: 'user' as const };

let refusing: Server;
let refusingUrl: string;
beforeAll(async () => {
  // A real server that refuses every batch as malformed (400: not retryable).
  refusing = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(400, { 'content-type': 'application/json' }).end('{"code":3,"message":"no"}'));
  });
  await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
  refusingUrl = `http://127.0.0.1:${(refusing.address() as { port: number }).port}`;
});
afterAll(() => new Promise((r) => refusing.close(r)));

describe('record()', () => {
  let audit: ReturnType<typeof createAuditLogger>;
  beforeAll(() => {
    audit = createAuditLogger({ serviceName: 'unit', endpoint: refusingUrl });
  });
  afterAll(() => audit.shutdown({ timeoutMillis: 100 }).catch(() => undefined));

  it('returns a fresh UUIDv7 for each event, in time order', () => {
    const a = audit.record({ action: 'auth.login', category: 'authentication', actor });
    const b = audit.record({ action: 'auth.logout', category: 'session', actor });
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(b > a).toBe(true);
  });

  it('throws AUDIT_ERR_INVALID_EVENT naming each bad field', () => {
    const attempt = (event: unknown) => {
      try {
        audit.record(event as never);
      } catch (err) {
        return err as AuditError;
      }
      throw new Error('record() accepted an invalid event');
    };
    const missing = attempt({ action: 'auth.login', category: 'authentication', actor: { type: 'user' } });
    expect(missing).toBeInstanceOf(AuditError);
    expect(missing.code).toBe('AUDIT_ERR_INVALID_EVENT');
    expect(missing.details.problems).toEqual(['actor.id: is required']);
    expect(attempt({ action: 'Login', category: 'authentication', actor }).message).toContain('action: must match pattern');
    expect(attempt({ action: 'auth.login', category: 'nope', actor }).message).toContain('category');
    const tooLongKey = attempt({ action: 'a.b', category: 'iam', actor, metadata: { ['k'.repeat(41)]: 'v' } });
    expect(tooLongKey.message).toContain('metadata');
    const tooManyKeys = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]));
    expect(attempt({ action: 'a.b', category: 'iam', actor, metadata: tooManyKeys }).message).toContain('metadata');
    expect(attempt({ action: 'a.b', category: 'iam', actor, metadata: { k: 'v'.repeat(501) } }).message).toContain('metadata.k');
    expect(attempt({ action: 'a.b', category: 'iam', actor, time: 'not a time' }).message).toContain('time');
  });
});

describe('delivery', () => {

  it('never throws from record() on delivery problems; flush() rejects at its deadline with AUDIT_ERR_DELIVERY_FAILED', async () => {
    const audit = createAuditLogger({ serviceName: 'unit', endpoint: refusingUrl, initialBackoffMillis: 20, maxBackoffMillis: 50 });
    expect(() => audit.record({ action: 'auth.login', category: 'authentication', actor })).not.toThrow();
    const err = await audit.flush({ timeoutMillis: 300 }).then(
      () => undefined,
      (e: unknown) => e as AuditError,
    );
    expect(err?.code).toBe('AUDIT_ERR_DELIVERY_FAILED');
    expect(err?.details).toMatchObject({ undelivered: 1, kept: 'memory' });
    expect(err?.details.lastError).toBeTypeOf('string');
    await expect(audit.shutdown({ timeoutMillis: 100 })).rejects.toMatchObject({ details: { undelivered: 1, kept: 'dropped' } });
  });

  it('honours OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME when no options are given', async () => {
    const collector = await startSqliteCollector();
    const saved = { ...process.env };
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collector.url;
    process.env.OTEL_SERVICE_NAME = 'from-env';
    process.env.OTEL_EXPORTER_OTLP_LOGS_PROTOCOL = 'http/json';
    try {
      const audit = createAuditLogger();
      const id = audit.record({ action: 'auth.login', category: 'authentication', actor });
      await audit.shutdown();
      const stored: AuditEvent[] = [];
      for await (const e of collector.store.query({ from: new Date(0), to: new Date(Date.now() + 60_000) })) stored.push(e);
      expect(stored.map((e) => [e.id, e.service?.name])).toEqual([[id, 'from-env']]);
    } finally {
      process.env = saved;
      await collector.close();
    }
  });
});
