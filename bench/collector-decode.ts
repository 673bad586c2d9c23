/**
 * The collector's receive path, before and after it decoded records straight into events
 * (issue 15): CPU time and bytes allocated per 512-record OTLP/HTTP request, from the
 * request to the checked events (decode + checkRecord of every record: mapping, redaction,
 * sender rules, time unit, validation). "before" is a built checkout of the code before
 * (BENCH_BASELINE_DIR, e.g. 07aa154), imported by path, in the same process and rounds.
 * Protobuf starts from the body's bytes; JSON from the parsed body (Fastify's JSON.parse
 * is the same on both sides and left out).
 *
 *   npm run build && BENCH_BASELINE_DIR=../baseline node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 --import tsx bench/collector-decode.ts
 *
 * Allocation is the heap's growth over one request during which no garbage collection ran
 * (as in bench/ingest-allocations.ts); CPU time is the process's user + system time over
 * ten requests in a row, divided by ten, the collections they cause included.
 * BENCH_REPEATS rounds (15), before and after interleaved in each, the order alternating;
 * medians. BENCH_REFUSED (0): every n-th record is made invalid (an empty actor id), to
 * price a refused record's dead letter (candidate and original). Last, this checkout's
 * protobuf request by step (protobufjs' decode, reading into candidate events, checks).
 */
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { AuditEvent } from '@otel-audit/contract';
import { otlpJsonBody } from '../test/support/otlp-json.js';
import { protobufBody } from '../test/support/otlp-proto.js';
import { EventSource } from './generate-events.js';
import { median } from './support/stats.js';

const BATCH = 512;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 15);
const REFUSED = Number(process.env.BENCH_REFUSED ?? 0);
const CPU_REQUESTS = 10;
const BASELINE = process.env.BENCH_BASELINE_DIR;
if (!BASELINE) throw new Error('set BENCH_BASELINE_DIR to a built checkout of the code before (see the header)');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (see the header)');

type Check = (record: never, sender: undefined) => { ok: boolean };
interface Side {
  decodeProtobuf: (body: Buffer) => unknown[];
  decodeJson: (body: unknown) => unknown[];
  checkRecord: Check;
}
async function side(root: string): Promise<Side> {
  const load = (path: string) => import(pathToFileURL(resolve(root, 'collector/dist/internal', path)).href) as Promise<Record<string, never>>;
  const [proto, json, receive] = await Promise.all([load('otlp-proto.js'), load('otlp-json.js'), load('receive-records.js')]);
  return { decodeProtobuf: proto.decodeOtlpProtobuf!, decodeJson: json.decodeOtlpJson!, checkRecord: receive.checkRecord! };
}
const sides = { before: await side(BASELINE), after: await side('.') };

const events: Record<string, unknown>[] = new EventSource(1, BATCH)
  .take(BATCH)
  .map(({ service: _service, ...e }: AuditEvent, i) => (REFUSED > 0 && i % REFUSED === 0 ? { ...e, actor: { ...e.actor, id: '' } } : e));
const json = otlpJsonBody(events, 'bench');
// protobufjs' fromObject reads bytes as base64; OTLP/JSON has the ids in hex.
const protobuf = protobufBody(JSON.parse(json, (key, value: unknown) => ((key === 'traceId' || key === 'spanId') && typeof value === 'string' ? Buffer.from(value, 'hex') : value)));

let collections = 0;
new PerformanceObserver((list) => (collections += list.getEntries().length)).observe({ entryTypes: ['gc'] });

/**
 * One request through decode and check, and the record as sent of each refused record (the
 * code before built it while decoding, for every record; now receiveRecords asks for it).
 */
function receive(s: Side, encoding: 'protobuf' | 'json', body: unknown): { ok: boolean }[] {
  const records = encoding === 'json' ? s.decodeJson(body) : s.decodeProtobuf(body as Buffer);
  return records.map((r) => {
    const checked = s.checkRecord(r as never, undefined);
    const { original } = r as { original?: unknown };
    if (!checked.ok && typeof original === 'function') return { ...checked, original: original() as unknown };
    return checked;
  });
}

