/**
 * One file on purpose (over 300 lines): a benchmark's paths, method and the RESULTS.md section it
 * writes stay together, so a published number can be traced to exactly one file and rerun from it.
 *
 * How should the collector batch its writes to Elasticsearch? Events/s for every batch size ×
 * number of insert() calls in flight, through `ElasticsearchStore.insert()` — the collector's own
 * path: bulk `create`, the event id as `_id`, daily indices, as the create-only writer user — and,
 * for comparison, the official client's bulk helper sending the very same documents.
 *
 *   npm run build && npx tsx bench/es-bulk-batching.ts
 *
 * It starts its own Elasticsearch node (scripts/elasticsearch.ts, temporary folder, 512 MiB heap)
 * and stops it at the end, or uses ELASTICSEARCH_URL / ELASTICSEARCH_USERNAME / ELASTICSEARCH_PASSWORD
 * (the admin, for the template and the counts) with ELASTICSEARCH_WRITER_USERNAME /
 * ELASTICSEARCH_WRITER_PASSWORD for the writes (default: the admin). On a node of your own it writes
 * into audit-events-2025.03.03 … 09: use a throw-away node, or delete those indices afterwards.
 *
 * Tuning (environment): BENCH_EVENTS events per run of a cell (default 60000), BENCH_REPEATS (3),
 * BENCH_BATCH_SIZES (100,250,500,1000,2000,5000), BENCH_CONCURRENCY (1,2,4), BENCH_SEED (1),
 * BENCH_WARMUP (60000 events), BENCH_MAX_FOREIGN_CPU (0.1: share of the CPU other processes may use
 * during a run before it is measured again).
 * The raw numbers go to bench/results/es-bulk-batching.json and the section
 * "## Elasticsearch bulk batching (collector → store)" of bench/RESULTS.md is replaced (other
 * sections are kept). `--render` rewrites that section from the JSON without running anything.
 */
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { AUDIT_ACTIONS, validateAuditEvent, type AuditEvent } from '@otel-audit/contract';
import { ElasticsearchStore, indexFor } from '@otel-audit/store';
// The document ElasticsearchStore.insert() writes for an event (not exported by the package):
// the bulk helper must send exactly the same bytes for the comparison to mean anything.
import { toDocument } from '../store/dist/internal/ecs-document.js';
import { EventSource, prng } from './generate-events.js';
import { ES_VERSION, startElasticsearch, stopElasticsearch, unavailableReason, type RunningElasticsearch } from '../scripts/elasticsearch.js';
import { esHeapMiB } from './support/bench-elasticsearch.js';
import { QuietMachine, describeMachine, machineLine, type Machine } from './support/quiet-machine.js';
import { readResultsJson, writeResultsJson, writeSection as writeResultsSection } from './support/results-file.js';
import { duration, fmtMiB, fmtMs, fmtRate, median, quantile, shuffled } from './support/stats.js';

const HEADING = '## Elasticsearch bulk batching (collector → store)';
const COMMAND = 'npm run build && npx tsx bench/es-bulk-batching.ts';
const NAME = 'es-bulk-batching';

const list = (name: string, fallback: number[]) =>
  process.env[name] ? process.env[name]!.split(',').map((v) => Number(v.trim())) : fallback;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 60_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const BATCH_SIZES = list('BENCH_BATCH_SIZES', [100, 250, 500, 1000, 2000, 5000]);
const CONCURRENCY = list('BENCH_CONCURRENCY', [1, 2, 4]);
const SEED = Number(process.env.BENCH_SEED ?? 1);
const WARMUP_EVENTS = Number(process.env.BENCH_WARMUP ?? 60_000);
/** A run during which other processes used more of the machine's CPU than this is measured again… */
const MAX_FOREIGN_CPU = Number(process.env.BENCH_MAX_FOREIGN_CPU ?? 0.1);
/** …at most this many times in all. */
const ATTEMPTS = 3;
/**
 * The client's bulk helper: with its own defaults (5 MB per request, 5 requests in flight), and
 * shaped like about 1000 events × 2 in flight, to tell the store's overhead at one shape.
 */
