/**
 * One file on purpose (over 300 lines): a benchmark's paths, method and the RESULTS.md section it
 * writes stay together, so a published number can be traced to exactly one file and rerun from it.
 *
 * Ingest with pre-encoded OTLP requests (issue 15): the collector's own rate, without the SDK
 * in the loop. Every run's requests (BATCH records each, OTLP/HTTP protobuf or JSON) are
 * encoded before the clock starts; SENDERS keep-alive connections then post them as fast as
 * the collector answers, and the rate is events/s acknowledged (200, no partial success).
 * Against:
 * - the ceiling: the same events as our documents, bulk-indexed from memory with the client's
 *   `helpers.bulk` into the same node (SENDERS requests in flight, BATCH documents each);
 * - with BENCH_BASELINE_DIR (an earlier commit, checked out and built elsewhere): its collector,
 *   in the same rounds, interleaved, so before and after share the machine and its load;
 * - with OTELCOL_BIN (or .cache/otelcol/otelcol-audit-bench): the upstream collector's sync
 *   pipeline (bench/otelcol/otelcol-config.yaml), the same delivery contract as ours.
 *
 *   npm run build && npx tsx bench/ingest-preencoded.ts
 *
 * Environment: BENCH_EVENTS per run (20000), BENCH_SENDERS (4), BENCH_REPEATS (2), BENCH_SEED (1),
 * BENCH_BASELINE_DIR, OTELCOL_BIN, BENCH_MAX_FOREIGN_CPU (0.1), BENCH_ATTEMPTS, BENCH_MAX_WAIT_SECONDS,
 * BENCH_CPU_PROF_DIR (profiles of the collectors), and the node's variables of
 * bench/support/bench-elasticsearch.ts. `--render` rewrites the RESULTS.md section from
 * bench/results/ingest-preencoded.json.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from '@otel-audit/contract';
import { ElasticsearchStore, indexFor } from '@otel-audit/store';
// The document ElasticsearchStore.insert() writes for an event (not exported by the package).
import { toDocument } from '../store/dist/internal/ecs-document.js';
import { otlpJsonBody } from '../test/support/otlp-json.js';
import { ExportLogsServiceResponse, decodeProto, protobufBody } from '../test/support/otlp-proto.js';
import { EventSource, prng } from './generate-events.js';
import { benchElasticsearch, esHeapMiB } from './support/bench-elasticsearch.js';
import { cpuProfileFlags, startChildService, type ChildService } from './support/child-service.js';
import { QuietMachine, describeMachine, machineLine, otherLoad, type Machine } from './support/quiet-machine.js';
import { BENCH_DIR, readResultsJson, writeResultsJson, writeSection } from './support/results-file.js';
import { duration, fmtRate, median, pct, shuffled } from './support/stats.js';

// A subsection, last in "Ingest after the one-pass path (issue 15)": a rerun replaces it and leaves the text above it.
const HEADING = '### Pre-encoded OTLP from several senders (bench/ingest-preencoded.ts)';
const NAME = 'ingest-preencoded';
const REPO = join(BENCH_DIR, '..');
const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const SENDERS = Number(process.env.BENCH_SENDERS ?? 4);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 2);
const SEED = Number(process.env.BENCH_SEED ?? 1);
const MAX_FOREIGN_CPU = Number(process.env.BENCH_MAX_FOREIGN_CPU ?? 0.1);
const BASELINE_DIR = process.env.BENCH_BASELINE_DIR;
/** `sqlite` alone runs without Elasticsearch (no node started, no ceiling). */
const STORES = (process.env.BENCH_STORES ?? 'es,sqlite').split(',') as ('es' | 'sqlite')[];
/** The SDK's default batch: one OTLP request carries this many records. */
const BATCH = 512;

type Encoding = 'protobuf' | 'json';
interface Cell {
  id: string;
  label: string;
  run(events: AuditEvent[]): Promise<Run>;
}
interface Run {
  events: number;
  seconds: number;
  foreignCpu?: number | undefined;
}
interface Results {
  date: string;
  machine: Machine;
  config: { events: number; senders: number; repeats: number; seed: number; batch: number; maxForeignCpu: number; attempts: number; baseline: string | undefined };
  upstream: string | undefined;
  cells: { id: string; label: string; runs: Run[]; discarded: Run[] }[];
  totalSeconds: number;
  waitedSeconds: number;
}