/** Bytes allocated by one request, read over a request during which no collection ran; and how many records passed. */
async function allocation(s: Side, encoding: 'protobuf' | 'json'): Promise<{ bytes: number; accepted: number }> {
  for (;;) {
    const body = encoding === 'json' ? JSON.parse(json) : protobuf;
    const forced = collections;
    gc!();
    for (let turn = 0; collections === forced && turn < 100; turn++) await new Promise((r) => setTimeout(r, 1));
    const seen = collections;
    const heap = process.memoryUsage().heapUsed;
    const checked = receive(s, encoding, body);
    const bytes = process.memoryUsage().heapUsed - heap;
    await new Promise((r) => setImmediate(r));
    if (collections === seen) return { bytes, accepted: checked.filter((c) => c.ok).length };
  }
}

/** CPU time (user + system) per request over CPU_REQUESTS requests in a row, the collections they cause included. */
function cpuTime(s: Side, encoding: 'protobuf' | 'json'): number {
  const bodies = Array.from({ length: CPU_REQUESTS }, () => (encoding === 'json' ? JSON.parse(json) : protobuf));
  const cpu = process.cpuUsage();
  for (const body of bodies) receive(s, encoding, body);
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / CPU_REQUESTS;
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' / ');
console.log(`${cpus().length} cores, load average before: ${load()}; ${BATCH} records per request, ${REPEATS} rounds${REFUSED > 0 ? `, every ${REFUSED}th record refused` : ''}`);
const runs: Record<string, { bytes: number; cpuMicros: number; accepted: number }[]> = {};
for (let round = -3; round < REPEATS; round++) {
  const order = round % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
  for (const encoding of ['protobuf', 'json'] as const) {
    for (const name of order) {
      const { bytes, accepted } = await allocation(sides[name], encoding);
      const cpuMicros = cpuTime(sides[name], encoding);
      // Three warm-up rounds, not kept.
      if (round >= 0) (runs[`${encoding} ${name}`] ??= []).push({ bytes, cpuMicros, accepted });
    }
  }
}
console.log(`load average after: ${load()}`);
console.log('| request (512 records) | bytes allocated, median | per record | CPU time, median | per record | accepted |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const [label, rs] of Object.entries(runs)) {
  const bytes = median(rs.map((r) => r.bytes));
  const cpu = median(rs.map((r) => r.cpuMicros));
  const kib = (bytes / 1024).toLocaleString('en-US', { maximumFractionDigits: 0 });
  console.log(`| ${label} | ${kib} KiB | ${Math.round(bytes / BATCH).toLocaleString('en-US')} B | ${(cpu / 1000).toFixed(1)} ms | ${(cpu / BATCH).toFixed(1)} µs | ${rs[0]!.accepted} |`);
}

// This checkout's protobuf path by step: what is left of it (bench/RESULTS.md).
const proto = (await import(pathToFileURL(resolve('collector/dist/internal/otlp-proto.js')).href)) as {
  decodeLogsRequest: (bytes: Uint8Array) => unknown;
  recordsOfLogsRequest: (message: unknown) => unknown[];
};
const steps: Record<'decode' | 'read' | 'check', number[]> = { decode: [], read: [], check: [] };
// Each step run CPU_REQUESTS times over the same input, its output dropped: its own time and
// the collections of its own garbage, not those of what an earlier step left alive.
const timed = (step: keyof typeof steps, run: () => unknown) => {
  const cpu = process.cpuUsage();
  for (let i = 0; i < CPU_REQUESTS; i++) run();
  const used = process.cpuUsage(cpu);
  steps[step].push((used.user + used.system) / CPU_REQUESTS);
};
const message = proto.decodeLogsRequest(protobuf);
const records = proto.recordsOfLogsRequest(message);
for (let round = -3; round < REPEATS; round++) {
  timed('decode', () => proto.decodeLogsRequest(protobuf));
  timed('read', () => proto.recordsOfLogsRequest(message));
  timed('check', () => records.map((r) => sides.after.checkRecord(r as never, undefined)));
  if (round < 0) for (const list of Object.values(steps)) list.length = 0;
}
const ms = (step: keyof typeof steps) => `${(median(steps[step]) / 1000).toFixed(1)} ms`;
console.log(`this checkout, protobuf, per request: protobufjs decode ${ms('decode')}, reading into candidate events ${ms('read')}, checks ${ms('check')}`);
