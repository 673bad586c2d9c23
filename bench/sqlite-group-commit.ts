/**
 * SQLite inserts from many concurrent callers (small requests, where the fsync and not the
 * rows is the cost), this checkout's store against a baseline checkout's, interleaved:
 * events/s stored with WAL and synchronous=FULL, chained. Group commit shares one transaction
 * and fsync among the callers of one turn; the baseline commits each call on its own.
 *
 *   npm run build && BENCH_BASELINE_DIR=<a built checkout of an earlier commit> npx tsx bench/sqlite-group-commit.ts
 *
 * BENCH_CALLERS concurrent callers (16), BENCH_BATCH events per call (32), BENCH_CALLS calls
 * per run (400), BENCH_REPEATS rounds (3).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { EventSource } from './generate-events.js';
import { median } from './support/stats.js';

const CALLERS = Number(process.env.BENCH_CALLERS ?? 16);
const BATCH = Number(process.env.BENCH_BATCH ?? 32);
const CALLS = Number(process.env.BENCH_CALLS ?? 400);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const builds = [{ name: 'this checkout', dir: join(import.meta.dirname, '..') }, ...(process.env.BENCH_BASELINE_DIR ? [{ name: 'baseline', dir: process.env.BENCH_BASELINE_DIR }] : [])];
const tmp = mkdtempSync(join(os.tmpdir(), 'bench-group-commit-'));
const source = new EventSource(1, CALLS * BATCH * builds.length * REPEATS);
const rates = new Map<string, number[]>(builds.map((b) => [b.name, []]));
try {
  for (let round = 0; round < REPEATS; round++) {
    for (const b of builds) {
      const store = await import(join(b.dir, 'store', 'dist', 'index.js'));
      const sqlite = new store.SqliteStore({ path: join(tmp, `${b.name}-${round}.db`) });
      const chain = new store.HashChain('bench');
      const calls = Array.from({ length: CALLS }, () => source.take(BATCH));
      let next = 0;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: CALLERS }, async () => {
        while (next < calls.length) await sqlite.insert(calls[next++]!, chain);
      }));
      const rate = (CALLS * BATCH) / ((performance.now() - t0) / 1000);
      rates.get(b.name)!.push(rate);
      await sqlite.close();
      console.error(`round ${round + 1}/${REPEATS}  ${b.name.padEnd(14)} ${Math.round(rate).toLocaleString('en-US')} events/s`);
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`| store | events/s stored, median of ${REPEATS} (${CALLERS} callers × ${BATCH} events, chained) | min – max |`);
console.log('| --- | ---: | ---: |');
for (const [name, xs] of rates) console.log(`| ${name} | **${Math.round(median(xs)).toLocaleString('en-US')}** | ${Math.round(Math.min(...xs)).toLocaleString('en-US')} – ${Math.round(Math.max(...xs)).toLocaleString('en-US')} |`);
