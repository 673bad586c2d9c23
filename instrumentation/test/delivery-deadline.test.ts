import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCollector } from '@otel-audit/collector';
import { AuditError, createAuditLogger, type AuditLogger, type UndeliveredReport } from '@otel-audit/instrumentation';
import { SqliteStore } from '@otel-audit/store';

const actor = { id: 'u-alice', type: 'user' as const };
const shutdownApp = resolve(import.meta.dirname, 'fixtures/shutdown-app.mjs');
const fast = { initialBackoffMillis: 50, maxBackoffMillis: 300, exportTimeoutMillis: 1000, scheduledDelayMillis: 20, maxBatchSize: 16 };

/** What shutdown() or flush() rejected with: the report, or a failure of the test. */
async function report(promise: Promise<void>): Promise<UndeliveredReport> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuditError);
  expect((err as AuditError).code).toBe('AUDIT_ERR_DELIVERY_FAILED');
  return (err as AuditError).details as unknown as UndeliveredReport;
}

// flush() and shutdown() retry until their deadline and then say exactly how many records
// the collector did not acknowledge: what the store is missing, no more, no fewer.
describe('flush and shutdown deadlines against a collector that restarts on the same port (SQLite file)', () => {
  let dir: string;
  let store: SqliteStore;
  let collector: ReturnType<typeof buildCollector> | undefined;
  let port = 0;

  const startCollector = async () => {
    collector = buildCollector({ store });
    await collector.listen({ host: '127.0.0.1', port });
    port = (collector.server.address() as { port: number }).port;
  };
  const stopCollector = async () => {
    await collector?.close();
    collector = undefined;
  };
  const storedIds = async () => {
    const ids: string[] = [];
    for await (const e of store.query({ from: new Date(0), to: new Date(Date.now() + 3_600_000) })) ids.push(e.id);
    return ids;
  };
  const recordSome = (audit: AuditLogger, n: number, offset: number) =>
    Array.from({ length: n }, (_, i) => audit.record({ action: 'record.update', category: 'data', actor, metadata: { i: offset + i } }));

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-deadline-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    await store.init();
    port = 0;
    await startCollector();
  });
  afterEach(async () => {
    await stopCollector();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers all 100 events recorded across a collector restart, each once, when shutdown() has enough time', async () => {
    const audit = createAuditLogger({ serviceName: 'restart', endpoint: `http://127.0.0.1:${port}`, ...fast });
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      if (i === 30) await stopCollector();
      if (i === 70) await startCollector();
      ids.push(...recordSome(audit, 1, i));
      // The outage (about 3 s) outlasts one export attempt with the exporter's own retries.
      await new Promise((r) => setTimeout(r, i >= 30 && i < 70 ? 80 : 5));
    }
    await audit.shutdown({ timeoutMillis: 30_000 });
    const stored = await storedIds();
    expect(stored).toHaveLength(100);
    expect(stored.sort()).toEqual([...ids].sort());
    expect(audit.stats()).toMatchObject({ recorded: 100, acknowledged: 100, pending: 0 });
    expect(audit.stats().retried).toBeGreaterThan(0);
  });

  it('without a spool: shutdown() with too little time rejects naming exactly the records the store is missing, as dropped', async () => {
    const audit = createAuditLogger({ serviceName: 'short', endpoint: `http://127.0.0.1:${port}`, ...fast });
    const ids = recordSome(audit, 40, 0);
    await audit.flush({ timeoutMillis: 30_000 });
    await stopCollector();
    ids.push(...recordSome(audit, 60, 40));
    const r = await report(audit.shutdown({ timeoutMillis: 400 }));
    await startCollector();
    const stored = await storedIds();
    expect(r).toMatchObject({ kept: 'dropped', timeoutMillis: 400 });
    expect(r.spoolDir).toBeUndefined();
    expect(r.lastError).toBeTypeOf('string');
    expect(r.undelivered).toBeGreaterThan(0);
    expect(r.undelivered).toBe(ids.length - stored.length);
    expect(new Set(stored).size).toBe(stored.length);
    expect(ids).toEqual(expect.arrayContaining(stored));
  });

  it('with a spool: the undelivered records stay in the spool, exactly as many as reported, and the next logger delivers them once', async () => {
    const spoolDir = join(dir, 'spool');
    const options = { serviceName: 'spooled', endpoint: `http://127.0.0.1:${port}`, spool: { dir: spoolDir, fsync: 'never' as const }, ...fast };
    const first = createAuditLogger(options);
    const ids = recordSome(first, 40, 0);
    await first.flush({ timeoutMillis: 30_000 });
    await stopCollector();
    ids.push(...recordSome(first, 60, 40));
    const r = await report(first.shutdown({ timeoutMillis: 400 }));
    expect(r).toMatchObject({ kept: 'spool', spoolDir });
    const storedBefore = await storedIds();
    expect(r.undelivered).toBeGreaterThan(0);
    expect(r.undelivered).toBe(ids.length - storedBefore.length);

    await startCollector();
    const second = createAuditLogger(options);
    expect(second.stats()).toMatchObject({ replayed: r.undelivered, pending: r.undelivered });
    await second.shutdown({ timeoutMillis: 30_000 });
    expect(second.stats()).toMatchObject({ acknowledged: r.undelivered, pending: 0 });
    const stored = await storedIds();
    expect(stored).toHaveLength(100);
    expect(stored.sort()).toEqual([...ids].sort());
  });

  it('flush() keeps retrying through an outage instead of rejecting at the first failed export', async () => {
    await stopCollector();
    const audit = createAuditLogger({ serviceName: 'patient', endpoint: `http://127.0.0.1:${port}`, ...fast });
    const failures: number[] = [];
    const told = createAuditLogger({ serviceName: 'told', endpoint: `http://127.0.0.1:${port}`, ...fast, onDeliveryError: (_e, s) => failures.push(s.consecutiveFailures) });
    const ids = [...recordSome(audit, 10, 0), ...recordSome(told, 10, 10)];
    const flushed = Promise.all([audit.flush({ timeoutMillis: 30_000 }), told.flush({ timeoutMillis: 30_000 })]);
    // The collector comes back only after several failed attempts.
    while (failures.length < 3) await new Promise((r) => setTimeout(r, 20));
    await startCollector();
    await flushed;
    expect((await storedIds()).sort()).toEqual([...ids].sort());
    await Promise.all([audit.shutdown(), told.shutdown()]);
  });

  it('keeps the process alive while shutdown() waits: an app whose last act is shutdown() delivers what it recorded during an outage', async () => {
    await stopCollector();
    const child = spawn(process.execPath, [shutdownApp, `http://127.0.0.1:${port}`, '20', '30000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    await new Promise<void>((r) =>
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('recorded\n')) r();
      }),
    );
    // Long enough for failed attempts and a backoff with nothing else to keep the process up.
    await new Promise((r) => setTimeout(r, 2000));
    await startCollector();
    expect(await exited).toBe(0);
    const result = JSON.parse(out.split('\n')[1]!) as { ok: boolean; stats: { acknowledged: number; retried: number } };
    expect(result).toMatchObject({ ok: true, stats: { acknowledged: 20 } });
    expect(result.stats.retried).toBeGreaterThan(0);
    expect(await storedIds()).toHaveLength(20);
  });
});
