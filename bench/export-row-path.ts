/**
 * The export row path in one process, without HTTP: a SQLite store's query into the CSV
 * writer, into a sink that drops the bytes. Rows/s of three stages, each a median over the
 * repeats: the store read alone, the writer alone (the same rows replayed from memory),
 * and store → CSV; and the CPU time per row (user + system, process.cpuUsage), which a shared
 * machine's load disturbs far less than the wall clock. With BENCH_OTHER_DIR, another built checkout's store and writer run in
 * the same rounds, each on a file of its own build (a file's page size is its build's).
 *
 *   npx tsc -b && npx tsx bench/export-row-path.ts
 *   npx tsc -b && BENCH_OTHER_DIR=/path/to/built/checkout npx tsx bench/export-row-path.ts
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/export-row-path.ts
 *   npx tsx bench/cpu-profile-top.ts /tmp/prof/CPU.*.0.001.cpuprofile   # the main thread's (tsx's loader thread writes another)
 *
 * Environment: BENCH_ROWS (100000), BENCH_REPEATS (5), BENCH_COLUMNS (every column),
 * BENCH_OTHER_DIR (unset). Both builds are driven the same way: `csvStream(store.query(q), format)`,
 * whatever each build's query yields.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { EXPORT_COLUMNS, exportFields } from '@otel-audit/contract';
import { EventSource, WINDOW_MS, WINDOW_START } from './generate-events.js';
import { BENCH_DIR } from './support/results-file.js';
import { fmtRate, median } from './support/stats.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const COLUMNS = (process.env.BENCH_COLUMNS?.split(',') ?? EXPORT_COLUMNS.map((c) => c.key)) as (typeof EXPORT_COLUMNS)[number]['key'][];

interface Store {
  init(): Promise<void>;
  insert(events: unknown[]): Promise<unknown>;
  query(q: unknown): AsyncIterable<unknown>;
  close(): Promise<void>;
}
interface Build {
  name: string;
  store: Store;
  csvStream: (rows: AsyncIterable<unknown>, format: unknown) => NodeJS.ReadableStream;
}

async function load(name: string, dir: string, file: string): Promise<Build> {
  const storeModule = (await import(pathToFileURL(join(dir, 'store', 'dist', 'index.js')).href)) as { SqliteStore: new (o: { path: string }) => Store };
  const csvModule = (await import(pathToFileURL(join(dir, 'exporter-service', 'dist', 'internal', 'csv-stream.js')).href)) as Pick<Build, 'csvStream'>;
  const store = new storeModule.SqliteStore({ path: file });
  await store.init();
  const source = new EventSource(1, ROWS);
  const batches = Array.from({ length: Math.ceil(ROWS / 5000) }, (_, i) => source.take(Math.min(5000, ROWS - i * 5000)));
  const t = performance.now();
  for (const batch of batches) await store.insert(batch);
  console.error(`${name}: ${fmtRate(ROWS / ((performance.now() - t) / 1000))} events/s inserted (5,000 a call, one caller)`);
  return { name, store, csvStream: csvModule.csvStream };
}

/** Bytes are counted and dropped, as a fast client would. */
function sink(): Writable & { bytes: number } {
  const out = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      out.bytes += chunk.length;
      done();
    },
  }) as Writable & { bytes: number };
  out.bytes = 0;
  return out;
}

async function* replay<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(os.tmpdir(), 'otel-audit-bench-row-path-'));
  const format = { columns: COLUMNS, timeZone: 'UTC', dateFormat: 'iso', delimiter: ',', bom: false };
  const q = {
    from: new Date(WINDOW_START - 86_400_000),
    to: new Date(WINDOW_START + WINDOW_MS + 3 * 86_400_000),
    fields: exportFields(COLUMNS),
  };
  const builds = [await load('this checkout', join(BENCH_DIR, '..'), join(tmp, 'ours.sqlite'))];
  if (process.env.BENCH_OTHER_DIR) builds.push(await load(process.env.BENCH_OTHER_DIR, process.env.BENCH_OTHER_DIR, join(tmp, 'other.sqlite')));
  const rates = new Map<string, { rate: number; cpuUs: number }[]>();
  let started = { wall: 0, cpu: process.cpuUsage() };
  const start = () => (started = { wall: performance.now(), cpu: process.cpuUsage() });
  const note = (key: string) => {
    const cpu = process.cpuUsage(started.cpu);
    const run = { rate: ROWS / ((performance.now() - started.wall) / 1000), cpuUs: (cpu.user + cpu.system) / ROWS };
    rates.set(key, [...(rates.get(key) ?? []), run]);
  };
  try {
    for (let round = 1; round <= REPEATS; round++) {
      for (const b of round % 2 ? builds : [...builds].reverse()) {
        start();
        const read: unknown[] = [];
        for await (const item of b.store.query(q)) read.push(item);
        note(`${b.name} | store read`);

        start();
        const alone = sink();
        await pipeline(b.csvStream(replay(read), format), alone);
        note(`${b.name} | writer alone`);
        read.length = 0;

        start();
        const both = sink();
        await pipeline(b.csvStream(b.store.query(q), format), both);
        note(`${b.name} | store → CSV`);
        console.error(`round ${round} ${b.name}: ${both.bytes} bytes, load ${os.loadavg()[0]!.toFixed(1)}`);
      }
    }
    console.log(`${ROWS} rows, ${COLUMNS.length} columns, ${REPEATS} rounds, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
    console.log('| build | stage | rows/s (median) | CPU µs per row (median) | rows/s, each round |\n| --- | --- | ---: | ---: | --- |');
    for (const [key, xs] of rates) {
      const cpu = median(xs.map((x) => x.cpuUs)).toFixed(2);
      console.log(`| ${key} | ${fmtRate(median(xs.map((x) => x.rate)))} | ${cpu} | ${xs.map((x) => fmtRate(x.rate)).join(', ')} |`);
    }
  } finally {
    for (const b of builds) await b.store.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
