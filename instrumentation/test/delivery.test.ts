import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCollector } from '@otel-audit/collector';
import type { AuditEvent } from '@otel-audit/contract';
import { AuditError, createAuditLogger } from '@otel-audit/instrumentation';
import { SqliteStore } from '@otel-audit/store';

const run = promisify(execFile);
const fixture = resolve(import.meta.dirname, '../../test/fixtures/spool-app.mjs');
const actor = { id: 'u-alice', type: 'user' as const };

/** A loopback port that was free a moment ago; nothing listens on it until the test says so. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function storedEvents(store: SqliteStore): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of store.query({ from: new Date(0), to: new Date(Date.now() + 3_600_000) })) out.push(e);
  return out;
}

describe('delivery to a real collector (SQLite file, loopback ports)', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-delivery-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses nothing while the collector is down, then delivers everything once it is back', async () => {
    const port = await freePort();
    const audit = createAuditLogger({ serviceName: 'outage', endpoint: `http://127.0.0.1:${port}`, initialBackoffMillis: 50, maxBackoffMillis: 200, exportTimeoutMillis: 1000, scheduledDelayMillis: 10 });
    const ids = Array.from({ length: 30 }, (_, i) => audit.record({ action: 'record.update', category: 'data', actor, metadata: { i } }));
    await expect(audit.flush({ timeoutMillis: 500 })).rejects.toMatchObject({
      code: 'AUDIT_ERR_DELIVERY_FAILED',
      details: { undelivered: 30, kept: 'memory', timeoutMillis: 500 },
    });
    expect(audit.stats()).toMatchObject({ recorded: 30, acknowledged: 0, pending: 30 });
    expect(audit.stats().retried).toBeGreaterThanOrEqual(30);

    const collector = buildCollector({ store });
    await collector.listen({ host: '127.0.0.1', port });
    try {
      await audit.flush({ timeoutMillis: 15_000 });
      expect(audit.stats()).toMatchObject({ recorded: 30, acknowledged: 30, pending: 0, refused: 0 });
      expect((await storedEvents(store)).map((e) => e.id).sort()).toEqual([...ids].sort());
    } finally {
      await audit.shutdown();
      await collector.close();
    }
  });

  it('refuses with AUDIT_ERR_QUEUE_FULL when the queue is at its bound, and counts it', async () => {
    const port = await freePort();
    const audit = createAuditLogger({ endpoint: `http://127.0.0.1:${port}`, maxQueueRecords: 3, blockTimeoutMillis: 200, exportTimeoutMillis: 500 });
    for (let i = 0; i < 3; i++) audit.record({ action: 'auth.login', actor });
    let refused: unknown;
    try {
      audit.record({ action: 'auth.login', actor });
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(AuditError);
    expect((refused as AuditError).code).toBe('AUDIT_ERR_QUEUE_FULL');
    const started = Date.now();
    await expect(audit.recordAsync({ action: 'auth.login', actor })).rejects.toMatchObject({ code: 'AUDIT_ERR_QUEUE_FULL' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(audit.stats()).toMatchObject({ recorded: 3, refused: 2, pending: 3 });
    await expect(audit.shutdown({ timeoutMillis: 100 })).rejects.toMatchObject({ details: { undelivered: 3, kept: 'dropped' } });
  });

  it('tells onDeliveryError of each refused export (wrong sender token), keeps the record, and delivers it once the collector accepts the token', async () => {
    const token = 'hook-test-sender-token-0123456789';
    const refusing = buildCollector({ store, senderTokens: [['another-token-of-at-least-16', 'someone-else']] });
    await refusing.listen({ host: '127.0.0.1', port: 0 });
    const port = (refusing.server.address() as { port: number }).port;
    const told: { code: string; pending: number; consecutiveFailures: number }[] = [];
    const audit = createAuditLogger({
      serviceName: 'hooked',
      endpoint: `http://127.0.0.1:${port}`,
      headers: { authorization: `Bearer ${token}` },
      initialBackoffMillis: 20,
      maxBackoffMillis: 50,
      scheduledDelayMillis: 10,
      onDeliveryError: (err, state) => {
        told.push({ code: err.code, ...state });
        // A throwing hook must not stop delivery.
        throw new Error('hook failure');
      },
    });
    const id = audit.record({ action: 'auth.login', actor });
    await expect(audit.flush({ timeoutMillis: 300 })).rejects.toMatchObject({ code: 'AUDIT_ERR_DELIVERY_FAILED', details: { undelivered: 1 } });
    expect(told[0]).toEqual({ code: 'AUDIT_ERR_DELIVERY_FAILED', pending: 1, consecutiveFailures: 1 });
    expect(audit.stats()).toMatchObject({ recorded: 1, acknowledged: 0, pending: 1 });
    await refusing.close();

    const accepting = buildCollector({ store, senderTokens: [[token, 'hooked']] });
    await accepting.listen({ host: '127.0.0.1', port });
    try {
      await audit.flush({ timeoutMillis: 15_000 });
      expect(told.length).toBeGreaterThanOrEqual(1);
      expect(told.map((t) => t.consecutiveFailures)).toEqual(told.map((_, i) => i + 1));
      expect((await storedEvents(store)).map((e) => e.id)).toEqual([id]);
    } finally {
      await audit.shutdown();
      await accepting.close();
    }
  });

  it('keeps a spooled record through SIGKILL of the app and delivers it exactly once after restart', async () => {
    const spool = join(dir, 'spool');
    const deadPort = await freePort();
    const child = spawn(process.execPath, [fixture, 'record', spool, `http://127.0.0.1:${deadPort}`, '250'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolveLine, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolveLine(out.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    const { ids } = JSON.parse(line) as { ids: string[] };
    expect(ids).toHaveLength(250);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const collector = buildCollector({ store });
    await collector.listen({ host: '127.0.0.1', port: 0 });
    const port = (collector.server.address() as { port: number }).port;
    try {
      const drained = await run(process.execPath, [fixture, 'drain', spool, `http://127.0.0.1:${port}`]);
      expect(JSON.parse(drained.stdout)).toMatchObject({ replayed: 250, acknowledged: 250, pending: 0 });
      const stored = await storedEvents(store);
      expect(stored.map((e) => e.id).sort()).toEqual([...ids].sort());
      expect(stored.every((e) => e.service?.name === 'spool-app')).toBe(true);
      // A second start finds an empty spool: nothing is sent twice.
      const again = await run(process.execPath, [fixture, 'drain', spool, `http://127.0.0.1:${port}`]);
      expect(JSON.parse(again.stdout)).toMatchObject({ replayed: 0, acknowledged: 0 });
      expect(await storedEvents(store)).toHaveLength(250);
    } finally {
      await collector.close();
    }
  });
});
