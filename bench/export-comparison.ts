/**
 * One file on purpose (over 300 lines): a benchmark's paths, method and the RESULTS.md section it
 * writes stay together, so a published number can be traced to exactly one file and rerun from it.
 *
 * Export, side by side in one run: rows/s and peak RSS of CSV and XLSX downloads streamed by our
 * export service (its own process, over a loopback port) at 100k and 1M rows, against
 * - the ceiling: a bare point-in-time + search_after read loop over the same index, same page
 *   size and sort, that parses each page and discards the rows;
 * - elasticdump (bench/tools/install-elasticdump.sh) writing CSV from the same index;
 * plus the time to first byte of a streamed download and the SQLite store's export rate.
 *
 *   npm run build && npx tsx bench/export-comparison.ts
 *
 * Environment: BENCH_SIZES (100000,1000000), BENCH_REPEATS (3), BENCH_REPEATS_LARGE (repeats at
 * sizes over 100k: 2), BENCH_SEED (1), BENCH_MAX_FOREIGN_CPU (0.1), BENCH_ATTEMPTS (3),
 * BENCH_MAX_WAIT_SECONDS (180), BENCH_CPU_PROF_DIR (profile our export services), ELASTICDUMP_BIN (default:
 * install into .cache/bench-tools), and the node's variables of bench/support/bench-elasticsearch.ts.
 * `--render` rewrites the RESULTS.md section from bench/results/export-comparison.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { signToken } from '@otel-audit/exporter-service';
import { ElasticsearchStore, SqliteStore, READ_ALIAS } from '@otel-audit/store';
import { EventSource, prng, WINDOW_MS, WINDOW_START } from './generate-events.js';
import { benchElasticsearch, esHeapMiB } from './support/bench-elasticsearch.js';
import { cpuProfileFlags, peakRss, startChildService, type ChildService } from './support/child-service.js';
import { startRootInfoProxy } from './support/root-info-proxy.js';
import { QuietMachine, describeMachine, machineLine, otherLoad, type Machine } from './support/quiet-machine.js';
import { BENCH_DIR, readResultsJson, writeResultsJson, writeSection } from './support/results-file.js';
import { duration, fmtMiB, fmtRate, median, pct, shuffled } from './support/stats.js';

/**
 * BENCH_BASELINE_DIR: a built checkout of an earlier version (its cli/dist/main.js), run as
 * more readers in the same rounds, interleaved with ours; its results go to their own
 * section and JSON (BENCH_HEADING, BENCH_NAME), so the committed comparison stays as it was.
 */
const BASELINE_DIR = process.env.BENCH_BASELINE_DIR;
const HEADING = process.env.BENCH_HEADING ?? '## Export: our service vs the ceiling vs elasticdump';
const COMMAND = BASELINE_DIR
  ? `npm run build && BENCH_BASELINE_DIR=${BASELINE_DIR} BENCH_HEADING='${process.env.BENCH_HEADING ?? ''}' BENCH_NAME=${process.env.BENCH_NAME ?? 'export-comparison'} npx tsx bench/export-comparison.ts`
  : 'npm run build && npx tsx bench/export-comparison.ts';
const NAME = process.env.BENCH_NAME ?? 'export-comparison';
const REPO = join(BENCH_DIR, '..');

const list = (name: string, fallback: number[]) => (process.env[name] ? process.env[name]!.split(',').map((v) => Number(v.trim())) : fallback);
const SIZES = list('BENCH_SIZES', [100_000, 1_000_000]);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const REPEATS_LARGE = Number(process.env.BENCH_REPEATS_LARGE ?? 2);
const SEED = Number(process.env.BENCH_SEED ?? 1);
const MAX_FOREIGN_CPU = Number(process.env.BENCH_MAX_FOREIGN_CPU ?? 0.1);
/** Our store's page size (ElasticsearchStore `pageSize` default), used by every reader here. */
const PAGE = 1000;
const SECRET = 'export-comparison-bench-secret-0123456789';

