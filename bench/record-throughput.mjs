// record() throughput by queue kind: how much the disk spool and its fsync policy cost the caller.
// Nothing is delivered (the endpoint is a closed port); this measures the application's side only.
//   node bench/record-throughput.mjs [events=20000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditLogger } from '@otel-audit/instrumentation';

const n = Number(process.argv[2] ?? 20_000);
const event = {
  action: 'api_token.create',
  actor: { id: 'u-42', name: 'Alice Martin', type: 'user', email: 'alice@example.com' },
  client: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' },
  workspace: { id: 'acme', name: 'Acme' },
  resource: { type: 'api_token', id: 'tok-7', name: 'CI deploy' },
};
const kinds = [['memory'], ['spool, fsync never', 'never'], ['spool, fsync interval', 'interval'], ['spool, fsync always', 'always']];
for (const [label, fsync] of kinds) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-spool-'));
  const audit = createAuditLogger({
    endpoint: 'http://127.0.0.1:9',
    maxQueueRecords: n + 1,
    scheduledDelayMillis: 3_600_000,
    ...(fsync ? { spool: { dir, fsync } } : {}),
  });
  const count = fsync === 'always' ? Math.min(n, 2000) : n;
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) audit.record(event);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`${label.padEnd(24)} ${String(Math.round(count / seconds)).padStart(8)} events/s  (${count} events)`);
  // No shutdown: it would wait out export attempts to the closed port.
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
