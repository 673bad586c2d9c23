import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCollector } from '@otel-audit/collector';
import type { AuditEvent } from '@otel-audit/contract';
import { ElasticsearchStore, SqliteStore } from '@otel-audit/store';
import { elasticsearch } from '../../test/support/elasticsearch.js';
import { otlpJsonBody, validEvent } from '../../test/support/otlp-json.js';
import { elasticsearchStores, eventually, isolatedDay, listen } from '../../test/support/services.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';

const es = elasticsearch();
const json = { 'content-type': 'application/json' };

async function all(store: { query: SqliteStore['query'] }, from = new Date(0), to = new Date(Date.now() + 3_600_000)): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of store.query({ from, to })) out.push(e);
  return out;
}

describe('collector on SQLite: dead letters, sender tokens, operations endpoints', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-durable-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every refused record with its reason in the dead-letter table, once', async () => {
    const app = buildCollector({ store, spoolDir: join(dir, 'spool') });
    const bad = validEvent({ action: 'Bad Action' });
    const body = otlpJsonBody([validEvent(), bad]);
    for (let i = 0; i < 2; i++) {
      const res = await app.inject({ method: 'POST', url: '/v1/logs', payload: body, headers: json });
      expect(res.json().partialSuccess.rejectedLogRecords).toBe('1');
    }
    const dead = store.rejected();
    expect(dead).toHaveLength(1);
    expect(dead[0]!.reason).toContain('action: must match pattern');
    expect(dead[0]!.serviceName).toBe('test-app');
    expect(dead[0]!.record).toMatchObject({ id: bad.id, action: 'Bad Action' });
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toContain('otel_audit_records_rejected_total{service="test-app",reason="contract"} 2');
    expect(metrics).toContain('otel_audit_records_received_total 4');
    expect(metrics).toContain('otel_audit_records_stored_total 1');
    expect(metrics).toContain('otel_audit_records_duplicate_total 1');
    expect(metrics).toMatch(/otel_audit_store_write_seconds_count 2/);
    await app.close();
  });

  it('with sender tokens: 401 without one, 403 for another service, 200 for its own', async () => {
    const app = buildCollector({ store, senderTokens: [['token-for-billing-0123456789', 'billing']] });
    const forBilling = otlpJsonBody([validEvent()], 'billing');
    const forPayroll = otlpJsonBody([validEvent()], 'payroll');
    const post = (payload: string, token?: string) =>
      app.inject({ method: 'POST', url: '/v1/logs', payload, headers: { ...json, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
    expect((await post(forBilling)).statusCode).toBe(401);
    expect((await post(forBilling, 'wrong-token-0123456789')).statusCode).toBe(401);
    const forbidden = await post(forPayroll, 'token-for-billing-0123456789');
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toEqual({ code: 7, message: 'this sender token may write only for service.name "billing"' });
    expect((await post(forBilling, 'token-for-billing-0123456789')).statusCode).toBe(200);
    expect(await all(store)).toHaveLength(1);
    await app.close();
  });

  it('/readyz answers 200 when the store is reachable and 503 when it is not', async () => {
    const app = buildCollector({ store });
    expect((await app.inject('/readyz')).json()).toEqual({ status: 'ready', store: 'reachable', spooled: 0 });
    const down = new ElasticsearchStore({ url: 'http://127.0.0.1:9', installTemplate: false });
    const app2 = buildCollector({ store: down });
    const res = await app2.inject('/readyz');
    expect(res.statusCode).toBe(503);
    expect(res.json().store).toBe('unreachable');
    await app.close();
    await app2.close();
    await down.close();
  });

  it('spools while the store is down, refuses with 503 + Retry-After once the spool is full, loses nothing acknowledged', async () => {
    const down = new ElasticsearchStore({ url: 'http://127.0.0.1:9', installTemplate: false });
    const app = buildCollector({ store: down, spoolDir: join(dir, 'spool'), spoolMaxBytes: 4000 });
    const acked: string[] = [];
    let refused;
    for (let i = 0; i < 20 && !refused; i++) {
      const event = validEvent();
      const res = await app.inject({ method: 'POST', url: '/v1/logs', payload: otlpJsonBody([event]), headers: json });
      if (res.statusCode === 200) acked.push(event.id);
      else refused = res;
    }
    expect(acked.length).toBeGreaterThan(0);
    expect(refused?.statusCode).toBe(503);
    expect(refused?.headers['retry-after']).toBe('5');
    expect(refused?.json().message).toContain('spool is full');
    await app.close();
    await down.close();

    // The same spool, now in front of a store that works: everything acknowledged arrives.
    const app2 = buildCollector({ store, spoolDir: join(dir, 'spool') });
    const stored = await eventually(() => all(store), (e) => e.length >= acked.length);
    expect(stored.map((e) => e.id).sort()).toEqual([...acked].sort());
    expect((await app2.inject('/metrics')).body).toContain(`otel_audit_records_replayed_total ${acked.length}`);
    await app2.close();
  });
});

describe('collector process killed with SIGKILL during sustained ingest (built CLI, SQLite)', () => {
  it('after a restart, every acknowledged event is stored exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otel-audit-kill-'));
    const cli = resolve(import.meta.dirname, '../../cli/bin/otel-audit.js');
    const env = { ...process.env, ELASTICSEARCH_URL: '', AUDIT_DATA_DIR: dir, AUDIT_COLLECTOR_PORT: '0', AUDIT_COLLECTOR_GRPC_PORT: '0', AUDIT_LOG_LEVEL: 'info' };
    const startCollector = () =>
      new Promise<{ child: ChildProcess; url: string }>((resolveStart, reject) => {
        const child = spawn(process.execPath, [cli, 'collector'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /collector listening on (http:\/\/[\d.:]+)/.exec(out);
          if (m) resolveStart({ child, url: m[1]! });
        });
        child.once('exit', (code) => reject(new Error(`collector exited ${code}: ${out}`)));
      });

    const acked: string[] = [];
    let { child, url } = await startCollector();
    // Killed after a number of acknowledgements, not after a time: a loaded machine acknowledges
    // fewer a second, and the test is about what was acknowledged, not how fast.
    const killAfterAcked = 600;
    let killed = false;
    // Several senders at once, so that requests are in flight when the kill lands.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (;;) {
          const events = Array.from({ length: 50 }, () => validEvent());
          try {
            const res = await fetch(`${url}/v1/logs`, { method: 'POST', headers: json, body: otlpJsonBody(events) });
            if (res.status === 200) acked.push(...events.map((e) => e.id));
          } catch {
            // The connection died with the process: not acknowledged, nothing to check.
          }
          if (acked.length >= killAfterAcked && !killed) {
            killed = true;
            child.kill('SIGKILL');
          }
          if (killed) return;
        }
      }),
    );
    await new Promise((r) => (child.exitCode === null && child.signalCode === null ? child.once('exit', r) : r(null)));
    expect(acked.length).toBeGreaterThanOrEqual(killAfterAcked);

    ({ child, url } = await startCollector());
    const store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    const stored = await all(store);
    const ids = new Set(stored.map((e) => e.id));
    expect(ids.size).toBe(stored.length);
    expect(acked.filter((id) => !ids.has(id))).toEqual([]);
    await store.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  });
});