type CellId = 'ours-csv' | 'ours-xlsx' | 'ceiling' | 'elasticdump-csv' | 'sqlite-csv' | 'sqlite-xlsx' | 'baseline-csv' | 'baseline-xlsx' | 'baseline-sqlite-csv';
const BASELINE_CELLS: { id: CellId; label: string }[] = [
  { id: 'baseline-csv', label: 'baseline export service, CSV' },
  { id: 'baseline-xlsx', label: 'baseline export service, XLSX' },
  { id: 'baseline-sqlite-csv', label: 'baseline export service on SQLite, CSV' },
];
const CELLS: { id: CellId; label: string }[] = [
  ...(BASELINE_DIR ? BASELINE_CELLS : []),
  { id: 'ours-csv', label: 'our export service, CSV' },
  { id: 'ours-xlsx', label: 'our export service, XLSX' },
  { id: 'ceiling', label: 'ceiling: point in time + `search_after`, rows discarded' },
  { id: 'elasticdump-csv', label: 'elasticdump, CSV' },
  { id: 'sqlite-csv', label: 'our export service on SQLite, CSV' },
  { id: 'sqlite-xlsx', label: 'our export service on SQLite, XLSX' },
];

interface Run {
  rows: number;
  seconds: number;
  /** Peak resident memory of the process doing the export (VmHWM), bytes; the ceiling: none. */
  peakRss?: number | undefined;
  firstByteMs?: number | undefined;
  bytes?: number | undefined;
  foreignCpu?: number | undefined;
}

interface Results {
  date: string;
  machine: Machine;
  config: { sizes: number[]; repeats: number; repeatsLarge: number; seed: number; page: number; maxForeignCpu: number; attempts: number };
  elasticdumpVersion: string;
  sizes: Record<string, { loadSeconds: number; cells: Record<string, { runs: Run[]; discarded: Run[] }> }>;
  totalSeconds: number;
  waitedSeconds: number;
}

// ---- the readers ---------------------------------------------------------------------------

/** Downloads and discards the body; rows = lines (CSV) or what the service said it wrote. */
async function download(url: string, token: string, service: ChildService): Promise<Omit<Run, 'rows'>> {
  resetPeakRss(service.pid);
  const started = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`${res.status}: ${await res.text()}`);
  const reader = res.body!.getReader();
  let bytes = 0;
  let firstByteMs: number | undefined;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    firstByteMs ??= performance.now() - started;
    bytes += value.byteLength;
  }
  return { seconds: (performance.now() - started) / 1000, peakRss: service.peakRss(), firstByteMs, bytes };
}

/** Resets the kernel's high-water mark of resident memory, so VmHWM is this download's peak. */
function resetPeakRss(pid: number): void {
  try {
    spawnSync('sh', ['-c', `echo 5 > /proc/${pid}/clear_refs`]);
  } catch {
    // Not Linux: the peak is the process's, not the download's.
  }
}

/** The ceiling: our store's own read (same page size, sort and point in time), nothing after it. */
async function bareRead(client: Client): Promise<number> {
  const pit = (await client.openPointInTime({ index: READ_ALIAS, keep_alive: '1m' })).id;
  let rows = 0;
  let searchAfter: (string | number)[] | undefined;
  try {
    for (;;) {
      const page = await client.search({
        pit: { id: pit, keep_alive: '1m' },
        size: PAGE,
        sort: [{ '@timestamp': { order: 'asc' } }, { 'event.id': { order: 'asc' } }],
        track_total_hits: false,
        ...(searchAfter ? { search_after: searchAfter } : {}),
      });
      const hits = page.hits.hits;
      rows += hits.length;
      if (hits.length < PAGE) return rows;
      searchAfter = hits.at(-1)!.sort as (string | number)[];
    }
  } finally {
    await client.closePointInTime({ id: pit }).catch(() => undefined);
  }
}

