/**
 * Resident memory of an idle service started through the CLI, this checkout's build against
 * earlier ones' (BENCH_BASELINE_DIR, a comma-separated list of built checkouts), interleaved in the
 * same rounds: `export-service` on SQLite, `export-service`
 * on Elasticsearch (ELASTICSEARCH_URL and its credentials from the environment; skipped when
 * unset) and `collector` on SQLite. VmRSS and VmHWM read BENCH_SETTLE_MS after the service
 * says it listens, before any request.
 *
 *   npx tsc -b && BENCH_BASELINE_DIR=../baseline npx tsx bench/cli-idle-memory.ts
 *
 * Environment: BENCH_REPEATS (3), BENCH_SETTLE_MS (3000).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { startChildService } from './support/child-service.js';
import { BENCH_DIR } from './support/results-file.js';
import { fmtMiB, median } from './support/stats.js';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 3000);
const BASELINE = process.env.BENCH_BASELINE_DIR;

const statusKiB = (pid: number, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;

async function main(): Promise<void> {
  if (!BASELINE) throw new Error('set BENCH_BASELINE_DIR to a built checkout (or several, comma-separated)');
  const es = process.env.ELASTICSEARCH_URL;
  const cases = [
    { name: 'export-service, SQLite', command: 'export-service', ready: /export service listening on/, es: false },
    ...(es ? [{ name: 'export-service, Elasticsearch', command: 'export-service', ready: /export service listening on/, es: true }] : []),
    { name: 'collector, SQLite', command: 'collector', ready: /collector listening on/, es: false },
  ];
  const baselines = BASELINE.split(',');
  const builds: [string, string][] = [
    ['ours', join(BENCH_DIR, '..', 'cli', 'dist', 'main.js')],
    ...baselines.map((dir, i): [string, string] => [baselines.length > 1 ? `baseline ${i + 1} (${dir})` : 'baseline', join(dir, 'cli', 'dist', 'main.js')]),
  ];
  const runs: Record<string, { rss: number; hwm: number }[]> = {};
  for (let round = 1; round <= REPEATS; round++) {
    for (const c of cases) {
      for (const [build, cli] of round % 2 ? builds : [...builds].reverse()) {
        const tmp = mkdtempSync(join(os.tmpdir(), 'otel-audit-bench-idle-'));
        const service = await startChildService(process.execPath, [cli, c.command], {
          name: `${build} ${c.command}`,
          ready: c.ready,
          env: {
            ...process.env,
            ELASTICSEARCH_URL: c.es ? es : '',
            AUDIT_DATA_DIR: tmp,
            AUDIT_EXPORT_PORT: '0',
            AUDIT_COLLECTOR_PORT: '0',
            AUDIT_COLLECTOR_GRPC_PORT: '0',
            AUDIT_JWT_SECRET: 'cli-idle-memory-secret-0123456789abcdef',
            AUDIT_LOG_LEVEL: 'info',
          },
        });
        await new Promise((r) => setTimeout(r, SETTLE_MS));
        const sample = { rss: statusKiB(service.pid, 'VmRSS'), hwm: statusKiB(service.pid, 'VmHWM') };
        await service.stop();
        rmSync(tmp, { recursive: true, force: true });
        (runs[`${c.name}|${build}`] ??= []).push(sample);
        console.error(`round ${round} ${build} ${c.name}: RSS ${fmtMiB(sample.rss)} MiB, peak ${fmtMiB(sample.hwm)} MiB, load ${os.loadavg()[0]!.toFixed(1)}`);
      }
    }
  }
  console.log('| idle service | build | RSS (MiB, median) | peak so far (MiB, median) |\n| --- | --- | ---: | ---: |');
  for (const c of cases) {
    for (const [build] of builds) {
      const xs = runs[`${c.name}|${build}`]!;
      const m = (k: 'rss' | 'hwm') => fmtMiB(median(xs.map((x) => x[k])));
      console.log(`| ${c.name} | ${build} | ${m('rss')} | ${m('hwm')} |`);
    }
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