/** One OTLP request per BATCH events, encoded as the sender would put it on the wire. */
function encode(events: AuditEvent[], encoding: Encoding): Buffer[] {
  const bodies: Buffer[] = [];
  for (let i = 0; i < events.length; i += BATCH) {
    // The contract's own mapping (toLogRecord) into the OTLP/JSON shape, with the service
    // as the SDK's resource sets it: what any OTel SDK would send for these records.
    const json = otlpJsonBody(
      events.slice(i, i + BATCH).map(({ service: _service, ...e }) => e),
      'bench',
    );
    if (encoding === 'json') bodies.push(Buffer.from(json));
    else {
      // protobufjs' fromObject reads bytes as base64; OTLP/JSON has the ids in hex.
      const request = JSON.parse(json, (key, value: unknown) =>
        (key === 'traceId' || key === 'spanId') && typeof value === 'string' ? Buffer.from(value, 'hex') : value,
      );
      bodies.push(protobufBody(request));
    }
  }
  return bodies;
}

/** SENDERS connections post `bodies` (each taking the next one) until all were acknowledged. */
async function post(endpoint: string, path: string, encoding: Encoding, bodies: Buffer[]): Promise<number> {
  const url = new URL(path, endpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets: SENDERS });
  const contentType = encoding === 'json' ? 'application/json' : 'application/x-protobuf';
  const one = (body: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': contentType, 'content-length': body.length } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const answer = Buffer.concat(chunks);
          if (res.statusCode !== 200) return reject(new Error(`${url}: ${res.statusCode} ${answer.toString().slice(0, 500)}`));
          const partial = (answer.length === 0 ? {} : encoding === 'json' ? JSON.parse(answer.toString()) : decodeProto(ExportLogsServiceResponse, answer)) as {
            partialSuccess?: { rejectedLogRecords?: number | string };
          };
          // A 200 with rejected records is a refusal, not an acknowledgement.
          if (Number(partial.partialSuccess?.rejectedLogRecords ?? 0) > 0) return reject(new Error(`${url}: partial success ${answer.toString().slice(0, 500)}`));
          resolve();
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (next < bodies.length) await one(bodies[next++]!);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return seconds;
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

async function main(): Promise<void> {
  if (process.argv.includes('--render')) {
    writeSection(HEADING, render(readResultsJson<Results>(NAME)));
    return;
  }
  const began = performance.now();
  const loadBefore = os.loadavg();
  const withEs = STORES.includes('es');
  const es = withEs ? await benchElasticsearch('1g') : undefined;
  const quiet = new QuietMachine({ maxForeignCpu: MAX_FOREIGN_CPU });
  quiet.own(es?.pid);
  const children: ChildService[] = [];
  const tmp = mkdtempSync(join(os.tmpdir(), 'otel-audit-bench-preencoded-'));
  try {
    const admin = es && new ElasticsearchStore({ url: es.url, ...es.admin });
    await admin?.init();
    const writer = es && new ElasticsearchStore({ url: es.url, ...es.writer, installTemplate: false });
    const start = async (name: string, command: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp) => {
      const child = await startChildService(command, args, { name, env: { PATH: process.env.PATH, ...env }, ready });
      children.push(child);
      quiet.own(child.pid);
      return child;
    };
    const collector = (name: string, checkout: string, store: 'es' | 'sqlite') =>
      start(
        name,
        process.execPath,
        [...cpuProfileFlags(), join(checkout, 'cli', 'dist', 'main.js'), 'collector'],
        {
          AUDIT_COLLECTOR_PORT: '0',
          AUDIT_COLLECTOR_GRPC_PORT: '0',
          AUDIT_DATA_DIR: join(tmp, name.replace(/\W+/g, '-')),
          AUDIT_RETENTION_DAYS: '0',
          ...(store === 'es' && es
            ? { ELASTICSEARCH_URL: es.url, ELASTICSEARCH_USERNAME: es.writer.username, ELASTICSEARCH_PASSWORD: es.writer.password, AUDIT_ES_INSTALL_TEMPLATE: 'false' }
            : {}),
        },
        /collector listening on (http:\/\/[0-9.:]+)/,
      );
    const builds = [{ name: 'ours', checkout: REPO }, ...(BASELINE_DIR ? [{ name: 'baseline', checkout: BASELINE_DIR }] : [])];
    const cells: Cell[] = [];
    for (const b of builds) {
      for (const store of STORES) {
        const child = await collector(`${b.name} collector (${store})`, b.checkout, store);
        for (const encoding of ['protobuf', 'json'] as const) {
          cells.push({
            id: `${b.name}-${store}-${encoding}`,
            label: `${b.name === 'ours' ? 'this checkout' : 'baseline checkout'}: collector → ${store === 'es' ? 'Elasticsearch' : 'SQLite'}, http/${encoding}`,
            run: async (events) => {
              const bodies = encode(events, encoding);
              return { events: events.length, seconds: await post(child.ready, '/v1/logs', encoding, bodies) };
            },
          });
        }
      }
    }
    if (es && writer) cells.push({
      id: 'ceiling',
      label: 'ceiling: `helpers.bulk` of the same documents from memory → Elasticsearch',
      run: async (events) => {
        const docs = events.map((e) => toDocument({ ...e, service: { name: 'bench' } }) as Record<string, unknown>);
        const t0 = performance.now();
        const stats = await writer.client.helpers.bulk<Record<string, unknown>>({
          datasource: docs,
          onDocument: (doc) => ({ create: { _index: indexFor(doc['@timestamp'] as string), _id: (doc.event as { id: string }).id } }),
          flushBytes: Math.round((docs.slice(0, 200).reduce((s, d) => s + JSON.stringify(d).length + 80, 0) / Math.min(200, docs.length)) * BATCH),
          concurrency: SENDERS,
          retries: 0,
        });
        if (stats.failed > 0) throw new Error(`ceiling: ${stats.failed} documents failed`);
        return { events: events.length, seconds: (performance.now() - t0) / 1000 };
      },
    });
    const otelcolBin = process.env.OTELCOL_BIN ?? join(REPO, '.cache', 'otelcol', 'otelcol-audit-bench');
    let upstream: string | undefined;
    if (es && existsSync(otelcolBin)) {
      const [syncPort, asyncPort] = [await freePort(), await freePort()];
      await start(
        'upstream collector',
        otelcolBin,
        ['--config', join(BENCH_DIR, 'otelcol', 'otelcol-config.yaml')],
        { OTELCOL_SYNC_PORT: String(syncPort), OTELCOL_ASYNC_PORT: String(asyncPort), ELASTICSEARCH_URL: es.url, ELASTICSEARCH_USERNAME: es.superuser.username, ELASTICSEARCH_PASSWORD: es.superuser.password },
        /Everything is ready/,
      );
      upstream = otelcolBin;
      for (const encoding of ['protobuf', 'json'] as const) {
        cells.push({
          id: `upstream-sync-${encoding}`,
          label: `upstream collector (sync exporter) → Elasticsearch, http/${encoding}`,
          run: async (events) => ({ events: events.length, seconds: await post(`http://127.0.0.1:${syncPort}`, '/v1/logs', encoding, encode(events, encoding)) }),
        });
      }
    }
    console.error(`cells: ${cells.map((c) => c.id).join(', ')}`);

    const source = new EventSource(SEED, EVENTS * (cells.length * (REPEATS + 1) * 2));
    const order = prng(SEED + 1);
    const results: Results['cells'] = cells.map((c) => ({ id: c.id, label: c.label, runs: [], discarded: [] }));
    console.error('warm-up: one short run through each path');
    for (const c of cells) await c.run(source.take(Math.min(EVENTS, 4 * BATCH)));
    for (let round = 1; round <= REPEATS; round++) {
      for (const cell of shuffled(cells, order)) {
        if (children.some((c) => !c.alive)) throw new Error('a server of the benchmark has exited');
        const { result, foreignCpu, discarded } = await quiet.run(cell.id, () => cell.run(source.take(EVENTS)));
        result.foreignCpu = foreignCpu;
        const slot = results.find((r) => r.id === cell.id)!;
        slot.runs.push(result);
        slot.discarded.push(...discarded);
        console.error(
          `round ${round}/${REPEATS}  ${cell.id.padEnd(26)} ${fmtRate(result.events / result.seconds).padStart(7)} events/s acknowledged` +
            (foreignCpu === undefined ? '' : `  other processes ${Math.round(foreignCpu * 100)} % CPU`),
        );
      }
    }
    const out: Results = {
      date: new Date().toISOString(),
      machine: describeMachine({ elasticsearch: es?.version ?? 'not used', esHeapMiB: es && (await esHeapMiB(new ElasticsearchStore({ url: es.url, ...es.superuser, installTemplate: false }).client)), ownNode: es?.pid !== undefined, loadBefore }),
      config: { events: EVENTS, senders: SENDERS, repeats: REPEATS, seed: SEED, batch: BATCH, maxForeignCpu: MAX_FOREIGN_CPU, attempts: quiet.attempts, baseline: BASELINE_DIR },
      upstream,
      cells: results,
      totalSeconds: (performance.now() - began) / 1000,
      waitedSeconds: quiet.waitedSeconds,
    };
    await Promise.all([admin?.close(), writer?.close()]);
    writeResultsJson(NAME, out);
    const section = render(out);
    console.log(section);
    writeSection(HEADING, section);
  } finally {
    for (const child of children) await child.stop();
    await es?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

function render(r: Results): string {
  const c = r.config;
  const cell = (id: string) => r.cells.find((x) => x.id === id);
  const rates = (id: string) => cell(id)?.runs.map((run) => run.events / run.seconds) ?? [];
  /** Same-round ratio: run i of one cell against run i of the other, then the median. */
  const ratio = (a: string, b: string) => {
    const ra = rates(a);
    const rb = rates(b);
    return ra.length > 0 && rb.length === ra.length ? median(ra.map((x, i) => x / rb[i]!)) : undefined;
  };
  const foreign = r.cells.flatMap((x) => x.runs.map((run) => run.foreignCpu)).filter((x): x is number => x !== undefined);
  const discarded = r.cells.reduce((s, x) => s + x.discarded.length, 0);
  const lines = [
    HEADING,
    '',
    `Events/s acknowledged by the collector (HTTP 200, no partial success), with every OTLP request encoded before the clock starts: the collector's own cost, not the SDK's. Measured ${r.date.slice(0, 10)}; the run took ${duration(r.totalSeconds)}, of which ${duration(r.waitedSeconds)} waiting for other processes.`,
    '',
    `- **Machine**: ${machineLine(r.machine)}.`,
    r.machine.elasticsearch === 'not used'
      ? '- **Elasticsearch**: not used in this run (`BENCH_STORES=sqlite`).'
      : `- **Elasticsearch**: ${r.machine.elasticsearch}${r.machine.ownNode ? ', one node started by the benchmark' : ' (a node shared with other work on this machine)'}, heap ${r.machine.esHeapMiB ?? '?'} MiB.`,
    `- **Senders**: ${c.senders} keep-alive HTTP connections in the benchmark's process, each posting the next pre-encoded request (${c.batch} records, \`bench/generate-events.ts\` seed ${c.seed}, the contract's \`toLogRecord\`) as soon as its previous one was answered; ${fmtRate(c.events)} events per run.`,
    `- **Collectors**: \`node cli/dist/main.js collector\`, each its own process, spool on, one per store${c.baseline ? `; the baseline's the same way from \`${c.baseline}\`, in the same rounds, the order shuffled per round` : ''}. SQLite: WAL, synchronous=FULL.`,
    `- **Method**: ${c.repeats} rounds after a warm-up; ratios are taken between runs of the same round, then the median. ${otherLoad(foreign, discarded, c)}`,
    `- **Rerun**: \`npm run build && ${STORES.join(',') === 'es,sqlite' ? '' : `BENCH_STORES=${STORES.join(',')} `}${c.baseline ? `BENCH_BASELINE_DIR=${c.baseline} ` : ''}BENCH_EVENTS=${c.events} BENCH_REPEATS=${c.repeats} npx tsx bench/ingest-preencoded.ts\`. Raw numbers: \`bench/results/${NAME}.json\`.`,
    '',
    '| path | events/s acknowledged, median | min – max | vs ceiling (same round) | vs baseline (same round) |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const x of r.cells) {
    const xs = rates(x.id);
    if (xs.length === 0) continue;
    const vsCeiling = x.id.includes('sqlite') || x.id === 'ceiling' ? '—' : pct(ratio(x.id, 'ceiling') ?? Number.NaN, 1);
    const vsBaseline = x.id.startsWith('ours-') && cell(x.id.replace('ours-', 'baseline-')) ? `${ratio(x.id, x.id.replace('ours-', 'baseline-'))!.toFixed(2)}×` : '—';
    lines.push(`| ${x.label} | **${fmtRate(median(xs))}** | ${fmtRate(Math.min(...xs))} – ${fmtRate(Math.max(...xs))} | ${vsCeiling} | ${vsBaseline} |`);
  }
  for (const enc of ['protobuf', 'json']) {
    const vsUp = ratio(`ours-es-${enc}`, `upstream-sync-${enc}`);
    if (vsUp !== undefined) lines.push('', `Against the upstream collector's sync pipeline, http/${enc}: **${vsUp.toFixed(2)}×** (same round).`);
  }
  return lines.join('\n');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