const HELPER_CONFIGS = [
  { flushBytes: 5_000_000, concurrency: 5 },
  { flushBytes: 1_048_576, concurrency: 2 },
];

/** Checks every 20th event against the contract; the collector would reject an invalid one. */
function validated(events: AuditEvent[]): AuditEvent[] {
  for (let i = 0; i < events.length; i += 20) {
    const result = validateAuditEvent(events[i]);
    if (!result.ok) throw new Error(`generated an invalid event: ${result.problems.join('; ')}\n${JSON.stringify(events[i])}`);
    validatedCount += 1;
  }
  return events;
}
let validatedCount = 0;

// ---- measuring -----------------------------------------------------------------------------

interface Run {
  events: number;
  seconds: number;
  perSecond: number;
  /** Store: one insert() call each (serialising included). Helper: one bulk request each. */
  latenciesMs: number[];
  requests: number;
  bytes: number;
  created: number;
  duplicates: number;
  failed: number;
  /** Items refused as retryable: 429 (indexing pressure, write queue full) or 5xx. */
  rejected: number;
  /** Share of the machine's CPU used by processes other than this one and the node (Linux). */
  foreignCpu?: number;
}

interface Cell {
  kind: 'store' | 'helper';
  batchSize: number;
  concurrency: number;
  flushBytes?: number;
  runs: Run[];
  /** Runs measured again because other processes were busy meanwhile. */
  discarded?: Run[];
}

interface Results {
  date: string;
  machine: Machine;
  config: { events: number; repeats: number; batchSizes: number[]; concurrency: number[]; seed: number; warmup: number; maxForeignCpu?: number };
  cells: Cell[];
  indices: Record<string, number>;
  validatedEvents: number;
  totalSeconds: number;
  /** Of which waiting for other processes to leave the cores alone. */
  waitedSeconds?: number;
}

/** Bytes and timing of every request the client sends, from its diagnostic events. */
class RequestMeter {
  bytes = 0;
  requests = 0;
  latenciesMs: number[] = [];
  readonly #started = new Map<unknown, number>();
  constructor(store: ElasticsearchStore) {
    store.client.diagnostic.on('request', (_err, meta) => {
      if (!meta) return;
      this.#started.set(meta.meta.request.id, performance.now());
      const body = meta.meta.request.params.body;
      if (typeof body === 'string' || Buffer.isBuffer(body)) this.bytes += Buffer.byteLength(body);
      this.requests += 1;
    });
    store.client.diagnostic.on('response', (_err, meta) => {
      const t0 = meta ? this.#started.get(meta.meta.request.id) : undefined;
      if (meta && t0 !== undefined) {
        this.latenciesMs.push(performance.now() - t0);
        this.#started.delete(meta.meta.request.id);
      }
    });
  }
  reset(): void {
    this.bytes = 0;
    this.requests = 0;
    this.latenciesMs = [];
  }
}

