import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCollector } from '@otel-audit/collector';
import { ATTR, AUDIT_ACTIONS, toLogRecord, validateAuditEvent, type AuditEvent } from '@otel-audit/contract';
import { SqliteStore } from '@otel-audit/store';
import { decodeProto, ExportLogsServiceResponse, protobufBody, RpcStatus } from '../../test/support/otlp-proto.js';
import { listen } from '../../test/support/services.js';

/*
 * Property: whatever arrives on /v1/logs, the collector answers 200 (maybe with
 * partial_success naming the problem), or a 4xx with a message, or the documented 503 +
 * Retry-After; it keeps serving; and everything it stored satisfies the event contract.
 * Seeded, so a failure prints a seed and a path that replay it (fc.assert's report).
 */

const slow = process.env.AUDIT_SLOW_TESTS === '1';
const SEED = Number(process.env.AUDIT_FUZZ_SEED ?? 7);
/** Cases of the inject property (a fifth of that over real HTTP); the slow step runs more. */
const RUNS = Number(process.env.AUDIT_FUZZ_RUNS ?? (slow ? 20_000 : 2_000));

// ---- generators ---------------------------------------------------------------------------

const ACTIONS = Object.keys(AUDIT_ACTIONS);
const ATTRIBUTE_KEYS = [...Object.values(ATTR).filter((k) => k !== ATTR.metadataPrefix), 'audit.metadata.plan', 'audit.metadata.__proto__'];
const TRICKY = [
  '',
  ' ',
  '\u0000',
  '\uD800',
  '\uFEFF',
  '💥🔥',
  'e\u0301',
  '<script>alert(1)</script>',
  "'; DROP TABLE audit_events; --",
  '${jndi:ldap://x/a}',
  '=HYPERLINK("http://x")',
  '__proto__',
  'constructor',
  '{"query":{"match_all":{}}}',
  '*',
  'NaN',
  '-0',
  '1e400',
];

const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 2, arbitrary: fc.constantFrom(...TRICKY) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 10_000 }).map((n) => 'é'.repeat(n)) },
);

/** An OTLP AnyValue, well-formed or not. */
const { anyValue } = fc.letrec<{ anyValue: unknown }>((tie) => ({
  anyValue: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    fc.record({ stringValue: text }),
    fc.record({ intValue: fc.oneof(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String), fc.integer(), fc.double(), text) }),
    fc.record({ doubleValue: fc.oneof(fc.double(), text) }),
    fc.record({ boolValue: fc.oneof(fc.boolean(), text) }),
    fc.record({ bytesValue: fc.base64String({ maxLength: 16 }) }),
    fc.record({ arrayValue: fc.record({ values: fc.array(tie('anyValue'), { maxLength: 4 }) }) }),
    fc.record({ kvlistValue: fc.record({ values: fc.array(fc.record({ key: text, value: tie('anyValue') }), { maxLength: 4 }) }) }),
    fc.jsonValue({ maxDepth: 2 }),
  ),
}));

/** 64-bit nanoseconds as the JSON mapping writes them, and everything else one might send there. */
const timeNanos = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(-1, 1e300, -1e300, 2 ** 63, '1e30', '', '-5', '0x10', '99999999999999999999') },
  { weight: 1, arbitrary: text },
);

/** A valid event, as a sender would record it. */
const validEvent: fc.Arbitrary<AuditEvent> = fc
  .record({
    id: fc.uuid({ version: 7 }),
    time: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }),
    action: fc.constantFrom(...ACTIONS),
    outcome: fc.constantFrom('success', 'failure', 'unknown' as const),
    actorId: fc.string({ minLength: 1, maxLength: 40 }),
    name: fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }), { nil: undefined }),
    workspace: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
    message: fc.option(fc.string({ unit: 'grapheme', maxLength: 200 }), { nil: undefined }),
  })
  .map(({ id, time, action, outcome, actorId, name, workspace, message }) => ({
    id,
    time: time.toISOString(),
    action,
    category: AUDIT_ACTIONS[action as keyof typeof AUDIT_ACTIONS].category,
    outcome,
    actor: { id: actorId, type: 'user' as const, ...(name ? { name } : {}) },
    ...(workspace ? { workspace: { id: workspace } } : {}),
    ...(message ? { message } : {}),
  }));

