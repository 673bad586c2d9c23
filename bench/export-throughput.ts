/**
 * Export throughput: rows/s and peak RSS of streamed CSV and XLSX downloads over HTTP.
 *
 *   npm run build && npx tsx bench/export-throughput.ts [rows=1000000] [stores=sqlite,elasticsearch]
 *
 * Loads `rows` events into each store (Elasticsearch: a node of its own from
 * scripts/elasticsearch.ts unless ELASTICSEARCH_URL is set), then downloads them all
 * through the export service on a loopback port, reading and discarding the body, and
 * samples the process's RSS every 50 ms. The client shares the process; its part of
 * the memory is a 64 KiB read buffer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from '@otel-audit/contract';
import { buildExportService, signToken } from '@otel-audit/exporter-service';
import { ElasticsearchStore, SqliteStore, type AuditStore } from '@otel-audit/store';
import { v7 as uuidv7 } from 'uuid';
import { startElasticsearch, stopElasticsearch } from '../scripts/elasticsearch.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const kinds = (process.argv[3] ?? 'sqlite,elasticsearch').split(',');
const SECRET = 'export-throughput-bench-secret-32-chars';
const start = Date.parse('2024-06-01T00:00:00Z');

function event(i: number): AuditEvent {
  return {
    id: uuidv7({ msecs: start + i }),
    time: new Date(start + i * 20).toISOString(),
    action: (['auth.login', 'user.update', 'api_token.create', 'collection_record.update', 'platform.search'] as const)[i % 5]!,
    category: (['authentication', 'iam', 'iam', 'data', 'search'] as const)[i % 5]!,
    outcome: i % 13 === 0 ? 'failure' : 'success',
    actor: { id: `u-${i % 500}`, name: `User ${i % 500}`, type: 'user', email: `user${i % 500}@example.com` },
    client: { ip: `198.51.100.${i % 250}`, userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' },
    workspace: { id: `ws-${i % 20}`, name: `Workspace ${i % 20}` },
    resource: { type: 'file', id: `f-${i}`, name: `report-${i}.pdf`, href: `https://files.example/f-${i}` },
    message: `Event number ${i}, with a comma and "quotes"`,
    service: { name: 'bench' },
  };
}

async function load(store: AuditStore): Promise<void> {
  const started = Date.now();
  for (let i = 0; i < rows; i += 5000) {
    const batch = Array.from({ length: Math.min(5000, rows - i) }, (_, k) => event(i + k));
    const r = await store.insert(batch);
    if (r.failed.length > 0) throw new Error(`load failed: ${r.failed[0]!.reason}`);
  }
  console.error(`loaded ${rows} events in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

async function download(url: string, token: string): Promise<{ seconds: number; peakMiB: number; firstByteMs: number; bytes: number }> {
  if (global.gc) global.gc();
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const started = process.hrtime.bigint();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`${res.status}: ${await res.text()}`);
  const reader = res.body!.getReader();
  let bytes = 0;
  let firstByteMs = -1;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (firstByteMs < 0) firstByteMs = Number(process.hrtime.bigint() - started) / 1e6;
    bytes += value.byteLength;
  }
  clearInterval(timer);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, peakMiB: peak / 2 ** 20, firstByteMs, bytes };
}

async function main() {
  console.log(`machine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}; ${rows} rows`);
  console.log('| store | format | rows/s | time | peak RSS (MiB) | first byte (ms) | size (MiB) |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  const token = await signToken(SECRET, { sub: 'bench', superAdmin: true });
  for (const kind of kinds) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-export-'));
    let store: AuditStore;
    let stop = async () => {};
    if (kind === 'sqlite') {
      store = new SqliteStore({ path: join(dir, 'a.sqlite') });
    } else {
      let url = process.env.ELASTICSEARCH_URL;
      let creds = { username: process.env.ELASTICSEARCH_USERNAME ?? '', password: process.env.ELASTICSEARCH_PASSWORD ?? '' };
      if (!url) {
        // Its own temporary folder: as root the node runs as `nobody`, who cannot enter `dir` (mode 0700).
        const node = await startElasticsearch({ runDir: mkdtempSync(join(tmpdir(), 'bench-export-es-')), heap: '1g' });
        url = node.url;
        creds = node.admin;
        stop = () => stopElasticsearch(node.pid);
      }
      store = new ElasticsearchStore({ url, ...creds });
      await store.init();
    }
    await load(store);
    if (store instanceof ElasticsearchStore) await store.client.indices.refresh({ index: 'audit-events' });
    const app = buildExportService({ store, auth: { secret: SECRET }, rowCap: rows + 1, maxRangeMs: 3650 * 86_400_000 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const range = `scope=all&from=2024-06-01&to=2024-07-01`;
    for (const format of ['csv', 'xlsx'] as const) {
      const r = await download(`${base}/v1/exports/events.${format}?${range}`, token);
      console.log(
        `| ${kind} | ${format} | ${Math.round(rows / r.seconds).toLocaleString('en')} | ${r.seconds.toFixed(1)} s | ${r.peakMiB.toFixed(0)} | ${r.firstByteMs.toFixed(0)} | ${(r.bytes / 2 ** 20).toFixed(0)} |`,
      );
    }
    await app.close();
    await store.close();
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