async function runStore(store: ElasticsearchStore, meter: RequestMeter, events: AuditEvent[], batchSize: number, concurrency: number): Promise<Run> {
  const run: Run = { events: events.length, seconds: 0, perSecond: 0, latenciesMs: [], requests: 0, bytes: 0, created: 0, duplicates: 0, failed: 0, rejected: 0 };
  meter.reset();
  let next = 0;
  const worker = async () => {
    while (next < events.length) {
      const batch = events.slice(next, (next += batchSize));
      const t0 = performance.now();
      const result = await store.insert(batch);
      run.latenciesMs.push(performance.now() - t0);
      run.created += result.created;
      run.duplicates += result.duplicates;
      run.failed += result.failed.length;
      // Retryable: 429 (indexing pressure, write queue full) or 5xx.
      run.rejected += result.failed.filter((f) => f.retryable).length;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  run.seconds = (performance.now() - started) / 1000;
  run.perSecond = run.created / run.seconds;
  run.requests = meter.requests;
  run.bytes = meter.bytes;
  return run;
}

async function runHelper(store: ElasticsearchStore, meter: RequestMeter, events: AuditEvent[], flushBytes: number, concurrency: number): Promise<Run> {
  meter.reset();
  let rejected = 0;
  const started = performance.now();
  const stats = await store.client.helpers.bulk<Record<string, unknown>>({
    // Mapped lazily, as the store maps each batch: the conversion is part of the cost.
    datasource: (async function* () {
      for (const e of events) yield toDocument(e);
    })(),
    onDocument: (doc) => ({ create: { _index: indexFor(doc['@timestamp'] as string), _id: (doc.event as { id: string }).id } }),
    flushBytes,
    concurrency,
    retries: 0,
    onDrop: (drop) => {
      if (drop.status === 429) rejected += 1;
    },
  });
  const seconds = (performance.now() - started) / 1000;
  return {
    events: events.length,
    seconds,
    perSecond: stats.successful / seconds,
    latenciesMs: meter.latenciesMs,
    requests: meter.requests,
    bytes: stats.bytes,
    created: stats.successful,
    duplicates: 0,
    failed: stats.failed,
    rejected,
  };
}

function cellName(cell: Cell): string {
  return cell.kind === 'store' ? `batch ${cell.batchSize} × ${cell.concurrency}` : `helpers.bulk ${cell.flushBytes} B × ${cell.concurrency}`;
}

// ---- reporting -----------------------------------------------------------------------------

interface Summary {
  cell: Cell;
  rate: number;
  min: number;
  max: number;
  p50: number;
  p95: number;
  pMax: number;
  bodyBytes: number;
  docsPerRequest: number;
  problems: number;
}

function summarize(cell: Cell): Summary {
  const rates = cell.runs.map((r) => r.perSecond);
  const latencies = cell.runs.flatMap((r) => r.latenciesMs);
  const requests = cell.runs.reduce((s, r) => s + r.requests, 0);
  const bytes = cell.runs.reduce((s, r) => s + r.bytes, 0);
  const events = cell.runs.reduce((s, r) => s + r.events, 0);
  return {
    cell,
    rate: median(rates),
    min: Math.min(...rates),
    max: Math.max(...rates),
    p50: quantile(latencies, 0.5),
    p95: quantile(latencies, 0.95),
    pMax: Math.max(...latencies),
    bodyBytes: requests > 0 ? bytes / requests : NaN,
    docsPerRequest: requests > 0 ? events / requests : NaN,
    problems: cell.runs.reduce((s, r) => s + r.failed + r.duplicates + (r.events - r.created - r.duplicates - r.failed), 0),
  };
}

function render(results: Results): string {
  const { machine: m, config: c } = results;
  const store = results.cells.filter((x) => x.kind === 'store').map(summarize);
  const helper = results.cells.filter((x) => x.kind === 'helper').map(summarize);
  const at = (b: number, k: number) => store.find((s) => s.cell.batchSize === b && s.cell.concurrency === k);
  const rounded = store
    .filter((x) => x.cell.runs[0] && x.cell.runs[0].events !== c.events)
    .map((x) => `${x.cell.batchSize} × ${x.cell.concurrency}: ${x.cell.runs[0]!.events.toLocaleString('en-US')}`);
  const foreign = results.cells.flatMap((x) => x.runs.map((r) => r.foreignCpu)).filter((v): v is number => v !== undefined);
  const discarded = results.cells.reduce((sum, x) => sum + (x.discarded?.length ?? 0), 0);
  const measured = results.cells.flatMap((x) => x.runs).reduce((sum, r) => sum + r.seconds, 0);
  const discardedSeconds = results.cells.flatMap((x) => x.discarded ?? []).reduce((sum, r) => sum + r.seconds, 0);
  const lines: string[] = [HEADING, ''];
  lines.push(
    `How many events one \`ElasticsearchStore.insert()\` call should carry and how many calls the collector should keep in flight. ` +
      `Every write is the collector's path: bulk \`create\` with the event id as \`_id\`, into daily indices, as the create-only \`audit-writer\` user. ` +
      `Measured ${results.date.slice(0, 10)}; the whole run took ${duration(results.totalSeconds)}, of which ${duration(measured)} in the measured runs` +
      (discardedSeconds > 0 ? ` and ${duration(discardedSeconds)} in runs measured again` : '') +
      (results.waitedSeconds ? ` and ${duration(results.waitedSeconds)} waiting for other processes` : '') +
      `; the rest is starting the node, the warm-up and making the events` +
      (results.waitedSeconds === undefined ? ', and waiting for other processes (not timed apart in this run).' : '.'),
    '',
    `- **Machine**: ${machineLine(m)}.`,
    `- **Elasticsearch**: ${m.elasticsearch}, ${m.ownNode ? 'one node started by the benchmark (scripts/elasticsearch.ts: minimal distribution, security on, plain HTTP on loopback)' : 'the node at ELASTICSEARCH_URL'}, heap ${m.esHeapMiB ?? '?'} MiB, 1 shard per daily index, no replica, default refresh (idle shards skip it: nothing searches during the run). The node and the benchmark share the same cores, as a collector next to its Elasticsearch would.`,
    `- **Events**: deterministic (seed ${c.seed}), ${Object.keys(AUDIT_ACTIONS).length} catalogue actions (log on/off, record reads and updates and task actions most often), 200 users, 6 service accounts, 20 workspaces, IPv4 and IPv6 addresses, browser and API user agents, resources, changes on updates, metadata on a quarter of them; ids are UUIDv7 of the event time. Times move through one week as the run goes on, 3 % arriving up to 36 h late, so ${Object.keys(results.indices).length} daily indices were written (${Object.values(results.indices).reduce((a, b) => a + b, 0).toLocaleString('en-US')} documents in all, every one accounted for; ${results.validatedEvents.toLocaleString('en-US')} sampled events passed \`validateAuditEvent\`). About ${fmtRate(median(store.map((s) => s.bodyBytes / s.docsPerRequest)))} bytes of bulk body per event.`,
    `- **Method**: each cell writes ${c.events.toLocaleString('en-US')} fresh events${rounded.length > 0 ? ` (rounded up to whole waves of batch size × in flight: ${rounded.join(', ')})` : ''}, ${c.repeats} times; cells run in ${c.repeats} rounds, in a different shuffled order each round, after a ${c.warmup.toLocaleString('en-US')}-event warm-up, so index growth and merges fall on every cell alike. Events are made before the clock starts (the collector receives them decoded); the clock covers \`insert()\`: mapping to documents, serialising, HTTP, indexing. Latency is per \`insert()\` call, all runs of a cell together. "In flight" is the number of concurrent \`insert()\` calls.`,
    ...(foreign.length > 0
      ? [`- **Other load**: the machine is shared; a run waits until other processes leave the cores alone, and a run during which they used more than ${Math.round(100 * (results.config.maxForeignCpu ?? 0.1))} % of the CPU (from /proc/stat) is measured again, up to ${ATTEMPTS} attempts (${discarded} run${discarded === 1 ? '' : 's'} measured again). In the runs kept, other processes used ${(100 * foreign.reduce((a, b) => a + b, 0) / foreign.length).toFixed(1)} % of the CPU on average, ${(100 * Math.max(...foreign)).toFixed(1)} % at most.`]
      : []),
    `- **Rerun**: \`${COMMAND}\` (${duration(results.totalSeconds)} here${results.waitedSeconds === undefined ? ', waits included' : ''}; \`BENCH_EVENTS\`, \`BENCH_REPEATS\`, \`BENCH_BATCH_SIZES\`, \`BENCH_CONCURRENCY\` to change the grid; ELASTICSEARCH_URL to use your own node). Raw numbers: \`bench/results/es-bulk-batching.json\`.`,
    '',
    `Median events/s (of ${c.repeats} runs):`,
    '',
    `| batch size | ${c.concurrency.map((k) => `${k} in flight`).join(' | ')} |`,
    `| ---: | ${c.concurrency.map(() => '---:').join(' | ')} |`,
    ...c.batchSizes.map((b) => `| ${b} | ${c.concurrency.map((k) => { const s = at(b, k); return s ? fmtRate(s.rate) : '–'; }).join(' | ')} |`),
    '',
    'In detail:',
    '',
    '| batch size | in flight | events/s, median | min – max | latency per batch p50 / p95 / max (ms) | body per request (MiB) | in flight (MiB) | failed items |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const s of store) {
    lines.push(
      `| ${s.cell.batchSize} | ${s.cell.concurrency} | **${fmtRate(s.rate)}** | ${fmtRate(s.min)} – ${fmtRate(s.max)} | ${fmtMs(s.p50)} / ${fmtMs(s.p95)} / ${fmtMs(s.pMax)} | ${fmtMiB(s.bodyBytes)} | ${fmtMiB(s.bodyBytes * s.cell.concurrency)} | ${s.problems} |`,
    );
  }
  for (const s of helper) {
    lines.push(
      `| \`helpers.bulk\`, flushBytes ${s.cell.flushBytes!.toLocaleString('en-US')} (≈ ${fmtRate(s.docsPerRequest)} events) | ${s.cell.concurrency} | **${fmtRate(s.rate)}** | ${fmtRate(s.min)} – ${fmtRate(s.max)} | ${fmtMs(s.p50)} / ${fmtMs(s.p95)} / ${fmtMs(s.pMax)} (HTTP only) | ${fmtMiB(s.bodyBytes)} | ${fmtMiB(s.bodyBytes * s.cell.concurrency)} | ${s.problems} |`,
    );
  }
  lines.push('', ...conclusion(store, helper, c, m), '');
  return lines.join('\n');
}

/**
 * The default is the smallest amount of work in flight (batch size × calls) whose median reaches
 * 90 % of the best median: past that knee, bigger batches buy little throughput and cost latency
 * per batch (the collector acknowledges an OTLP request only once it is stored) and memory on
 * both sides. Every sentence below is computed from the table, so a rerun keeps it true.
 */
function conclusion(store: Summary[], helper: Summary[], c: Results['config'], m: Machine): string[] {
  const clean = store.filter((s) => s.problems === 0);
  if (clean.length === 0) return ['**Conclusion**: no cell stored all its events; see the failed items.'];
  const best = clean.reduce((a, b) => (b.rate > a.rate ? b : a));
  const product = (s: Summary) => s.cell.batchSize * s.cell.concurrency;
  // Run-to-run spread of a cell (min to max, relative to its median), the median over cells.
  const spread = median(clean.map((s) => (s.max - s.min) / s.rate));
  const tolerance = Math.max(0.1, spread / 2);
  const knee = clean.filter((s) => s.rate >= (1 - tolerance) * best.rate).sort((a, b) => product(a) - product(b) || a.p95 - b.p95)[0]!;
  const at = (b: number, k: number) => clean.find((s) => s.cell.batchSize === b && s.cell.concurrency === k);
  const pct = (a: number, b: number) => `${Math.round((100 * a) / b)} %`;
  const name = (s: Summary) => `${s.cell.batchSize} × ${s.cell.concurrency}`;
  const near = clean.filter((s) => s.rate >= (1 - tolerance) * best.rate).sort((a, b) => product(a) - product(b));
  const sameConc = clean.filter((s) => s.cell.concurrency === knee.cell.concurrency);
  const biggest = sameConc.filter((s) => s.cell.batchSize > knee.cell.batchSize).at(-1);
  const gain = (from: number, to: number) => {
    const ratios = c.batchSizes
      .map((b) => [at(b, from), at(b, to)] as const)
      .filter((p): p is readonly [Summary, Summary] => p[0] !== undefined && p[1] !== undefined)
      .map(([a, b]) => b.rate / a.rate - 1);
    return ratios.length > 0 ? `${median(ratios) >= 0 ? '+' : ''}${Math.round(100 * median(ratios))} %` : undefined;
  };
  const steps = c.concurrency.slice(1).map((k, i) => [c.concurrency[i]!, k] as const);
  const out = [
    `**Conclusion.** Default: **batches of ${knee.cell.batchSize} events, ${knee.cell.concurrency} \`insert()\` call${knee.cell.concurrency > 1 ? 's' : ''} in flight**: ` +
      `${fmtRate(knee.rate)} events/s, ${pct(knee.rate, best.rate)} of the best median (${fmtRate(best.rate)} at ${name(best)}). ` +
      `The rule: the smallest batch size × in flight whose median is within ${Math.round(100 * tolerance)} % of the best ` +
      `(10 %, or half the run-to-run spread when that is larger: closer than that, cells are not told apart).`,
    `- Noise: the runs of one cell spread by ${Math.round(100 * spread)} % of its median (min to max, median over cells), on two cores shared by indexing, merges and the writer; ` +
      `within ${Math.round(100 * tolerance)} % of the best median: ${near.map((s) => `${name(s)} (${fmtRate(s.rate)})`).join(', ')}.`,
    `- Throughput knee, at ${knee.cell.concurrency} in flight: ${sameConc.map((s) => `${s.cell.batchSize}: ${fmtRate(s.rate)}`).join(', ')} events/s. ` +
      `Small batches pay the per-request cost (HTTP round trip, bulk coordination, one response per call) on few events.`,
    `- Concurrency: ${steps.map(([a, b]) => `${a} → ${b} in flight ${gain(a, b) ?? 'n/a'}`).join(', ')} (median change over batch sizes). ` +
      `Elasticsearch's write pool has one thread per core (${m.cpus} here), shared with merges and with the writer itself, so calls past that queue instead of running.`,
  ];
  if (biggest) {
    out.push(
      `- Latency tail: at the default a batch takes ${fmtMs(knee.p50)} ms (p50), ${fmtMs(knee.p95)} ms (p95), ${fmtMs(knee.pMax)} ms at worst; ` +
        `at ${name(biggest)} it is ${fmtMs(biggest.p50)} / ${fmtMs(biggest.p95)} / ${fmtMs(biggest.pMax)} ms. The sender's OTLP request waits that long for its acknowledgement, and a failed batch costs that much to retry.`,
    );
  }
  const refused = [...store, ...helper].flatMap((s) => s.cell.runs).reduce((sum, r) => sum + r.rejected, 0);
  const heaviest = clean.reduce((a, b) => (b.bodyBytes * b.cell.concurrency > a.bodyBytes * a.cell.concurrency ? b : a));
  out.push(
    `- Memory: the bulk bodies in flight are ${fmtMiB(knee.bodyBytes * knee.cell.concurrency)} MiB at the default, ${fmtMiB(heaviest.bodyBytes * heaviest.cell.concurrency)} MiB at ${name(heaviest)}, ` +
      `held by the collector (plus the events and documents they come from) and counted again by Elasticsearch against its indexing-pressure limit ` +
      `(10 % of the heap${m.esHeapMiB ? `, ${Math.round(m.esHeapMiB / 10)} MiB here` : ''}), past which it refuses bulk requests with 429: ` +
      (refused === 0 ? 'no item was refused in this run.' : `${refused} items were refused (429 or 5xx) in this run.`),
  );
  for (const h of helper) {
    const defaults = h.cell.flushBytes === 5_000_000 && h.cell.concurrency === 5;
    const shaped = `flushBytes ${fmtMiB(h.cell.flushBytes!)} MiB ≈ ${fmtRate(h.docsPerRequest)} events per request, ${h.cell.concurrency} in flight`;
    out.push(
      `- The client's bulk helper, ${defaults ? `with its defaults (${shaped})` : `shaped like the default (${shaped})`}, same documents: ` +
        `${fmtRate(h.rate)} events/s (${fmtRate(h.min)} – ${fmtRate(h.max)}); the store's path at the default makes ${pct(knee.rate, h.rate)} of that` +
        (Math.abs(knee.rate / h.rate - 1) <= tolerance ? ', the same within the noise.' : '.'),
    );
  }
  return out;
}

const writeSection = (section: string) => writeResultsSection(HEADING, section);

// ---- the run -------------------------------------------------------------------------------

/** BENCH_EVENTS rounded up to whole waves of batch size × in flight, so no call runs alone at the end. */
function eventsFor(cell: Cell): number {
  if (cell.kind === 'helper') return EVENTS;
  const wave = cell.batchSize * cell.concurrency;
  return Math.ceil(EVENTS / wave) * wave;
}

async function main(): Promise<void> {
  if (process.argv.includes('--render')) {
    writeSection(render(readResultsJson<Results>(NAME)));
    console.log(`rewrote "${HEADING}" in bench/RESULTS.md from bench/results/${NAME}.json`);
    return;
  }
  const began = performance.now();
  const loadBefore = os.loadavg();
  let node: RunningElasticsearch | undefined;
  let runDir: string | undefined;
  const external = process.env.ELASTICSEARCH_URL;
  const stopNode = async () => {
    if (node) await stopElasticsearch(node.pid);
    if (runDir) rmSync(runDir, { recursive: true, force: true });
    node = undefined;
    runDir = undefined;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void stopNode().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
  try {
    let url: string;
    let admin: { username: string; password: string };
    let writer: { username: string; password: string };
    if (external) {
      url = external;
      admin = { username: process.env.ELASTICSEARCH_USERNAME ?? '', password: process.env.ELASTICSEARCH_PASSWORD ?? '' };
      writer = {
        username: process.env.ELASTICSEARCH_WRITER_USERNAME ?? admin.username,
        password: process.env.ELASTICSEARCH_WRITER_PASSWORD ?? admin.password,
      };
    } else {
      const reason = unavailableReason();
      if (reason) throw new Error(`cannot start Elasticsearch: ${reason} (or set ELASTICSEARCH_URL)`);
      runDir = mkdtempSync(join(os.tmpdir(), 'otel-audit-bench-es-'));
      console.error(`starting Elasticsearch ${ES_VERSION} in ${runDir} …`);
      node = await startElasticsearch({ runDir, heap: '512m' });
      url = node.url;
      admin = node.admin;
      writer = node.writer;
      console.error(`Elasticsearch ${node.version} at ${url} (pid ${node.pid})`);
    }
    const adminStore = new ElasticsearchStore({ url, ...admin });
    await adminStore.init();
    // As the collector runs with least privilege: the writer may only create documents.
    const store = new ElasticsearchStore({ url, ...writer, installTemplate: false });
    await store.init();
    const meter = new RequestMeter(store);
    // A node of yours may be busy with anything: its runs are neither waited for nor discarded.
    const quiet = new QuietMachine({ maxForeignCpu: external ? Number.POSITIVE_INFINITY : MAX_FOREIGN_CPU });
    quiet.own(node?.pid);

    const cells: Cell[] = [
      ...BATCH_SIZES.flatMap((batchSize) => CONCURRENCY.map((concurrency): Cell => ({ kind: 'store', batchSize, concurrency, runs: [] }))),
      ...HELPER_CONFIGS.map((h): Cell => ({ kind: 'helper', batchSize: 0, ...h, runs: [] })),
    ];
    const total = WARMUP_EVENTS + cells.reduce((sum, cell) => sum + eventsFor(cell), 0) * REPEATS;
    // A foreign node may hold an earlier run's events: salt the ids there, so every id is fresh.
    const source = new EventSource(SEED, total, external ? randomInt(2 ** 32) : 0);
    const order = prng(SEED + 1);
    const written = new Set<string>();
    const take = (n: number) => {
      const events = validated(source.take(n));
      for (const e of events) written.add(indexFor(e.time));
      return events;
    };

    console.error(`warm-up: ${WARMUP_EVENTS} events, batches of 1000, 2 in flight`);
    await runStore(store, meter, take(WARMUP_EVENTS), 1000, 2);
    for (let round = 1; round <= REPEATS; round++) {
      for (const cell of shuffled(cells, order)) {
        const measured = await quiet.run(cellName(cell), async () => {
          const events = take(eventsFor(cell));
          return cell.kind === 'store'
            ? runStore(store, meter, events, cell.batchSize, cell.concurrency)
            : runHelper(store, meter, events, cell.flushBytes!, cell.concurrency);
        });
        const run = measured.result;
        run.foreignCpu = measured.foreignCpu;
        if (measured.discarded.length > 0) (cell.discarded ??= []).push(...measured.discarded);
        cell.runs.push(run);
        console.error(
          `round ${round}/${REPEATS}  ${cellName(cell).padEnd(28)} ${fmtRate(run.perSecond).padStart(7)} events/s  ` +
            `p50 ${fmtMs(quantile(run.latenciesMs, 0.5))} ms  max ${fmtMs(Math.max(...run.latenciesMs))} ms` +
            (run.foreignCpu === undefined ? '' : `  other processes ${Math.round(run.foreignCpu * 100)} % CPU`) +
            (run.created === run.events ? '' : `  created ${run.created}/${run.events}, duplicates ${run.duplicates}, failed ${run.failed} (429: ${run.rejected})`) +
            `  [${Math.round((performance.now() - began) / 1000)} s]`,
        );
      }
    }

    // Every event accounted for: the indices hold exactly what was created.
    const indices = [...written].sort();
    await adminStore.client.indices.refresh({ index: indices, ignore_unavailable: true });
    const counts: Record<string, number> = {};
    for (const index of indices) counts[index] = (await adminStore.client.count({ index })).count;
    const createdTotal = cells.flatMap((c) => [...c.runs, ...(c.discarded ?? [])]).reduce((s, r) => s + r.created, 0) + WARMUP_EVENTS;
    const stored = Object.values(counts).reduce((a, b) => a + b, 0);
    if (!external && stored !== createdTotal) throw new Error(`the indices hold ${stored} documents, ${createdTotal} were created`);

    const results: Results = {
      date: new Date().toISOString(),
      machine: describeMachine({ elasticsearch: node?.version ?? 'external', esHeapMiB: await esHeapMiB(adminStore.client), ownNode: !external, loadBefore }),
      config: { events: EVENTS, repeats: REPEATS, batchSizes: BATCH_SIZES, concurrency: CONCURRENCY, seed: SEED, warmup: WARMUP_EVENTS, maxForeignCpu: MAX_FOREIGN_CPU },
      cells,
      indices: counts,
      validatedEvents: validatedCount,
      totalSeconds: 0,
      waitedSeconds: quiet.waitedSeconds,
    };
    await store.close();
    await adminStore.close();
    await stopNode();
    results.totalSeconds = (performance.now() - began) / 1000;
    writeResultsJson(NAME, results);
    const section = render(results);
    console.log(section);
    writeSection(section);
    console.error(`wrote bench/RESULTS.md and bench/results/${NAME}.json`);
  } finally {
    await stopNode();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