type Json = Record<string, unknown>;

/** The event's LogRecord in the OTLP JSON mapping (what `otlpJsonBody` in test/support writes). */
function jsonLogRecord(event: AuditEvent): Json {
  const r = toLogRecord(event);
  const value = (v: unknown): Json =>
    typeof v === 'string'
      ? { stringValue: v }
      : typeof v === 'number'
        ? { doubleValue: v }
        : typeof v === 'boolean'
          ? { boolValue: v }
          : { arrayValue: { values: (v as unknown[]).map(value) } };
  return {
    timeUnixNano: String(BigInt(r.timestamp) * 1_000_000n),
    eventName: r.eventName,
    ...(r.body !== undefined ? { body: { stringValue: r.body } } : {}),
    attributes: Object.entries(r.attributes).map(([key, v]) => ({ key, value: value(v) })),
  };
}

/** A valid record with some of its fields replaced, removed or added: near misses find more than noise. */
const mutatedLogRecord: fc.Arbitrary<Json> = fc
  .record({
    event: validEvent,
    attributes: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...ATTRIBUTE_KEYS), text), fc.option(anyValue, { nil: undefined })), { maxLength: 4 }),
    time: fc.option(timeNanos, { nil: undefined, freq: 3 }),
    eventName: fc.option(fc.oneof(text, fc.constantFrom(...ACTIONS), fc.jsonValue({ maxDepth: 1 })), { nil: undefined, freq: 3 }),
    body: fc.option(anyValue, { nil: undefined, freq: 3 }),
    extra: fc.option(fc.dictionary(text, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), { nil: undefined, freq: 4 }),
  })
  .map(({ event, attributes, time, eventName, body, extra }) => {
    const record = jsonLogRecord(event);
    let attrs = record.attributes as { key: string; value: unknown }[];
    for (const [key, value] of attributes) {
      attrs = attrs.filter((a) => a.key !== key);
      if (value !== undefined) attrs.push({ key, value });
    }
    return {
      ...extra,
      ...record,
      attributes: attrs,
      ...(time !== undefined ? { timeUnixNano: time } : {}),
      ...(eventName !== undefined ? { eventName } : {}),
      ...(body !== undefined ? { body } : {}),
    };
  });

/** Values that are not deep, just not what the field should hold. */
const wrongShape = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(null), fc.constant([1, 'two']), text);

/** An ExportLogsServiceRequest in the JSON mapping: mostly the right shape, sometimes not at some level. */
const otlpRequest: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        service: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('billing', 'payroll') }, { weight: 1, arbitrary: text }, { weight: 1, arbitrary: anyValue }),
        records: fc.array(
          fc.oneof(
            { weight: 3, arbitrary: validEvent.map(jsonLogRecord) },
            { weight: 5, arbitrary: mutatedLogRecord },
            { weight: 1, arbitrary: wrongShape },
          ),
          { maxLength: 6 },
        ),
      })
      .map(({ service, records }) => ({
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'service.name', value: typeof service === 'string' ? { stringValue: service } : service }] },
            scopeLogs: [{ scope: { name: 'fuzz' }, logRecords: records }],
          },
        ],
      })),
  },
  { weight: 1, arbitrary: fc.record({ resourceLogs: wrongShape }) },
  { weight: 1, arbitrary: fc.record({ resourceLogs: fc.array(fc.record({ scopeLogs: wrongShape }), { maxLength: 2 }) }) },
  { weight: 1, arbitrary: wrongShape },
);

/**
 * A record whose body nests array values `depth` levels deep, written as text: too deep
 * for JSON.stringify (or any recursive reader) to build.
 */