/** elasticdump → CSV into /dev/null (our downloads are discarded too); its peak RSS polled from /proc. */
async function elasticdump(bin: string, url: string, creds: { username: string; password: string }, index: string): Promise<Omit<Run, 'rows'> & { rows: number }> {
  const input = new URL(url);
  input.username = creds.username;
  input.password = creds.password;
  input.pathname = `/${index}`;
  const started = performance.now();
  const child = spawn(process.execPath, [bin, `--input=${input.href}`, '--output=csv:///dev/null', '--overwrite', '--type=data', `--limit=${PAGE}`, '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(0, 4000)));
  let peak = 0;
  const poll = setInterval(() => (peak = Math.max(peak, peakRss(child) ?? 0)), 50);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearInterval(poll);
  if (code !== 0) throw new Error(`elasticdump exited ${code}: ${stderr}`);
  return { rows: NaN, seconds: (performance.now() - started) / 1000, peakRss: peak || undefined };
}

// ---- the run -------------------------------------------------------------------------------

function elasticdumpBinary(): string {
  if (process.env.ELASTICDUMP_BIN) return process.env.ELASTICDUMP_BIN;
  const installed = spawnSync('bash', [join(BENCH_DIR, 'tools', 'install-elasticdump.sh')], { stdio: 'inherit', cwd: REPO });
  if (installed.status !== 0) throw new Error('bench/tools/install-elasticdump.sh failed');
  return join(REPO, '.cache', 'bench-tools', 'node_modules', 'elasticdump', 'bin', 'elasticdump');
}

async function main(): Promise<void> {
  if (process.argv.includes('--render')) {
    writeSection(HEADING, render(readResultsJson<Results>(NAME)));
    console.log(`rewrote "${HEADING}" from bench/results/${NAME}.json`);
    return;
  }
  const began = performance.now();
  const loadBefore = os.loadavg();
  const dumpBin = elasticdumpBinary();
  const elasticdumpVersion = spawnSync(process.execPath, [dumpBin, '--version'], { encoding: 'utf8' }).stdout.trim();
  const es = await benchElasticsearch('1g');
  const quiet = new QuietMachine({ maxForeignCpu: MAX_FOREIGN_CPU });
  quiet.own(es.pid);
  const children: ChildService[] = [];
  const tmp = mkdtempSync(join(os.tmpdir(), 'otel-audit-bench-export-'));
  try {
    const admin = new ElasticsearchStore({ url: es.url, ...es.admin });
    await admin.init();
    const sqliteDir = join(tmp, 'sqlite');
    const sqlite = new SqliteStore({ path: join(sqliteDir, 'audit.sqlite') });

    // The export service as deployed: its own process (the CLI), the read-only user.
    const cli = join(REPO, 'cli', 'dist', 'main.js');
    const serviceEnv = (extra: NodeJS.ProcessEnv, dir: string): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      AUDIT_EXPORT_PORT: '0',
      AUDIT_DATA_DIR: dir,
      AUDIT_JWT_SECRET: SECRET,
      AUDIT_EXPORT_ROW_CAP: String(Math.max(...SIZES) + 1),
      AUDIT_EXPORT_MAX_RANGE_DAYS: '3660',
      ...extra,
    });
    const ours = await startChildService(process.execPath, [...cpuProfileFlags(), cli, 'export-service'], {
      name: 'export service (Elasticsearch)',
      env: serviceEnv({ ELASTICSEARCH_URL: es.url, ELASTICSEARCH_USERNAME: es.reader.username, ELASTICSEARCH_PASSWORD: es.reader.password }, join(tmp, 'es-service')),
      ready: /export service listening on (http:\/\/[0-9.:]+)/,
    });
    children.push(ours);
    quiet.own(ours.pid);
    const oursSqlite = await startChildService(process.execPath, [...cpuProfileFlags(), cli, 'export-service'], {
      name: 'export service (SQLite)',
      env: serviceEnv({}, sqliteDir),
      ready: /export service listening on (http:\/\/[0-9.:]+)/,
    });
    children.push(oursSqlite);
    quiet.own(oursSqlite.pid);
    let baseline: ChildService | undefined;
    let baselineSqlite: ChildService | undefined;
    if (BASELINE_DIR) {
      const baseCli = join(BASELINE_DIR, 'cli', 'dist', 'main.js');
      baseline = await startChildService(process.execPath, [...cpuProfileFlags(), baseCli, 'export-service'], {
        name: 'baseline export service (Elasticsearch)',
        env: serviceEnv({ ELASTICSEARCH_URL: es.url, ELASTICSEARCH_USERNAME: es.reader.username, ELASTICSEARCH_PASSWORD: es.reader.password }, join(tmp, 'es-baseline')),
        ready: /export service listening on (http:\/\/[0-9.:]+)/,
      });
      // The same SQLite file, read-only use by both services.
      baselineSqlite = await startChildService(process.execPath, [...cpuProfileFlags(), baseCli, 'export-service'], {
        name: 'baseline export service (SQLite)',
        // Its own spool for its audit records: a spool has one process.
        env: serviceEnv({ AUDIT_EXPORT_AUDIT_SPOOL_DIR: join(tmp, 'baseline-sqlite-spool') }, sqliteDir),
        ready: /export service listening on (http:\/\/[0-9.:]+)/,
      });
      for (const child of [baseline, baselineSqlite]) {
        children.push(child);
        quiet.own(child.pid);
      }
    }
    const token = await signToken(SECRET, { sub: 'bench', superAdmin: true });
    const dumpProxy = await startRootInfoProxy(es.url, es.version === 'external' ? '8.19.0' : es.version);
    const from = new Date(WINDOW_START - 86_400_000).toISOString();
    const to = new Date(WINDOW_START + WINDOW_MS + 3 * 86_400_000).toISOString();
    const query = `scope=all&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;

    const sizes = [...SIZES].sort((a, b) => a - b);
    const source = new EventSource(SEED, sizes.at(-1)!);
    const order = prng(SEED + 1);
    const results: Results['sizes'] = {};
    let loaded = 0;
    for (const size of sizes) {
      // Grow both stores to `size` events (off the clock), then read them all back.
      const t0 = performance.now();
      while (loaded < size) {
        const batch = source.take(Math.min(5000, size - loaded));
        const [a, b] = await Promise.all([admin.insert(batch), sqlite.insert(batch)]);
        if (a.failed.length > 0 || a.created + a.duplicates !== batch.length) throw new Error(`load failed: ${a.failed[0]?.reason}`);
        if (b.created !== batch.length) throw new Error('SQLite load failed');
        loaded += batch.length;
      }
      await admin.client.indices.refresh({ index: READ_ALIAS });
      const loadSeconds = (performance.now() - t0) / 1000;
      const count = (await admin.client.count({ index: READ_ALIAS })).count;
      if (count !== size) throw new Error(`the index holds ${count} events, expected ${size}`);
      console.error(`loaded ${fmtRate(size)} events in ${loadSeconds.toFixed(0)} s`);

      const cells: Record<string, { runs: Run[]; discarded: Run[] }> = Object.fromEntries(CELLS.map((c) => [c.id, { runs: [], discarded: [] }]));
      const runCell = async (id: CellId): Promise<Run> => {
        const dead = children.find((child) => !child.alive);
        if (dead) throw new Error('a server of the benchmark has exited: see above');
        switch (id) {
          case 'ours-csv':
          case 'ours-xlsx':
          case 'sqlite-csv':
          case 'sqlite-xlsx': {
            const service = id.startsWith('sqlite') ? oursSqlite : ours;
            const format = id.endsWith('xlsx') ? 'xlsx' : 'csv';
            return { rows: size, ...(await download(`${service.ready}/v1/exports/events.${format}?${query}`, token, service)) };
          }
          case 'baseline-csv':
          case 'baseline-xlsx':
          case 'baseline-sqlite-csv': {
            const service = id === 'baseline-sqlite-csv' ? baselineSqlite! : baseline!;
            const format = id.endsWith('xlsx') ? 'xlsx' : 'csv';
            return { rows: size, ...(await download(`${service.ready}/v1/exports/events.${format}?${query}`, token, service)) };
          }
          case 'ceiling': {
            const started = performance.now();
            const rows = await bareRead(admin.client);
            return { rows, seconds: (performance.now() - started) / 1000 };
          }
          case 'elasticdump-csv': {
            const run = await elasticdump(dumpBin, dumpProxy.url, es.reader, READ_ALIAS);
            return { ...run, rows: size };
          }
        }
      };
      const repeats = size > 100_000 ? REPEATS_LARGE : REPEATS;
      for (let round = 1; round <= repeats; round++) {
        for (const cell of shuffled(CELLS, order)) {
          const { result, foreignCpu, discarded } = await quiet.run(`${cell.id} ${size}`, () => runCell(cell.id));
          result.foreignCpu = foreignCpu;
          if (result.rows !== size) throw new Error(`${cell.id}: read ${result.rows} rows, expected ${size}`);
          cells[cell.id]!.runs.push(result);
          cells[cell.id]!.discarded.push(...discarded);
          console.error(
            `${fmtRate(size)} rows, round ${round}/${repeats}  ${cell.id.padEnd(16)} ${fmtRate(size / result.seconds).padStart(7)} rows/s` +
              (result.peakRss ? `  peak ${fmtMiB(result.peakRss)} MiB` : '') +
              (result.firstByteMs !== undefined ? `  first byte ${result.firstByteMs.toFixed(0)} ms` : '') +
              (foreignCpu === undefined ? '' : `  other processes ${Math.round(foreignCpu * 100)} % CPU`) +
              `  [${Math.round((performance.now() - began) / 1000)} s]`,
          );
        }
      }
      results[String(size)] = { loadSeconds, cells };
    }

    const out: Results = {
      date: new Date().toISOString(),
      machine: describeMachine({ elasticsearch: es.version, esHeapMiB: await esHeapMiB(admin.client), ownNode: es.pid !== undefined, loadBefore }),
      config: { sizes, repeats: REPEATS, repeatsLarge: REPEATS_LARGE, seed: SEED, page: PAGE, maxForeignCpu: MAX_FOREIGN_CPU, attempts: quiet.attempts },
      elasticdumpVersion,
      sizes: results,
      totalSeconds: 0,
      waitedSeconds: quiet.waitedSeconds,
    };
    await admin.close();
    await sqlite.close();
    await dumpProxy.close();
    for (const child of children.splice(0)) await child.stop();
    await es.stop();
    out.totalSeconds = (performance.now() - began) / 1000;
    writeResultsJson(NAME, out);
    const section = render(out);
    console.log(section);
    writeSection(HEADING, section);
  } finally {
    for (const child of children) await child.stop();
    await es.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---- reporting -----------------------------------------------------------------------------

function render(r: Results): string {
  const m = r.machine;
  const c = r.config;
  const allRuns = Object.values(r.sizes).flatMap((s) => Object.values(s.cells).flatMap((x) => x.runs));
  const foreign = allRuns.map((run) => run.foreignCpu).filter((x): x is number => x !== undefined);
  const discarded = Object.values(r.sizes).reduce((n, s) => n + Object.values(s.cells).reduce((k, x) => k + x.discarded.length, 0), 0);
  const lines = [
    HEADING,
    '',
    `Every event of one index read back in full, by each reader, in one run on one Elasticsearch node. Measured ${r.date.slice(0, 10)}; the whole run took ${duration(r.totalSeconds)}, of which ${duration(r.waitedSeconds)} waiting for other processes.`,
    '',
    `- **Machine**: ${machineLine(m)}.`,
    `- **Elasticsearch**: ${m.elasticsearch}, one node started by the benchmark (security on, plain HTTP on loopback), heap ${m.esHeapMiB ?? '?'} MiB; the events (from \`bench/generate-events.ts\`, seed ${c.seed}, one week: 7 daily indices, 1 shard each) loaded and refreshed off the clock, the index grown from one size to the next. The same events in a SQLite file (WAL) for the SQLite rows.`,
    `- **Ours**: \`node cli/dist/main.js export-service\`, its own process, as the read-only \`audit-reader\` user; \`GET /v1/exports/events.{csv,xlsx}?scope=all&from=…&to=…\` with a JWT, the body streamed over a loopback port to the benchmark, which reads and discards it. Peak RSS: the service process's VmHWM, reset (\`/proc/<pid>/clear_refs\`) before each download, so it is that download's peak, loaded code included. First byte: from sending the request to the first body chunk (the service counts the rows for its cap, opens a point in time and reads the first page before it writes).`,
    `- **Ceiling**: the store's own read without anything after it — point in time over the read alias, pages of ${c.page} sorted by \`@timestamp\`, \`event.id\` with \`search_after\`, each page's JSON parsed by the official client, the rows discarded — in the benchmark's process.`,
    `- **elasticdump** ${r.elasticdumpVersion} (installed by \`bench/tools/install-elasticdump.sh\` into \`.cache/bench-tools\`, not a project dependency): \`--input=<node>/audit-events --output=csv:///dev/null --overwrite --type=data --limit=${c.page}\` (its default read: a scroll, documents in index order — not sorted by time, as ours and the ceiling are — pages of the same size), as the same read-only user, through a pass-through proxy in the benchmark's process that answers \`GET /\` (the minimal distribution has no \`GET /\`, and elasticdump asks it for the version first) — an extra loopback hop that costs elasticdump a little; peak RSS: its process's VmHWM, polled every 50 ms. It writes the \`_source\` flattened one level (nested objects as JSON strings in their column), not our column set; it has no XLSX.`,
    `- **Method**: at each size, ${c.repeats} rounds (${c.repeatsLarge} above 100,000 rows) of every reader once, in a shuffled order; medians, and ratios between runs of the same round. ${otherLoad(foreign, discarded, c)}`,
    `- **Rerun**: \`${COMMAND}\` (\`BENCH_SIZES\`, \`BENCH_REPEATS\`, \`BENCH_REPEATS_LARGE\`; \`ELASTICSEARCH_URL\` for your own node, \`ELASTICDUMP_BIN\`). Raw numbers: \`bench/results/${NAME}.json\`.`,
    '',
    `| rows | reader | rows/s, median | min – max | vs ceiling (same round) | peak RSS (MiB) | first byte (ms) | size (MiB) |`,
    `| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |`,
  ];
  const headline: string[] = [];
  for (const [size, s] of Object.entries(r.sizes)) {
    const rates = (id: CellId) => s.cells[id]!.runs.map((run) => run.rows / run.seconds);
    const sameRound = (a: CellId, b: CellId) => median(rates(a).map((x, i) => x / rates(b)[i]!));
    for (const cell of CELLS) {
      const runs = s.cells[cell.id]!.runs;
      if (runs.length === 0) continue;
      const xs = rates(cell.id);
      const peaks = runs.map((run) => run.peakRss).filter((x): x is number => x !== undefined);
      const ttfb = runs.map((run) => run.firstByteMs).filter((x): x is number => x !== undefined);
      const bytes = runs.map((run) => run.bytes).filter((x): x is number => x !== undefined);
      lines.push(
        `| ${fmtRate(Number(size))} | ${cell.label} | **${fmtRate(median(xs))}** | ${fmtRate(Math.min(...xs))} – ${fmtRate(Math.max(...xs))} | ` +
          `${cell.id.includes('sqlite') ? '—' : pct(sameRound(cell.id, 'ceiling'), 1)} | ${peaks.length ? fmtMiB(Math.max(...peaks)) : '—'} | ` +
          `${ttfb.length ? fmtRate(median(ttfb)) : '—'} | ${bytes.length ? fmtMiB(median(bytes)) : '—'} |`,
      );
    }
    headline.push(
      `at ${fmtRate(Number(size))} rows our CSV runs at ${pct(sameRound('ours-csv', 'ceiling'), 1)} of the ceiling and ${sameRound('ours-csv', 'elasticdump-csv').toFixed(2)}× elasticdump's rate ` +
        `(XLSX: ${pct(sameRound('ours-xlsx', 'ceiling'), 1)} of the ceiling)` +
        (s.cells['baseline-csv']?.runs.length
          ? `, ${sameRound('ours-csv', 'baseline-csv').toFixed(2)}× the baseline's CSV, ${sameRound('ours-xlsx', 'baseline-xlsx').toFixed(2)}× its XLSX and ${sameRound('sqlite-csv', 'baseline-sqlite-csv').toFixed(2)}× its SQLite CSV`
          : '') +
        `, in ${fmtMiB(Math.max(...s.cells['ours-csv']!.runs.map((x) => x.peakRss ?? 0)))} MiB peak against elasticdump's ${fmtMiB(Math.max(...s.cells['elasticdump-csv']!.runs.map((x) => x.peakRss ?? 0)))} MiB`,
    );
  }
  const sentence = headline.join('; ');
  lines.push('', `**Headline (same-round medians).** ${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}.`);
  return lines.join('\n');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
