/**
 * Memory of the collector before and after abusive requests (issue 13, finding 6): huge
 * records the contract refuses (dead letters), bodies sent a byte at a time, and a flood
 * over the rate limit. Heap and RSS after a forced GC, before and after.
 *
 *   node --expose-gc --import tsx bench/collector-memory.ts [rounds=5]
 *
 * SQLite store in a temporary folder; the collector runs in this process, the abusers
 * use real sockets. Writes bench/results/collector-memory.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCollector } from '@otel-audit/collector';
import { toLogRecord, type AuditEvent } from '@otel-audit/contract';
import { SqliteStore } from '@otel-audit/store';
import { v7 as uuidv7 } from 'uuid';

const rounds = Number(process.argv[2] ?? 5);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc --import tsx bench/collector-memory.ts');

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function body(message: string): string {
  const event: AuditEvent = { id: uuidv7(), time: new Date().toISOString(), action: 'auth.login', category: 'authentication', outcome: 'success', actor: { id: 'u-1', type: 'user' }, message };
  const r = toLogRecord(event);
  const attributes = Object.entries(r.attributes).map(([key, v]) => ({ key, value: Array.isArray(v) ? { arrayValue: { values: v.map((s) => ({ stringValue: String(s) })) } } : { stringValue: String(v) } }));
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bench-abuser' } }] },
        scopeLogs: [{ logRecords: [{ timeUnixNano: String(BigInt(r.timestamp) * 1_000_000n), eventName: r.eventName, body: { stringValue: r.body }, attributes }] }],
      },
    ],
  });
}

async function settled(): Promise<{ heapMiB: number; rssMiB: number }> {
  for (let i = 0; i < 5; i++) {
    gc!();
    await sleep(200);
  }
  const m = process.memoryUsage();
  return { heapMiB: +(m.heapUsed / MiB).toFixed(1), rssMiB: +(m.rss / MiB).toFixed(1) };
}

function slowBody(port: number, payload: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    let sent = 0;
    socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
    socket.on('error', () => {});
    socket.on('connect', () => {
      socket.write(`POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n`);
      const timer = setInterval(() => {
        if (socket.destroyed || sent >= payload.length) return clearInterval(timer);
        socket.write(payload[sent++]!);
      }, 100);
      socket.on('close', () => {
        clearInterval(timer);
        resolve(answer.split('\r\n')[0] ?? '');
      });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'bench-memory-'));
const store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
// Short request timeout so slow bodies are cut within the run; rate limit low enough to trip.
const app = buildCollector({ store, requestTimeoutMillis: 3000, headersTimeoutMillis: 3000, rateLimitPerMinute: 600 });
await app.listen({ host: '127.0.0.1', port: 0 });
const port = (app.server.address() as { port: number }).port;
const url = `http://127.0.0.1:${port}/v1/logs`;
const post = (payload: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload }).then(async (r) => (await r.arrayBuffer(), r.status));

// Warm-up: the code paths, caches and the SQLite connection, so the baseline is not a cold process.
for (let i = 0; i < 50; i++) await post(body('warm-up'));
await post(body('x'.repeat(10 * MiB)));
const baseline = await settled();
let peakRssMiB = 0;
const sampler = setInterval(() => (peakRssMiB = Math.max(peakRssMiB, process.memoryUsage().rss / MiB)), 50);

const statuses: Record<string, number> = {};
const count = (k: string | number) => (statuses[k] = (statuses[k] ?? 0) + 1);
const big = body('x'.repeat(10 * MiB));
for (let round = 0; round < rounds; round++) {
  const slow = Array.from({ length: 20 }, () => slowBody(port, body('slow')).then((line) => count(line.slice(9, 12) || 'closed')));
  // Four 10 MB refused records at once, as in the finding, then a flood from the same address.
  (await Promise.all(Array.from({ length: 4 }, () => post(big)))).forEach(count);
  (await Promise.all(Array.from({ length: 200 }, () => post(body('flood'))))).forEach(count);
  await Promise.all(slow);
}
clearInterval(sampler);
const after = await settled();
const deadLetterRows = store.rejected();
const largestRowBytes = Math.max(...deadLetterRows.map((r) => Buffer.byteLength(JSON.stringify(r.record))));
await app.close();
await store.close();
rmSync(dir, { recursive: true, force: true });

const result = {
  rounds,
  node: process.version,
  baseline,
  peakRssMiB: +peakRssMiB.toFixed(1),
  after,
  heapGrowthMiB: +(after.heapMiB - baseline.heapMiB).toFixed(1),
  rssGrowthMiB: +(after.rssMiB - baseline.rssMiB).toFixed(1),
  statuses,
  deadLetterRows: deadLetterRows.length,
  largestDeadLetterRowBytes: largestRowBytes,
};
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'results', 'collector-memory.json'), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
