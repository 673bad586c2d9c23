/**
 * Our export service against an earlier build's (BENCH_BASELINE_DIR), both on one SQLite file,
 * interleaved in the same rounds: CSV and XLSX downloads of every event, rows/s, the service's
 * CPU time per row (from /proc, steadier than rows/s on a loaded machine), the download's peak
 * RSS (VmHWM reset before it) and the time to the first byte. No Elasticsearch:
 * for a loaded machine where bench/export-comparison.ts cannot load its node in time.
 *
 *   npx tsc -b && BENCH_BASELINE_DIR=../baseline npx tsx bench/export-sqlite-baseline.ts
 *
 * Environment: BENCH_ROWS (100000), BENCH_REPEATS (2), BENCH_COLUMNS (unset: each build's default
 * columns; a list such as the baseline's own columns compares like with like once a build adds some),
 * BENCH_FORMATS (csv,xlsx), BENCH_CPU_PROF_DIR (our service runs under `node --cpu-prof`, the
 * profile written there when it stops; read it with bench/cpu-profile-top.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { signToken } from '@otel-audit/exporter-service';
import { SqliteStore } from '@otel-audit/store';
import { EventSource, WINDOW_MS, WINDOW_START } from './generate-events.js';
import { cpuProfileFlags, startChildService, type ChildService } from './support/child-service.js';
import { BENCH_DIR } from './support/results-file.js';
import { fmtMiB, fmtRate, median } from './support/stats.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 2);
const BASELINE = process.env.BENCH_BASELINE_DIR;
const FORMATS = (process.env.BENCH_FORMATS ?? 'csv,xlsx').split(',');
const SECRET = 'export-sqlite-baseline-secret-0123456789';

/** The process's user + system CPU time so far, in ms (clock ticks of 10 ms): less disturbed by a loaded machine than the wall clock. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function download(url: string, token: string, service: ChildService) {
  spawnSync('sh', ['-c', `echo 5 > /proc/${service.pid}/clear_refs`]);
  const cpuBefore = cpuMs(service.pid);
  const started = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`${res.status}: ${await res.text()}`);
  const reader = res.body!.getReader();
  let firstByteMs: number | undefined;
  for (;;) {
    const { done } = await reader.read();
    if (done) break;
    firstByteMs ??= performance.now() - started;
  }
  return { seconds: (performance.now() - started) / 1000, cpuMs: cpuMs(service.pid) - cpuBefore, peakRss: service.peakRss() ?? 0, firstByteMs: firstByteMs ?? NaN };
}

async function main(): Promise<void> {
  if (!BASELINE) throw new Error('set BENCH_BASELINE_DIR to a built checkout');
  const tmp = mkdtempSync(join(os.tmpdir(), 'otel-audit-bench-sqlite-ab-'));
  const children: ChildService[] = [];
  try {
    const store = new SqliteStore({ path: join(tmp, 'audit.sqlite') });
    await store.init();
    const source = new EventSource(1, ROWS);
    for (let n = 0; n < ROWS; n += 5000) await store.insert(source.take(Math.min(5000, ROWS - n)));
    await store.close();
    const env = (spool: string): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      AUDIT_EXPORT_PORT: '0',
      AUDIT_DATA_DIR: tmp,
      AUDIT_EXPORT_AUDIT_SPOOL_DIR: join(tmp, spool),
      AUDIT_JWT_SECRET: SECRET,
      AUDIT_EXPORT_ROW_CAP: String(ROWS + 1),
      AUDIT_EXPORT_MAX_RANGE_DAYS: '3660',
    });
    const services: Record<string, ChildService> = {};
    for (const [name, cli] of [['ours', join(BENCH_DIR, '..', 'cli', 'dist', 'main.js')], ['baseline', join(BASELINE, 'cli', 'dist', 'main.js')]] as const) {
      const flags = name === 'ours' ? cpuProfileFlags() : [];
      services[name] = await startChildService(process.execPath, [...flags, cli, 'export-service'], { name, env: env(`${name}-spool`), ready: /export service listening on (http:\/\/[0-9.:]+)/ });
      children.push(services[name]!);
    }
    const token = await signToken(SECRET, { sub: 'bench', superAdmin: true });
    const from = new Date(WINDOW_START - 86_400_000).toISOString();
    const to = new Date(WINDOW_START + WINDOW_MS + 3 * 86_400_000).toISOString();
    const columns = process.env.BENCH_COLUMNS ? `&columns=${encodeURIComponent(process.env.BENCH_COLUMNS)}` : '';
    const query = `scope=all&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}${columns}`;
    const runs: Record<string, { rate: number; cpuUs: number; peakRss: number; firstByteMs: number }[]> = {};
    for (let round = 1; round <= REPEATS; round++) {
      // Interleaved: each format, ours and the baseline back to back, the order flipped every round.
      for (const format of FORMATS) {
        const order = round % 2 ? ['ours', 'baseline'] : ['baseline', 'ours'];
        for (const name of order) {
          const r = await download(`${services[name]!.ready}/v1/exports/events.${format}?${query}`, token, services[name]!);
          (runs[`${name} ${format}`] ??= []).push({ rate: ROWS / r.seconds, cpuUs: (1000 * r.cpuMs) / ROWS, peakRss: r.peakRss, firstByteMs: r.firstByteMs });
          console.error(`round ${round} ${name} ${format}: ${fmtRate(ROWS / r.seconds)} rows/s, ${((1000 * r.cpuMs) / ROWS).toFixed(1)} CPU µs/row, peak ${fmtMiB(r.peakRss)} MiB, first byte ${r.firstByteMs.toFixed(0)} ms, load ${os.loadavg()[0]!.toFixed(1)}`);
        }
      }
    }
    console.log(`| reader | rows/s (median) | service CPU µs per row (median) | peak RSS (MiB, max) | first byte (ms, median) |\n| --- | ---: | ---: | ---: | ---: |`);
    for (const [key, xs] of Object.entries(runs)) {
      const cpu = median(xs.map((x) => x.cpuUs)).toFixed(1);
      console.log(`| ${key} | ${fmtRate(median(xs.map((x) => x.rate)))} | ${cpu} | ${fmtMiB(Math.max(...xs.map((x) => x.peakRss)))} | ${fmtRate(median(xs.map((x) => x.firstByteMs)))} |`);
    }
  } finally {
    for (const child of children) await child.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
