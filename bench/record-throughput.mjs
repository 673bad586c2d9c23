// record() cost by queue kind: how much validation, the queue, the disk spool and its fsync
// policy cost the caller. Nothing is delivered (the endpoint is a closed port and the batch
// delay is an hour); this measures the application's side only. The last row also pays for
// what happens after record(): batches mapped, serialised by the SDK's exporter and sent to
// a sink in this process that answers 200, until flush() resolves.
//   node bench/record-throughput.mjs [events=20000] [instrumentation module, default: this checkout's build]
// Before/after on one machine: the same script against another build, e.g.
//   node bench/record-throughput.mjs 20000 /path/to/other/checkout/instrumentation/dist/index.js
// CPU µs per record (user + system time of this process over the loop) is the figure to
// compare on a shared machine: the loop is synchronous, so other processes stretch the
// wall-clock rate but not the CPU time it took.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const n = Number(process.argv[2] ?? 20_000);
const moduleArg = process.argv[3];
const { createAuditLogger } = await import(moduleArg ? pathToFileURL(resolve(moduleArg)).href : '@otel-audit/instrumentation');

const event = {
  action: 'api_token.create',
  actor: { id: 'u-42', name: 'Alice Martin', type: 'user', email: 'alice@example.com' },
  client: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' },
  workspace: { id: 'acme', name: 'Acme' },
  resource: { type: 'api_token', id: 'tok-7', name: 'CI deploy' },
};
const kinds = [['warm-up (not a result)'], ['memory'], ['spool, fsync never', 'never'], ['spool, fsync interval', 'interval'], ['spool, fsync always', 'always']];
for (const [label, fsync] of kinds) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-spool-'));
  const audit = createAuditLogger({
    endpoint: 'http://127.0.0.1:9',
    maxQueueRecords: n + 1,
    scheduledDelayMillis: 3_600_000,
    ...(fsync ? { spool: { dir, fsync } } : {}),
  });
  const count = fsync === 'always' ? Math.min(n, 2000) : label.startsWith('warm') ? Math.min(n, 5000) : n;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) audit.record(event);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuMicros = (used.user + used.system) / count;
  console.log(`${label.padEnd(24)} ${String(Math.round(count / seconds)).padStart(8)} events/s  ${cpuMicros.toFixed(1).padStart(7)} CPU µs/record  (${count} events)`);
  // No shutdown: it would wait out export attempts to the closed port.
  rmSync(dir, { recursive: true, force: true });
}

const sink = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
});
await new Promise((r) => sink.listen(0, '127.0.0.1', r));
const audit = createAuditLogger({ endpoint: `http://127.0.0.1:${sink.address().port}`, maxQueueRecords: n + 1 });
const cpu = process.cpuUsage();
const started = process.hrtime.bigint();
for (let i = 0; i < n; i++) audit.record(event);
await audit.flush({ timeoutMillis: 600_000 });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const used = process.cpuUsage(cpu);
console.log(`${'memory, sent to a sink'.padEnd(24)} ${String(Math.round(n / seconds)).padStart(8)} events/s  ${((used.user + used.system) / n).toFixed(1).padStart(7)} CPU µs/record  (${n} events, record() + flush())`);
process.exit(0);
