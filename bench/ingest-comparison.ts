/**
 * One file on purpose (over 300 lines): a benchmark's paths, method and the RESULTS.md section it
 * writes stay together, so a published number can be traced to exactly one file and rerun from it.
 *
 * Ingest, side by side in one run: events/s acknowledged end to end through our stack
 * (createAuditLogger → OTLP/HTTP protobuf and JSON → our collector → Elasticsearch), against
 * - the ceiling: the same documents bulk-indexed from memory with the official client's
 *   `helpers.bulk` into the same node;
 * - the upstream OpenTelemetry Collector (OTLP receiver → elasticsearchexporter, built by
 *   bench/otelcol/build.sh) fed by the same load generator;
 * plus the latency from record() to searchable at a steady moderate rate, and the SQLite store.
 *
 *   npm run build && npx tsx bench/ingest-comparison.ts
 *
 * Environment: BENCH_EVENTS events per run (default 20000), BENCH_SENDERS loggers (4),
 * BENCH_REPEATS (3), BENCH_SEED (1), BENCH_LATENCY_RATE events/s (200), BENCH_LATENCY_SECONDS (30),
 * BENCH_MAX_FOREIGN_CPU (0.1), BENCH_ATTEMPTS (3), BENCH_MAX_WAIT_SECONDS (180), BENCH_CPU_PROF_DIR
 * (profile our collectors), OTELCOL_BIN (default: build into .cache/otelcol), and the node's
 * variables of bench/support/bench-elasticsearch.ts. `--render` rewrites the RESULTS.md
 * section from bench/results/ingest-comparison.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import type { AuditEvent } from '@otel-audit/contract';
import { createAuditLogger, type AuditEventInput, type AuditLogger, type OtlpProtocol } from '@otel-audit/instrumentation';
import { ElasticsearchStore, SqliteStore, indexFor, READ_ALIAS } from '@otel-audit/store';
// The document ElasticsearchStore.insert() writes for an event (not exported by the package).
import { toDocument } from '../store/dist/internal/ecs-document.js';
import { EventSource, prng } from './generate-events.js';
import { benchElasticsearch, esHeapMiB } from './support/bench-elasticsearch.js';
import { cpuProfileFlags, startChildService, type ChildService } from './support/child-service.js';
import { QuietMachine, describeMachine, machineLine, otherLoad, sleep, type Machine } from './support/quiet-machine.js';
import { BENCH_DIR, readResultsJson, writeResultsJson, writeSection } from './support/results-file.js';
import { duration, fmtMs, fmtRate, median, pct, quantile, shuffled } from './support/stats.js';

const HEADING = '## Ingest: our stack vs the ceiling vs the upstream OpenTelemetry Collector';
const COMMAND = 'npm run build && npx tsx bench/ingest-comparison.ts';
const NAME = 'ingest-comparison';
const REPO = join(BENCH_DIR, '..');

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const SENDERS = Number(process.env.BENCH_SENDERS ?? 4);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const SEED = Number(process.env.BENCH_SEED ?? 1);
const LATENCY_RATE = Number(process.env.BENCH_LATENCY_RATE ?? 200);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 30);
const MAX_FOREIGN_CPU = Number(process.env.BENCH_MAX_FOREIGN_CPU ?? 0.1);
/** The SDK's default batch: one OTLP request carries this many records, one bulk request as many documents. */
const BATCH = 512;

