/**
 * Ingest rate, end to end: events/s acknowledged from record() through the real OTel
 * exporter (protobuf and JSON) → collector → store (Elasticsearch, and SQLite).
 *
 *   npx tsx bench/collector-ingest.ts [eventsPerSender=20000] [senders=4] [runs=3]
 *
 * Starts its own Elasticsearch node (scripts/elasticsearch.ts) unless ELASTICSEARCH_URL is
 * set. Everything shares this machine's cores: senders, collector and node compete, as
 * they would not in production; read the numbers as a floor and compare within a run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { buildCollector } from '@otel-audit/collector';
import { createAuditLogger, type AuditEventInput, type OtlpProtocol } from '@otel-audit/instrumentation';
import { ElasticsearchStore, SqliteStore, type AuditStore } from '@otel-audit/store';
import { startElasticsearch, stopElasticsearch } from '../scripts/elasticsearch.js';

const perSender = Number(process.argv[2] ?? 20_000);
const senders = Number(process.argv[3] ?? 4);
const runs = Number(process.argv[4] ?? 3);

function event(i: number): AuditEventInput {
  return {
    action: (['auth.login', 'user.update', 'api_token.create', 'collection_record.update', 'platform.search'] as const)[i % 5]!,
    actor: { id: `u-${i % 200}`, name: `User ${i % 200}`, type: 'user', email: `user${i % 200}@example.com` },
    client: { ip: `203.0.113.${i % 250}`, userAgent: 'Mozilla/5.0 (X11; Linux x86_64) bench' },
    workspace: { id: `ws-${i % 20}`, name: `Workspace ${i % 20}` },
    resource: { type: 'record', id: `rec-${i}`, name: `Record ${i}` },
    metadata: { seq: i, source: 'bench' },
  };
}

async function measure(store: AuditStore, protocol: OtlpProtocol): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ingest-'));
  const app = buildCollector({ store, spoolDir: join(dir, 'spool') });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const endpoint = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const loggers = Array.from({ length: senders }, () =>
    createAuditLogger({ serviceName: 'bench', endpoint, protocol, maxQueueRecords: perSender + 1, scheduledDelayMillis: 50 }),
  );
  const started = process.hrtime.bigint();
  await Promise.all(
    loggers.map(async (audit, s) => {
      for (let i = 0; i < perSender; i++) {
        audit.record(event(s * perSender + i));
        // Yield now and then, as a real app between requests would, so exports interleave.
        if (i % 500 === 499) await new Promise((r) => setImmediate(r));
      }
      await audit.flush({ timeoutMillis: 300_000 });
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  for (const audit of loggers) {
    const stats = audit.stats();
    if (stats.acknowledged !== perSender || stats.refused !== 0) throw new Error(`lost or refused events: ${JSON.stringify(stats)}`);
    await audit.shutdown();
  }
  await app.close();
  rmSync(dir, { recursive: true, force: true });
  return (perSender * senders) / seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  let esUrl = process.env.ELASTICSEARCH_URL;
  let auth = { username: process.env.ELASTICSEARCH_USERNAME ?? '', password: process.env.ELASTICSEARCH_PASSWORD ?? '' };
  let writer = auth;
  let version = 'external';
  let stop = async () => {};
  if (!esUrl) {
    const runDir = mkdtempSync(join(tmpdir(), 'bench-es-'));
    const node = await startElasticsearch({ runDir });
    ({ url: esUrl, version } = node);
    auth = node.admin;
    writer = node.writer;
    stop = async () => {
      await stopElasticsearch(node.pid);
      rmSync(runDir, { recursive: true, force: true });
    };
  }
  const admin = new ElasticsearchStore({ url: esUrl, ...auth });
  await admin.init();
  await admin.close();

  console.log(`machine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}; Elasticsearch ${version}, heap 512 MiB`);
  console.log(`${senders} senders × ${perSender} events, median of ${runs} runs (min–max)\n`);
  console.log('| store | protocol | events/s acknowledged |');
  console.log('| --- | --- | --- |');
  for (const kind of ['elasticsearch', 'sqlite'] as const) {
    for (const protocol of ['http/protobuf', 'http/json'] as const) {
      const rates: number[] = [];
      for (let r = 0; r < runs; r++) {
        const dir = mkdtempSync(join(tmpdir(), 'bench-store-'));
        const store: AuditStore =
          kind === 'elasticsearch' ? new ElasticsearchStore({ url: esUrl, ...writer, installTemplate: false }) : new SqliteStore({ path: join(dir, 'a.sqlite') });
        rates.push(await measure(store, protocol));
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      }
      const fmt = (n: number) => Math.round(n).toLocaleString('en');
      console.log(`| ${kind} | ${protocol} | ${fmt(median(rates))} (${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))}) |`);
    }
  }
  await stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