function deepJson(depth: number): Buffer {
  const body = `${'{"arrayValue":{"values":['.repeat(depth)}{"stringValue":"bottom"}${']}}'.repeat(depth)}`;
  return Buffer.from(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"auth.login","body":${body}}]}]}]}`);
}

/**
 * The same in protobuf, encoded by hand from the inside out (field numbers from the .proto
 * files); prefixes are collected and joined once, so 100,000 levels take linear time.
 */
function deepProtobuf(depth: number): Buffer {
  const prefixes: Buffer[] = [];
  let size = 0;
  const wrap = (no: number) => {
    const prefix = Buffer.concat([varint((no << 3) | 2), varint(size)]);
    prefixes.push(prefix);
    size += prefix.length;
  };
  const bottom = Buffer.from('bottom');
  size = bottom.length;
  wrap(1); // AnyValue.string_value
  for (let i = 0; i < depth; i++) {
    wrap(1); // ArrayValue.values
    wrap(5); // AnyValue.array_value
  }
  for (const no of [5, 2, 2, 1]) wrap(no); // LogRecord.body, ScopeLogs.log_records, ResourceLogs.scope_logs, resource_logs
  return Buffer.concat([...prefixes.reverse(), bottom]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  for (; n > 127; n >>>= 7) out.push((n & 127) | 128);
  out.push(n);
  return Buffer.from(out);
}

type Encoding = 'identity' | 'gzip' | 'gzip-garbage' | 'other';
interface Post {
  contentType: string;
  encoding: Encoding;
  payload: Buffer;
}

const encoding = fc.constantFrom<Encoding>('identity', 'identity', 'identity', 'gzip', 'gzip-garbage', 'other');

function encode(payload: Buffer, enc: Encoding, garbage: Uint8Array): { payload: Buffer; headers: Record<string, string> } {
  if (enc === 'gzip') return { payload: gzipSync(payload), headers: { 'content-encoding': 'gzip' } };
  if (enc === 'gzip-garbage') {
    // A gzip header and then noise, or a valid stream cut short.
    const zipped = gzipSync(payload);
    const body = garbage.length % 2 ? Buffer.concat([zipped.subarray(0, 10), garbage]) : zipped.subarray(0, Math.max(1, zipped.length - 1 - garbage.length));
    return { payload: body, headers: { 'content-encoding': 'gzip' } };
  }
  if (enc === 'other') return { payload, headers: { 'content-encoding': garbage.length % 2 ? 'br' : 'deflate' } };
  return { payload, headers: {} };
}

const jsonPost: fc.Arbitrary<Post> = fc.oneof(
  { weight: 8, arbitrary: otlpRequest.map((r) => Buffer.from(JSON.stringify(r) ?? 'undefined')) },
  // Cut anywhere: truncated JSON.
  { weight: 1, arbitrary: fc.tuple(otlpRequest, fc.nat()).map(([r, n]) => { const b = Buffer.from(JSON.stringify(r) ?? ''); return b.subarray(0, n % (b.length + 1)); }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 3_000 }).map(deepJson) },
).chain((payload) =>
  fc.record({
    contentType: fc.constantFrom('application/json', 'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'text/plain', 'application/xml', ''),
    encoding,
    payload: fc.constant(payload),
  }),
);

/**
 * Protobuf built with the collector's own definitions: messages that are valid on the wire
 * but wrong as audit events (from the JSON mapping, which protobufjs checks only loosely),
 * truncated messages, and random bytes.
 */
const protobufPayload: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 6, arbitrary: otlpRequest.map(tryProtobuf) },
  { weight: 2, arbitrary: fc.tuple(otlpRequest, fc.nat()).map(([r, n]) => { const b = tryProtobuf(r); return b.subarray(0, n % (b.length + 1)); }) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 3_000 }).map(deepProtobuf) },
  // A valid message with bytes flipped.
  { weight: 1, arbitrary: fc.tuple(otlpRequest, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })).map(([r, flips]) => {
      const b = Buffer.from(tryProtobuf(r));
      for (const [at, v] of flips) if (b.length > 0) b[at % b.length] = v;
      return b;
    }) },
);

function tryProtobuf(request: unknown): Buffer {
  try {
    return protobufBody(request);
  } catch {
    // protobufjs refused the shape (it checks some types): send the part it can encode.
    return protobufBody({});
  }
}

const protobufPost: fc.Arbitrary<Post> = fc.record({
  contentType: fc.constantFrom('application/x-protobuf', 'application/x-protobuf', 'application/x-protobuf; charset=binary', 'application/protobuf'),
  encoding,
  payload: protobufPayload,
});

// ---- the property ---------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: Buffer;
}

/** The answer is one the collector documents; returns why not, or undefined. */
function checkAnswer(post: Post, res: Answer): string | undefined {
  const protobuf = post.contentType.split(';')[0]!.trim().toLowerCase() === 'application/x-protobuf';
  if (res.status >= 500 && !(res.status === 503 && res.headers['retry-after'])) return `status ${res.status}: ${res.body.toString('utf8', 0, 300)}`;
  if (![200, 400, 413, 415, 503].includes(res.status)) return `undocumented status ${res.status}`;
  const answer = readAnswer(protobuf, res);
  if (res.status === 200) {
    const partial = (answer.partialSuccess ?? undefined) as { rejectedLogRecords?: unknown; errorMessage?: unknown } | undefined;
    if (partial && Number(partial.rejectedLogRecords) > 0 && !(typeof partial.errorMessage === 'string' && partial.errorMessage.length > 0)) {
      return 'partial_success without an error message';
    }
    return undefined;
  }
  if (typeof answer.message !== 'string' || answer.message.length === 0) return `status ${res.status} without a message`;
  if (/\bat .+:\d+:\d+\)?/.test(answer.message)) return `a stack trace in the answer: ${answer.message}`;
  return undefined;
}

function readAnswer(protobuf: boolean, res: Answer): Json {
  // A refused content type is answered in JSON: there is no encoding of the request to follow.
  if (protobuf && res.headers['content-type'] === 'application/x-protobuf') {
    return decodeProto(res.status === 200 ? ExportLogsServiceResponse : RpcStatus, res.body);
  }
  return JSON.parse(res.body.toString('utf8')) as Json;
}

function postArgs(post: Post, garbage: Uint8Array) {
  const { payload, headers } = encode(post.payload, post.encoding, garbage);
  return { payload, headers: { ...headers, ...(post.contentType ? { 'content-type': post.contentType } : {}) } };
}

const posts = fc.tuple(fc.oneof(jsonPost, protobufPost), fc.uint8Array({ maxLength: 64 }));

/** Reads every stored event and dead letter straight from the SQLite file, and validates the events. */
function storedProblems(path: string): { events: number; invalid: string[] } {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT id, doc FROM audit_events').all() as { id: string; doc: string }[];
    const invalid: string[] = [];
    for (const row of rows) {
      const result = validateAuditEvent(JSON.parse(row.doc));
      if (!result.ok) invalid.push(`${row.id}: ${result.problems.join(', ')}`);
      else if (result.event.id !== row.id) invalid.push(`${row.id}: stored under another id than its own (${result.event.id})`);
    }
    return { events: rows.length, invalid };
  } finally {
    db.close();
  }
}

describe('collector fuzzed on /v1/logs (fast-check, SQLite)', () => {
  let dir: string;
  let store: SqliteStore;
  let app: FastifyInstance;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-fuzz-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    await store.init();
    // A small body limit, so the 413 paths (plain and while inflating) are reachable. No rate
    // limit: the slow tier sends 20,000 bodies from one address in well under a minute, past
    // the default 12,000, and this fuzzes the decoding (collector-abuse.test.ts tests the limit).
    app = buildCollector({ store, spoolDir: join(dir, 'spool'), bodyLimit: 256 * 1024, rateLimitPerMinute: 0, logger: { level: 'error' } });
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // Time enough for a busy machine: about 5 ms a case, five times over.
  it(`answers ${RUNS} generated JSON and protobuf bodies (inject) with 200, a clear 4xx or the documented 503, and stores only valid events`, { timeout: 60_000 + RUNS * 25 }, async () => {
    await fc.assert(
      fc.asyncProperty(posts, async ([post, garbage]) => {
        const res = await app.inject({ method: 'POST', url: '/v1/logs', ...postArgs(post, garbage) });
        const problem = checkAnswer(post, { status: res.statusCode, headers: res.headers, body: res.rawPayload });
        if (problem) throw new Error(problem);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    const stored = storedProblems(join(dir, 'audit.sqlite'));
    expect(stored.invalid).toEqual([]);
    // The generators make valid events often enough that the "stored" half is exercised.
    expect(stored.events).toBeGreaterThan(RUNS / 20);
  });

  it(`answers ${Math.round(RUNS / 5)} generated bodies over real HTTP the same way`, { timeout: 60_000 + RUNS * 25 }, async () => {
    const http = buildCollector({ store, bodyLimit: 256 * 1024, rateLimitPerMinute: 0 });
    const url = await listen(http);
    try {
      await fc.assert(
        fc.asyncProperty(posts, async ([post, garbage]) => {
          const { payload, headers } = postArgs(post, garbage);
          const res = await fetch(`${url}/v1/logs`, { method: 'POST', headers, body: payload });
          const problem = checkAnswer(post, { status: res.status, headers: Object.fromEntries(res.headers), body: Buffer.from(await res.arrayBuffer()) });
          if (problem) throw new Error(problem);
        }),
        { seed: SEED + 1, numRuns: Math.round(RUNS / 5) },
      );
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await http.close();
    }
    expect(storedProblems(join(dir, 'audit.sqlite')).invalid).toEqual([]);
  });
});

describe('collector: cases the fuzzer found (regressions)', () => {
  let dir: string;
  let store: SqliteStore;
  let app: FastifyInstance;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-fuzz-found-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    await store.init();
    app = buildCollector({ store });
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const postJson = (body: unknown) =>
    app.inject({ method: 'POST', url: '/v1/logs', payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

  it('a timeUnixNano past what a date can hold (a JSON number, 1e300) is a rejected record, not a 500', async () => {
    for (const timeUnixNano of [1e300, 8.640000000000001e21, -1e300]) {
      const record = { ...jsonLogRecord(event()), timeUnixNano };
      const res = await postJson({ resourceLogs: [{ scopeLogs: [{ logRecords: [record] }] }] });
      expect(res.statusCode).toBe(200);
      expect(res.json().partialSuccess).toEqual({ rejectedLogRecords: '1', errorMessage: expect.stringContaining('time: must be string') });
    }
    expect(storedProblems(join(dir, 'audit.sqlite'))).toEqual({ events: 0, invalid: [] });
  });

  it('a value nested 100,000 levels deep is a rejected record (JSON) or a 400 (protobuf), not a stack overflow', async () => {
    const json = await app.inject({ method: 'POST', url: '/v1/logs', payload: deepJson(100_000), headers: { 'content-type': 'application/json' } });
    expect(json.statusCode).toBe(200);
    expect(json.json().partialSuccess.errorMessage).toContain('message: must be string');
    const proto = await app.inject({ method: 'POST', url: '/v1/logs', payload: deepProtobuf(100_000), headers: { 'content-type': 'application/x-protobuf' } });
    expect([200, 400]).toContain(proto.statusCode);
    expect((await app.inject('/healthz')).statusCode).toBe(200);
  });
});

function event(): AuditEvent {
  return fc.sample(validEvent, { numRuns: 1, seed: 1 })[0]!;
}