type CellId = 'ours-protobuf' | 'ours-json' | 'otelcol-sync-protobuf' | 'otelcol-sync-json' | 'otelcol-async-protobuf' | 'ceiling' | 'sqlite-protobuf' | 'sqlite-insert';
const CELLS: { id: CellId; label: string }[] = [
  { id: 'ours-protobuf', label: 'our collector → Elasticsearch, http/protobuf' },
  { id: 'ours-json', label: 'our collector → Elasticsearch, http/json' },
  { id: 'otelcol-sync-protobuf', label: 'upstream collector (sync exporter) → Elasticsearch, http/protobuf' },
  { id: 'otelcol-sync-json', label: 'upstream collector (sync exporter) → Elasticsearch, http/json' },
  { id: 'otelcol-async-protobuf', label: 'upstream collector (batch processor, async exporter), http/protobuf' },
  { id: 'ceiling', label: 'ceiling: `helpers.bulk` from memory → Elasticsearch' },
  { id: 'sqlite-protobuf', label: 'our collector → SQLite, http/protobuf' },
  { id: 'sqlite-insert', label: 'SQLite `store.insert()` from memory (its ceiling)' },
];

interface Run {
  events: number;
  /** Until every sender's records were acknowledged (the ceiling: until the bulk helper finished). */
  ackSeconds: number;
  /** Until every document was in the index (indexed, not necessarily refreshed). */
  storedSeconds: number;
  /** Documents found in the index afterwards (after a refresh). */
  stored: number;
  foreignCpu?: number | undefined;
}

interface Results {
  date: string;
  machine: Machine;
  config: { events: number; senders: number; repeats: number; seed: number; batch: number; maxForeignCpu: number; attempts: number; latencyRate: number; latencySeconds: number };
  otelcolVersion: string;
  cells: Record<string, { runs: Run[]; discarded: Run[] }>;
  latency: { rate: number; seconds: number; events: number; p50: number; p90: number; p99: number; max: number; pollMs: number };
  documentBytes: { ours: number; otelcol: number };
  totalSeconds: number;
  waitedSeconds: number;
}

// ---- the load generator --------------------------------------------------------------------

/** What an application passes to record(): the generated event less what record() fills in. */
function toInput(e: AuditEvent): AuditEventInput {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { id, service, ...input } = e;
  return input;
}

/**
 * SENDERS loggers (the real OTel SDK exporter in our instrumentation) record `inputs` as fast
 * as they can, yielding now and then as an application between requests would, then flush.
 * Resolves when every record was acknowledged; throws if one was refused or lost.
 */
