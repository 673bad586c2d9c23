// record() cost by queue kind: how much validation, the queue, the disk spool and its fsync
// policy cost the caller. Nothing is delivered (the endpoint is a closed port and the batch
// delay is an hour); this measures the application's side only. The last row also pays for
// what happens after record(): batches mapped, serialised by the SDK's exporter and sent to
// a sink in this process that answers 200, until flush() resolves.
//
//   node bench/record-throughput.mjs [events=20000] [module ...] [--rounds=5]
//
// With no module, this checkout's build. With two (e.g. another checkout's
// instrumentation/dist/index.js, then this one's), both run in this one process, in
// alternating order, `rounds` times, and the medians are printed side by side: on a shared
// machine, load that comes and goes then weighs on both alike. The figure to compare is CPU
// µs per record (user + system time of this process over the loop): the loop is
// synchronous, so other processes stretch the wall-clock rate more than the CPU time.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 5);
const positional = args.filter((a) => !a.startsWith('--'));
const n = Number(positional[0] ?? 20_000);
const modulePaths = positional.slice(1);
const builds = await Promise.all(
  (modulePaths.length > 0 ? modulePaths : ['@otel-audit/instrumentation']).map(async (m) => ({
    label: m,
    ...(await import(m.startsWith('@') ? m : pathToFileURL(resolve(m)).href)),
  })),
);

const event = {
  action: 'api_token.create',
  actor: { id: 'u-42', name: 'Alice Martin', type: 'user', email: 'alice@example.com' },
  client: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' },
  workspace: { id: 'acme', name: 'Acme' },
  resource: { type: 'api_token', id: 'tok-7', name: 'CI deploy' },
};

const sink = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
});
await new Promise((r) => sink.listen(0, '127.0.0.1', r));
const sinkUrl = `http://127.0.0.1:${sink.address().port}`;

const kinds = [
  { label: 'memory', count: n },
  { label: 'spool, fsync never', fsync: 'never', count: n },
  { label: 'spool, fsync interval', fsync: 'interval', count: n },
  { label: 'spool, fsync always', fsync: 'always', count: Math.min(n, 500) },
  { label: 'memory, sent to a sink', deliver: true, count: n },
];

/** One run: CPU µs and wall-clock events/s of `count` record() calls (and the flush, when delivering). */
async function run(build, kind) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-spool-'));
  const audit = build.createAuditLogger({
    endpoint: kind.deliver ? sinkUrl : 'http://127.0.0.1:9',
    maxQueueRecords: kind.count + 1,
    ...(kind.deliver ? {} : { scheduledDelayMillis: 3_600_000 }),
    ...(kind.fsync ? { spool: { dir, fsync: kind.fsync } } : {}),
  });
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < kind.count; i++) audit.record(event);
  if (kind.deliver) await audit.flush({ timeoutMillis: 600_000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  // No shutdown of the undelivered ones: it would wait out export attempts to the closed port.
  if (kind.deliver) await audit.shutdown();
  rmSync(dir, { recursive: true, force: true });
  return { cpuMicros: (used.user + used.system) / kind.count, rate: kind.count / seconds };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// Warm-up, not reported: the first thousands of calls run before the JIT has compiled them.
for (const build of builds) await run(build, { label: 'warm-up', count: 5000 });

const results = new Map(builds.map((b) => [b.label, new Map(kinds.map((k) => [k.label, []]))]));
for (let round = 0; round < rounds; round++) {
  for (const kind of kinds) {
    const order = round % 2 === 0 ? builds : [...builds].reverse();
    for (const build of order) results.get(build.label).get(kind.label).push(await run(build, kind));
  }
}

console.log(`${n} events a run (${Math.min(n, 500)} with fsync always), median of ${rounds} rounds; CPU µs per record / events per second`);
console.log(['queue'.padEnd(24), ...builds.map((b) => b.label.slice(-60).padStart(34))].join(''));
for (const kind of kinds) {
  const cells = builds.map((b) => {
    const runs = results.get(b.label).get(kind.label);
    return `${median(runs.map((r) => r.cpuMicros)).toFixed(1)} µs / ${Math.round(median(runs.map((r) => r.rate)))}/s`.padStart(34);
  });
  console.log([kind.label.padEnd(24), ...cells].join(''));
}
process.exit(0);