describe.skipIf(es === null)('collector in front of a real Elasticsearch node that becomes unreachable', () => {
  it('acknowledges through the outage from its spool, and every acknowledged event is stored exactly once after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otel-audit-outage-'));
    const stores = await elasticsearchStores(es!);
    const proxy = new TcpProxy({ host: '127.0.0.1', port: Number(new URL(es!.url).port) });
    const proxied = new ElasticsearchStore({ url: await proxy.start(), ...es!.writer, installTemplate: false });
    const app = buildCollector({ store: proxied, spoolDir: join(dir, 'spool'), storeTimeoutMillis: 2000 });
    const url = await listen(app);
    const day = isolatedDay();
    const acked: string[] = [];
    const send = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const events = Array.from({ length: 20 }, (_, k) => validEvent({ time: new Date(day.getTime() + acked.length * 10 + k).toISOString() }));
        const res = await fetch(`${url}/v1/logs`, { method: 'POST', headers: json, body: otlpJsonBody(events) });
        expect(res.status).toBe(200);
        acked.push(...events.map((e) => e.id));
      }
    };
    try {
      await send(5);
      proxy.cut();
      // The outage: events keep arriving for several seconds and are all acknowledged.
      const outageEnds = Date.now() + 8000;
      while (Date.now() < outageEnds) await send(1);
      const during = (await app.inject('/metrics')).body;
      expect(Number(/otel_audit_spool_records (\d+)/.exec(during)![1])).toBeGreaterThan(0);
      proxy.restore();
      await send(5);
      const range = { from: day, to: new Date(day.getTime() + 86_400_000) };
      const stored = await eventually(
        async () => {
          const out: AuditEvent[] = [];
          for await (const e of stores.reader.query(range)) out.push(e);
          return out;
        },
        (e) => e.length >= acked.length,
        60_000,
      );
      expect(stored).toHaveLength(acked.length);
      expect(stored.map((e) => e.id).sort()).toEqual([...acked].sort());
      expect((await app.inject('/metrics')).body).toMatch(/otel_audit_spool_records 0\b/);
    } finally {
      await app.close();
      await proxied.close();
      await proxy.close();
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