async function sendAll(endpoint: string, protocol: OtlpProtocol, inputs: AuditEventInput[]): Promise<number> {
  const per = Math.ceil(inputs.length / SENDERS);
  const loggers: AuditLogger[] = Array.from({ length: SENDERS }, () =>
    createAuditLogger({ serviceName: 'bench', endpoint, protocol, maxQueueRecords: per + 1, maxBatchSize: BATCH, scheduledDelayMillis: 50, exportTimeoutMillis: 60_000 }),
  );
  const started = performance.now();
  await Promise.all(
    loggers.map(async (audit, s) => {
      const mine = inputs.slice(s * per, (s + 1) * per);
      for (let i = 0; i < mine.length; i++) {
        audit.record(mine[i]!);
        if (i % 500 === 499) await new Promise((r) => setImmediate(r));
      }
      await audit.flush({ timeoutMillis: 300_000 });
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  let acknowledged = 0;
  for (const audit of loggers) {
    const stats = audit.stats();
    if (stats.refused !== 0) throw new Error(`refused events: ${JSON.stringify(stats)}`);
    acknowledged += stats.acknowledged;
    await audit.shutdown();
  }
  if (acknowledged !== inputs.length) throw new Error(`${inputs.length} recorded, ${acknowledged} acknowledged`);
  return seconds;
}

// ---- Elasticsearch helpers -----------------------------------------------------------------

async function indexedTotal(client: Client, index: string): Promise<number> {
  try {
    const stats = await client.indices.stats({ index, metric: 'indexing' });
    return stats._all?.primaries?.indexing?.index_total ?? 0;
  } catch {
    return 0;
  }
}

/** Polls the indexing counter (no refresh, so it does not change what it measures) every 50 ms. */
async function waitIndexed(client: Client, index: string, expected: number, started: number, timeoutMs = 120_000): Promise<number> {
  for (;;) {
    if ((await indexedTotal(client, index)) >= expected) return (performance.now() - started) / 1000;
    if (performance.now() - started > timeoutMs) throw new Error(`${index}: fewer than ${expected} documents indexed after ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function countAfterRefresh(client: Client, index: string): Promise<number> {
  await client.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  return (await client.count({ index, ignore_unavailable: true, allow_no_indices: true })).count;
}

async function averageSourceBytes(client: Client, index: string): Promise<number> {
  const page = await client.search<Record<string, unknown>>({ index, size: 200 });
  const sizes = page.hits.hits.map((h) => Buffer.byteLength(JSON.stringify(h._source)));
  return sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// ---- the run -------------------------------------------------------------------------------

function otelcolBinary(): string {
  if (process.env.OTELCOL_BIN) return process.env.OTELCOL_BIN;
  const built = spawnSync('bash', [join(BENCH_DIR, 'otelcol', 'build.sh')], { stdio: 'inherit', cwd: REPO });
  if (built.status !== 0) throw new Error('bench/otelcol/build.sh failed');
  return join(REPO, '.cache', 'otelcol', 'otelcol-audit-bench');
}

async function main(): Promise<void> {
  if (process.argv.includes('--render')) {
    writeSection(HEADING, render(readResultsJson<Results>(NAME)));
    console.log(`rewrote "${HEADING}" from bench/results/${NAME}.json`);
    return;
  }
  const began = performance.now();
  const loadBefore = os.loadavg();
  const binary = otelcolBinary();
  const otelcolVersion = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const es = await benchElasticsearch('1g');
  const quiet = new QuietMachine({ maxForeignCpu: MAX_FOREIGN_CPU });
  quiet.own(es.pid);
  const children: ChildService[] = [];
  const tmp = mkdtempSync(join(os.tmpdir(), 'otel-audit-bench-ingest-'));
  try {
    const admin = new ElasticsearchStore({ url: es.url, ...es.admin });
    await admin.init();
    const su = new ElasticsearchStore({ url: es.url, ...es.superuser, installTemplate: false });
    const writer = new ElasticsearchStore({ url: es.url, ...es.writer, installTemplate: false });

    // Our collector, as deployed: its own process (the CLI), least-privilege writer, spool on.
    const cli = join(REPO, 'cli', 'dist', 'main.js');
    const collectorEnv = (extra: NodeJS.ProcessEnv, dir: string): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      AUDIT_COLLECTOR_PORT: '0',
      AUDIT_COLLECTOR_GRPC_PORT: '0',
      AUDIT_DATA_DIR: dir,
      AUDIT_RETENTION_DAYS: '0',
      ...extra,
    });
    const ours = await startChildService(process.execPath, [...cpuProfileFlags(), cli, 'collector'], {
      name: 'our collector (Elasticsearch)',
      env: collectorEnv({ ELASTICSEARCH_URL: es.url, ELASTICSEARCH_USERNAME: es.writer.username, ELASTICSEARCH_PASSWORD: es.writer.password, AUDIT_ES_INSTALL_TEMPLATE: 'false' }, join(tmp, 'es-collector')),
      ready: /collector listening on (http:\/\/[0-9.:]+)/,
    });
    children.push(ours);
    quiet.own(ours.pid);
    const sqliteDir = join(tmp, 'sqlite-collector');
    const oursSqlite = await startChildService(process.execPath, [...cpuProfileFlags(), cli, 'collector'], {
      name: 'our collector (SQLite)',
      env: collectorEnv({}, sqliteDir),
      ready: /collector listening on (http:\/\/[0-9.:]+)/,
    });
    children.push(oursSqlite);
    quiet.own(oursSqlite.pid);
    const [syncPort, asyncPort] = [await freePort(), await freePort()];
    const otelcol = await startChildService(binary, ['--config', join(BENCH_DIR, 'otelcol', 'otelcol-config.yaml')], {
      name: 'upstream collector',
      env: {
        PATH: process.env.PATH,
        OTELCOL_SYNC_PORT: String(syncPort),
        OTELCOL_ASYNC_PORT: String(asyncPort),
        ELASTICSEARCH_URL: es.url,
        ELASTICSEARCH_USERNAME: es.superuser.username,
        ELASTICSEARCH_PASSWORD: es.superuser.password,
      },
      ready: /Everything is ready/,
    });
    children.push(otelcol);
    quiet.own(otelcol.pid);
    console.error(`our collector ${ours.ready}, SQLite ${oursSqlite.ready}; ${otelcolVersion} on ${syncPort} (sync) and ${asyncPort} (async)`);

    const sqliteStore = new SqliteStore({ path: join(tmp, 'insert.sqlite') });
    const cellsRuns: Results['cells'] = Object.fromEntries(CELLS.map((c) => [c.id, { runs: [], discarded: [] }]));
    const total = EVENTS * (CELLS.length * REPEATS * 2 + 2);
    const source = new EventSource(SEED, total);
    const order = prng(SEED + 1);

    const runCell = async (id: CellId, events: AuditEvent[]): Promise<Run> => {
      const dead = children.find((child) => !child.alive);
      if (dead) throw new Error('a server of the benchmark has exited: see above');
      const inputs = events.map(toInput);
      const n = events.length;
      switch (id) {
        case 'ours-protobuf':
        case 'ours-json': {
          const before = await countAfterRefresh(su.client, READ_ALIAS);
          const ackSeconds = await sendAll(ours.ready, id === 'ours-json' ? 'http/json' : 'http/protobuf', inputs);
          const stored = (await countAfterRefresh(su.client, READ_ALIAS)) - before;
          return { events: n, ackSeconds, storedSeconds: ackSeconds, stored };
        }
        case 'otelcol-sync-protobuf':
        case 'otelcol-sync-json':
        case 'otelcol-async-protobuf': {
          const async = id === 'otelcol-async-protobuf';
          const index = async ? 'otelcol-async' : 'otelcol-sync';
          const port = async ? asyncPort : syncPort;
          const before = await countAfterRefresh(su.client, index);
          const indexedBefore = await indexedTotal(su.client, index);
          const t0 = performance.now();
          const ackSeconds = await sendAll(`http://127.0.0.1:${port}`, id === 'otelcol-sync-json' ? 'http/json' : 'http/protobuf', inputs);
          const storedSeconds = await waitIndexed(su.client, index, indexedBefore + n, t0);
          const stored = (await countAfterRefresh(su.client, index)) - before;
          return { events: n, ackSeconds, storedSeconds, stored };
        }
        case 'ceiling': {
          const docs = events.map((e) => ({ ...toDocument({ ...e, service: { name: 'bench' } }) }));
          const before = await countAfterRefresh(su.client, READ_ALIAS);
          const t0 = performance.now();
          const stats = await writer.client.helpers.bulk<Record<string, unknown>>({
            datasource: docs,
            onDocument: (doc) => ({ create: { _index: indexFor(doc['@timestamp'] as string), _id: (doc.event as { id: string }).id } }),
            flushBytes: bulkBytesFor(docs),
            concurrency: SENDERS,
            retries: 0,
          });
          const seconds = (performance.now() - t0) / 1000;
          if (stats.failed > 0) throw new Error(`ceiling: ${stats.failed} documents failed`);
          const stored = (await countAfterRefresh(su.client, READ_ALIAS)) - before;
          return { events: n, ackSeconds: seconds, storedSeconds: seconds, stored };
        }
        case 'sqlite-protobuf': {
          const ackSeconds = await sendAll(oursSqlite.ready, 'http/protobuf', inputs);
          return { events: n, ackSeconds, storedSeconds: ackSeconds, stored: n };
        }
        case 'sqlite-insert': {
          const t0 = performance.now();
          let created = 0;
          for (let i = 0; i < n; i += BATCH) created += (await sqliteStore.insert(events.slice(i, i + BATCH))).created;
          const seconds = (performance.now() - t0) / 1000;
          return { events: n, ackSeconds: seconds, storedSeconds: seconds, stored: created };
        }
      }
    };

    console.error(`warm-up: ${Math.min(EVENTS, 10_000)} events through each path`);
    for (const c of CELLS) {
      const run = await runCell(c.id, source.take(Math.min(EVENTS, 10_000)));
      console.error(`  ${c.id}: ${fmtRate(run.events / run.storedSeconds)} events/s`);
    }
    for (let round = 1; round <= REPEATS; round++) {
      for (const cell of shuffled(CELLS, order)) {
        const { result, foreignCpu, discarded } = await quiet.run(cell.id, () => runCell(cell.id, source.take(EVENTS)));
        result.foreignCpu = foreignCpu;
        cellsRuns[cell.id]!.runs.push(result);
        cellsRuns[cell.id]!.discarded.push(...discarded);
        if (result.stored !== result.events && !cell.id.startsWith('sqlite')) console.error(`  ${cell.id}: ${result.events} sent, ${result.stored} stored`);
        console.error(
          `round ${round}/${REPEATS}  ${cell.id.padEnd(24)} ${fmtRate(result.events / result.ackSeconds).padStart(7)} acknowledged/s  ` +
            `${fmtRate(result.events / result.storedSeconds).padStart(7)} stored/s  stored ${result.stored}/${result.events}` +
            (foreignCpu === undefined ? '' : `  other processes ${Math.round(foreignCpu * 100)} % CPU`) +
            `  [${Math.round((performance.now() - began) / 1000)} s]`,
        );
      }
    }

    // Document shapes: what each path stores for the same records.
    const shapeEvents = source.take(2000);
    await sendAll(ours.ready, 'http/protobuf', shapeEvents.map(toInput));
    await sendAll(`http://127.0.0.1:${syncPort}`, 'http/protobuf', shapeEvents.map(toInput));
    await su.client.indices.refresh({ index: [READ_ALIAS, 'otelcol-sync'] });
    const documentBytes = { ours: await averageSourceBytes(su.client, READ_ALIAS), otelcol: await averageSourceBytes(su.client, 'otelcol-sync') };
    console.error(`otelcol document:\n${JSON.stringify((await su.client.search({ index: 'otelcol-sync', size: 1 })).hits.hits[0]?._source, null, 2)}`);

    console.error(`latency: ${LATENCY_RATE} events/s for ${LATENCY_SECONDS} s`);
    await quiet.waitForQuiet();
    const latency = await measureLatency(ours.ready, su.client, source);

    const results: Results = {
      date: new Date().toISOString(),
      machine: describeMachine({ elasticsearch: es.version, esHeapMiB: await esHeapMiB(su.client), ownNode: es.pid !== undefined, loadBefore }),
      config: { events: EVENTS, senders: SENDERS, repeats: REPEATS, seed: SEED, batch: BATCH, maxForeignCpu: MAX_FOREIGN_CPU, attempts: quiet.attempts, latencyRate: LATENCY_RATE, latencySeconds: LATENCY_SECONDS },
      otelcolVersion,
      cells: cellsRuns,
      latency,
      documentBytes,
      totalSeconds: 0,
      waitedSeconds: quiet.waitedSeconds,
    };
    await Promise.all([admin.close(), su.close(), writer.close(), sqliteStore.close()]);
    for (const child of children.splice(0)) await child.stop();
    await es.stop();
    results.totalSeconds = (performance.now() - began) / 1000;
    writeResultsJson(NAME, results);
    const section = render(results);
    console.log(section);
    writeSection(HEADING, section);
  } finally {
    for (const child of children) await child.stop();
    await es.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** flushBytes that makes the bulk helper send about BATCH documents per request, like one OTLP request. */
function bulkBytesFor(docs: Record<string, unknown>[]): number {
  const sample = docs.slice(0, 200);
  const avg = sample.reduce((s, d) => s + Buffer.byteLength(JSON.stringify(d)) + 80, 0) / Math.max(1, sample.length);
  return Math.round(avg * BATCH);
}

/**
 * One logger records LATENCY_RATE events/s, evenly spaced, for LATENCY_SECONDS; the logger's
 * defaults (batches flushed every second) as an application would run it. A poller asks the
 * read alias every `pollMs` which of the outstanding ids it can find — an ordinary search, so
 * an event counts once Elasticsearch's periodic refresh (1 s) has made it visible, as for a user.
 */
async function measureLatency(endpoint: string, client: Client, source: EventSource): Promise<Results['latency']> {
  const pollMs = 50;
  const audit = createAuditLogger({ serviceName: 'bench-latency', endpoint, protocol: 'http/protobuf' });
  const recordedAt = new Map<string, number>();
  const latencies: number[] = [];
  let recording = true;
  const poller = (async () => {
    while (recording || recordedAt.size > 0) {
      const ids = [...recordedAt.keys()].slice(0, 2000);
      if (ids.length > 0) {
        const res = await client.search({ index: READ_ALIAS, size: ids.length, _source: false, docvalue_fields: ['event.id'], query: { terms: { 'event.id': ids } } }).catch(() => undefined);
        const now = performance.now();
        for (const hit of res?.hits.hits ?? []) {
          const id = (hit.fields?.['event.id'] as string[] | undefined)?.[0];
          const t0 = id === undefined ? undefined : recordedAt.get(id);
          if (id !== undefined && t0 !== undefined) {
            latencies.push(now - t0);
            recordedAt.delete(id);
          }
        }
      }
      await sleep(pollMs);
    }
  })();
  const n = Math.round(LATENCY_RATE * LATENCY_SECONDS);
  // Event times now, not last week's: the stored day is today's index, as in production.
  const events = source.take(n).map((e) => {
    const input = toInput(e);
    delete input.time;
    return input;
  });
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const due = started + (i * 1000) / LATENCY_RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    recordedAt.set(audit.record(events[i]!), performance.now());
  }
  recording = false;
  await audit.flush({ timeoutMillis: 60_000 });
  const deadline = performance.now() + 30_000;
  while (recordedAt.size > 0 && performance.now() < deadline) await sleep(100);
  if (recordedAt.size > 0) throw new Error(`${recordedAt.size} events never became searchable`);
  recording = false;
  recordedAt.clear();
  await poller;
  await audit.shutdown();
  return {
    rate: LATENCY_RATE,
    seconds: LATENCY_SECONDS,
    events: latencies.length,
    p50: quantile(latencies, 0.5),
    p90: quantile(latencies, 0.9),
    p99: quantile(latencies, 0.99),
    max: Math.max(...latencies),
    pollMs,
  };
}

// ---- reporting -----------------------------------------------------------------------------

function render(r: Results): string {
  const m = r.machine;
  const c = r.config;
  const rate = (id: CellId, stored = true) => median(r.cells[id]!.runs.map((run) => run.events / (stored ? run.storedSeconds : run.ackSeconds)));
  const range = (id: CellId, stored = true) => {
    const xs = r.cells[id]!.runs.map((run) => run.events / (stored ? run.storedSeconds : run.ackSeconds));
    return `${fmtRate(Math.min(...xs))} – ${fmtRate(Math.max(...xs))}`;
  };
  /** Same-run ratios: run i of one cell against run i of the other (both in round i), then the median. */
  const ratio = (a: CellId, b: CellId) => {
    const ra = r.cells[a]!.runs;
    const rb = r.cells[b]!.runs;
    return median(ra.map((run, i) => run.events / run.storedSeconds / (rb[i]!.events / rb[i]!.storedSeconds)));
  };
  const lost = (id: CellId) => r.cells[id]!.runs.reduce((s, run) => s + (run.events - run.stored), 0);
  const allRuns = Object.values(r.cells).flatMap((x) => x.runs);
  const foreign = allRuns.map((run) => run.foreignCpu).filter((x): x is number => x !== undefined);
  const discarded = Object.values(r.cells).reduce((s, x) => s + x.discarded.length, 0);
  const lines = [
    HEADING,
    '',
    `Events/s from the first \`record()\` until every event is stored, through each path, in one run on one Elasticsearch node. Measured ${r.date.slice(0, 10)}; the whole run took ${duration(r.totalSeconds)}, of which ${duration(r.waitedSeconds)} waiting for other processes.`,
    '',
    `- **Machine**: ${machineLine(m)}.`,
    `- **Elasticsearch**: ${m.elasticsearch}, one node started by the benchmark (scripts/elasticsearch.ts, security on, plain HTTP on loopback), heap ${m.esHeapMiB ?? '?'} MiB, 1 shard, no replica. Node, collectors and load generator share the ${m.cpus} cores.`,
    `- **Load generator** (the same for every path): ${c.senders} \`createAuditLogger\` instances in one process — our instrumentation around the OTel SDK's OTLP/HTTP log exporter (protobuf or JSON), batches of ${c.batch} records, up to ${c.senders} requests in flight — recording ${fmtRate(c.events)} events per run from \`bench/generate-events.ts\` (seed ${c.seed}: the catalogue's mix of actions, users, workspaces, IPv4/IPv6, changes, metadata) as fast as they take them, then flushing. A run ends when every record was acknowledged; it fails if one was refused.`,
    `- **Our collector**: \`node cli/dist/main.js collector\`, its own process, spool on, as the create-only \`audit-writer\` user: one bulk \`create\` request per OTLP request (${c.batch} documents), answering the sender only once Elasticsearch (or the fsynced spool) has the records. Acknowledged = stored.`,
    `- **Ceiling**: the same events mapped to our documents in memory before the clock starts, sent with the official client's \`helpers.bulk\` as the same user into the same daily indices, \`create\` with the event id, shaped like the collector's writes (flushBytes ≈ ${c.batch} documents, ${c.senders} requests in flight): no HTTP hop, no decoding, no validation.`,
    `- **Upstream**: ${r.otelcolVersion} built from the pinned manifest \`bench/otelcol/builder-config.yaml\` (OTLP receiver, batch processor, contrib \`elasticsearchexporter\`) by \`bench/otelcol/build.sh\`, config \`bench/otelcol/otelcol-config.yaml\`, its own process, writing as the superuser (the benchmark's least-privilege users cover \`audit-*\` only). *Sync*: exporter with \`batcher::enabled: false\`, so each OTLP request becomes one bulk request and is answered after Elasticsearch took it (at-least-once, the same contract and batch size as ours). *Async*: batch processor (${c.batch}) → the exporter's default bulk indexer (≈ 1 MB / 4 workers / 200 ms): the sender is answered when the batch processor has queued the records, *before* they are stored (a crash loses them), so its rate here is until the documents were indexed (polled from the index's indexing counter every 50 ms), its acknowledgement rate beside it.`,
    `- **Documents differ**: ours are ECS documents under a strict mapping (${fmtRate(r.documentBytes.ours)} bytes of \`_source\` on average), with the event id as \`_id\` (a retried batch cannot duplicate: \`create\` answers 409); upstream's \`ecs\` mapping mode (its default \`otel\` mode writes only into data streams, which the minimal distribution lacks) puts the record's attributes back at the root under their dotted names (\`user.*\`, \`audit.*\`, \`client.address\`, \`session.id\`, \`user_agent.original\`, \`log.record.uid\`), the body in \`message\`, the SDK's resource as \`service.name\` and \`agent.*\`, severity as \`log.level\` / \`event.severity\` — and drops the LogRecord's event name, i.e. the action (${fmtRate(r.documentBytes.otelcol)} bytes on average) — under dynamic mapping into one static index, with ids chosen by Elasticsearch — its retries (on 429 only, by default) may duplicate, and nothing deduplicates by \`log.record.uid\` unless a processor copies it to \`elasticsearch.document_id\` with \`logs_dynamic_id\` on (not in this build).`,
    `- **Method**: ${c.repeats} rounds; each round runs every path once, in a shuffled order, on fresh events, after a warm-up that also creates every index; the indices grow as the run goes on (the shuffled order spreads that over every path alike), and each run's new documents are counted after a refresh. Ratios are taken between runs of the same round, then the median. ${otherLoad(foreign, discarded, c)}`,
    `- **Rerun**: \`${COMMAND}\` (\`BENCH_EVENTS\`, \`BENCH_SENDERS\`, \`BENCH_REPEATS\`, \`BENCH_LATENCY_RATE\`, \`BENCH_LATENCY_SECONDS\`; \`ELASTICSEARCH_URL\` for your own node, \`OTELCOL_BIN\` for your own upstream build). Raw numbers: \`bench/results/${NAME}.json\`.`,
    '',
    `| path | events/s stored, median | min – max | acknowledged/s | vs ceiling (same round) | documents lost / duplicated |`,
    `| --- | ---: | ---: | ---: | ---: | ---: |`,
  ];
  for (const cell of CELLS) {
    const runs = r.cells[cell.id]!.runs;
    if (runs.length === 0) continue;
    const vsCeiling = cell.id.startsWith('sqlite') ? '—' : pct(ratio(cell.id, 'ceiling'), 1);
    const l = lost(cell.id);
    lines.push(`| ${cell.label} | **${fmtRate(rate(cell.id))}** | ${range(cell.id)} | ${fmtRate(rate(cell.id, false))} | ${vsCeiling} | ${l === 0 ? '0' : l > 0 ? `${l} lost` : `${-l} duplicated`} |`);
  }
  const lat = r.latency;
  lines.push(
    '',
    `**Headline (same-round medians).** Our stack stores ${pct(ratio('ours-protobuf', 'ceiling'), 1)} (protobuf) and ${pct(ratio('ours-json', 'ceiling'), 1)} (JSON) of the ceiling's rate; ` +
      `against the upstream collector with the same delivery contract (sync exporter) ours makes ${ratio('ours-protobuf', 'otelcol-sync-protobuf').toFixed(2)}× (protobuf) and ${ratio('ours-json', 'otelcol-sync-json').toFixed(2)}× (JSON) its rate, ` +
      `and ${ratio('ours-protobuf', 'otelcol-async-protobuf').toFixed(2)}× the rate at which its batch-processor pipeline gets documents indexed. ` +
      `SQLite: ${fmtRate(rate('sqlite-protobuf'))} events/s end to end, ${pct(ratio('sqlite-protobuf', 'sqlite-insert'), 1)} of its own \`insert()\` rate from memory (${fmtRate(rate('sqlite-insert'))}/s: WAL, synchronous=FULL, one transaction per batch).`,
    '',
    `**Latency, \`record()\` to searchable**: ${fmtRate(lat.rate)} events/s for ${lat.seconds} s (${fmtRate(lat.events)} events) through our collector with the logger's defaults: ` +
      `p50 **${fmtMs(lat.p50)} ms**, p90 ${fmtMs(lat.p90)} ms, p99 **${fmtMs(lat.p99)} ms**, max ${fmtMs(lat.max)} ms. Measured from the moment \`record()\` returned to the first ordinary search (every ${lat.pollMs} ms, by event id on the read alias, no forced refresh) that finds the event; ` +
      `it is made of the logger's batch delay (up to 1 s: \`scheduledDelayMillis\`), the OTLP request and bulk write (tens of ms), and Elasticsearch's refresh interval (1 s), so about 1 s on average and 2 s at worst by design.`,
  );
  return lines.join('\n');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
