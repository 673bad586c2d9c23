import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCollector } from '@otel-audit/collector';
import { toLogRecord, type AuditEvent } from '@otel-audit/contract';
import { SqliteStore, type AuditStore } from '@otel-audit/store';
import { elasticsearch } from '../../test/support/elasticsearch.js';
import { validEvent } from '../../test/support/otlp-json.js';
import { decodeProto, RpcStatus } from '../../test/support/otlp-proto.js';
import { auditSpanEvent, ExportTraceServiceResponse, otlpTracesJson, otlpTracesProtobuf } from '../../test/support/otlp-traces.js';
import { elasticsearchStores, eventually, isolatedDay, listen, type StorePair } from '../../test/support/services.js';
import { ResultKeepingExporter } from '../../test/support/result-keeping-exporter.js';

const es = elasticsearch();
const JSON_TYPE = { 'content-type': 'application/json' };
const PROTOBUF = { 'content-type': 'application/x-protobuf' };

type ExportCallback = Parameters<SpanExporter['export']>[1];
type ExportResult = Parameters<ExportCallback>[0];
type Tracer = ReturnType<BasicTracerProvider['getTracer']>;


/** Records spans with the real trace SDK (BasicTracerProvider, SimpleSpanProcessor) and exports them with `exporter`. */
async function traceWithSdk(exporter: SpanExporter, serviceName: string, record: (tracer: Tracer) => void): Promise<ExportResult[]> {
  const keeping = new ResultKeepingExporter(exporter);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new SimpleSpanProcessor(keeping)],
  });
  record(provider.getTracer('collector-traces-test'));
  await provider.forceFlush();
  await provider.shutdown();
  return keeping.results;
}

/** Adds the audit event to the span as the convention says: named by its action, the log record's attributes, its time. */
function addAuditEvent(span: ReturnType<Tracer['startSpan']>, event: AuditEvent): void {
  const r = toLogRecord(event);
  span.addEvent(r.eventName, r.attributes, new Date(event.time));
}

async function all(store: AuditStore, from = new Date(0), to = new Date(Date.now() + 86_400_000)): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of store.query({ from, to })) out.push(e);
  return out;
}

const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
const hex = (n: number, length: number) => n.toString(16).padStart(length, '0');

describe('collector POST /v1/traces: audit events from span events, on a real SQLite file', () => {
  let dir: string;
  let store: SqliteStore;
  let app: ReturnType<typeof buildCollector>;
  let seen: Array<{ url: string; type: string | undefined; encoding: string | undefined; status: number }>;

  const start = (options: Partial<Parameters<typeof buildCollector>[0]> = {}) => {
    app = buildCollector({ store, ...options });
    // What went over the wire: proves which encoding the exporter really spoke.
    app.addHook('onResponse', async (request, reply) => {
      seen.push({ url: request.url, type: request.headers['content-type'], encoding: request.headers['content-encoding'], status: reply.statusCode });
    });
    return app;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-collector-traces-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    seen = [];
  });
  afterEach(async () => {
    await app?.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [encoding, makeExporter, wireType] of [
    ['OTLP/JSON', (url: string) => new OTLPTraceExporterJson({ url }), 'application/json'],
    ['OTLP/protobuf', (url: string) => new OTLPTraceExporterProto({ url }), 'application/x-protobuf'],
  ] as const) {
    it(`stores the audit span events the SDK's ${encoding} exporter sends, with the span's ids and the event's time; the rest is ignored`, async () => {
      const url = `${await listen(start())}/v1/traces`;
      const login = validEvent({ action: 'auth.login', time: '2026-03-01T10:00:00.123Z', client: { ip: '203.0.113.9' } });
      const token = validEvent({ action: 'api_token.create', category: 'iam', time: '2026-03-01T10:00:01.456Z', resource: { type: 'api_token', id: 't-1' } });
      const custom = validEvent({ action: 'invoice.approve', category: 'data', time: '2026-03-01T10:00:02.789Z', metadata: { amount: 12.5 } });
      const ids = new Map<string, { traceId: string; spanId: string }>();
      const results = await traceWithSdk(makeExporter(url), 'billing', (tracer) => {
        const request = tracer.startSpan('POST /login');
        addAuditEvent(request, login);
        // Not audit events: an exception and an application event without audit.action.
        request.addEvent('exception', { 'exception.message': 'slow database' });
        request.addEvent('cache.miss', { key: 'k' });
        request.end();
        ids.set(login.id, request.spanContext());

        const work = tracer.startSpan('approve invoice');
        addAuditEvent(work, token);
        // A name outside the catalogue is an audit event through audit.action.
        const r = toLogRecord(custom);
        work.addEvent('approved', { ...r.attributes, 'audit.action': custom.action }, new Date(custom.time));
        work.end();
        ids.set(token.id, work.spanContext()).set(custom.id, work.spanContext());

        // A span with no audit event at all: acknowledged, not stored.
        tracer.startSpan('GET /healthz').end();
      });
      expect(results.length).toBe(3);
      expect(results.every((result) => result.code === 0 && result.error === undefined)).toBe(true); // 0: SUCCESS
      expect(seen.map((s) => [s.url, s.type, s.status])).toEqual(Array.from({ length: 3 }, () => ['/v1/traces', wireType, 200]));

      const stored = (await all(store)).sort(byId);
      expect(stored).toHaveLength(3);
      for (const event of [login, token, custom]) {
        const got = stored.find((e) => e.id === event.id);
        const { traceId, spanId } = ids.get(event.id)!;
        expect(got).toMatchObject({ ...event, service: { name: 'billing' }, traceId, spanId });
        expect(got!.time).toBe(event.time);
      }
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/^otel_audit_spans_received_total 3$/m);
      expect(metrics).toMatch(/^otel_audit_spans_ignored_total 1$/m);
    });
  }

  it('acknowledges spans without audit events and stores nothing, even while the store is down; audit events then get 503', async () => {
    const url = `${await listen(start({ storeTimeoutMillis: 200 }))}/v1/traces`;
    // A closed store cannot take anything: were the collector to ask it, the answer would be 503.
    await store.close();
    const results = await traceWithSdk(new OTLPTraceExporterProto({ url }), 'web', (tracer) => {
      const span = tracer.startSpan('GET /');
      span.addEvent('exception', { 'exception.type': 'Error' });
      // On the span, not in an event: not an audit event (the answer warns about it).
      span.setAttribute('audit.action', 'auth.login');
      span.end();
    });
    expect(results.map((r) => r.code)).toEqual([0]);
    expect(seen.map((s) => s.status)).toEqual([200]);

    const answer = await app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: JSON_TYPE,
      payload: otlpTracesJson([
        { traceId: hex(1, 32), spanId: hex(1, 16), events: [], attributes: [{ key: 'audit.action', value: { stringValue: 'auth.login' } }] },
      ]),
    });
    expect(answer.statusCode).toBe(200);
    // A warning, not a refusal: rejected_spans 0 with a message, as OTLP allows.
    expect(answer.json()).toEqual({ partialSuccess: { rejectedSpans: '0', errorMessage: expect.stringContaining('audit.action as a span attribute') } });
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^otel_audit_spans_ignored_total 2$/m);
    expect(metrics).toMatch(/^otel_audit_records_received_total 0$/m);

    // An audit event, though, needs the store: without a spool the answer is 503 + Retry-After, which OTLP clients retry.
    const audited = await app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: PROTOBUF,
      payload: otlpTracesProtobuf(otlpTracesJson([{ traceId: hex(2, 32), spanId: hex(2, 16), events: [auditSpanEvent(validEvent())] }])),
    });
    expect(audited.statusCode).toBe(503);
    expect(audited.headers['retry-after']).toBe('5');
    expect(decodeProto(RpcStatus, audited.rawPayload)).toMatchObject({ code: 14 });
  });

  it('answers a refused audit event with partial success counting its span, in the request encoding, and stores the rest', async () => {
    start();
    const good = validEvent({ action: 'auth.login' });
    const alsoGood = validEvent({ action: 'auth.logout', category: 'session' });
    const bad = validEvent({ action: 'auth.login', actor: { id: '', type: 'user' } });
    const spans = [
      // One good and one bad event in one span: the span counts as rejected, its good event is stored.
      { traceId: hex(0xabc, 32), spanId: hex(1, 16), events: [auditSpanEvent(good), auditSpanEvent(bad)] },
      { traceId: hex(0xabc, 32), spanId: hex(2, 16), events: [auditSpanEvent(alsoGood)] },
    ];
    const json = await app.inject({ method: 'POST', url: '/v1/traces', headers: JSON_TYPE, payload: otlpTracesJson(spans) });
    expect(json.statusCode).toBe(200);
    const body = json.json() as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    expect(body.partialSuccess.rejectedSpans).toBe('1');
    expect(body.partialSuccess.errorMessage).toMatch(/^span 0, event "auth\.login": .*actor\.id/);

    // The same over protobuf (a retry: the good events are already stored, nothing is copied).
    const proto = await app.inject({ method: 'POST', url: '/v1/traces', headers: PROTOBUF, payload: otlpTracesProtobuf(otlpTracesJson(spans)) });
    expect(proto.statusCode).toBe(200);
    expect(proto.headers['content-type']).toBe('application/x-protobuf');
    const answer = decodeProto(ExportTraceServiceResponse, proto.rawPayload);
    expect(answer).toEqual({ partialSuccess: { rejectedSpans: 1, errorMessage: body.partialSuccess.errorMessage } });

    const stored = (await all(store)).sort(byId);
    expect(stored.map((e) => e.id)).toEqual([good.id, alsoGood.id].sort());
    expect(stored.find((e) => e.id === good.id)).toMatchObject({ traceId: hex(0xabc, 32), spanId: hex(1, 16) });
    expect(stored.find((e) => e.id === alsoGood.id)).toMatchObject({ traceId: hex(0xabc, 32), spanId: hex(2, 16) });
  });

  it('takes gzip-compressed spans from the SDK exporter and from a hand-made request', async () => {
    const url = `${await listen(start())}/v1/traces`;
    const event = validEvent({ action: 'user.create', category: 'iam' });
    const results = await traceWithSdk(new OTLPTraceExporterProto({ url, compression: 'gzip' as never }), 'admin', (tracer) => {
      const span = tracer.startSpan('create user');
      addAuditEvent(span, event);
      span.end();
    });
    expect(results.map((r) => r.code)).toEqual([0]);
    expect(seen.map((s) => [s.encoding, s.status])).toEqual([['gzip', 200]]);

    const other = validEvent({ action: 'user.update', category: 'iam' });
    const payload = gzipSync(JSON.stringify(otlpTracesJson([{ traceId: hex(7, 32), spanId: hex(7, 16), events: [auditSpanEvent(other)] }])));
    const answer = await app.inject({ method: 'POST', url: '/v1/traces', headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, payload });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({});
    expect((await all(store)).map((e) => e.id).sort()).toEqual([event.id, other.id].sort());
  });

  it('checks sender tokens as /v1/logs does: 401 without one, 403 for another service.name, in the request encoding', async () => {
    start({ senderTokens: [['billing-token', 'billing']] });
    const event = validEvent();
    const request = otlpTracesJson([{ traceId: hex(3, 32), spanId: hex(3, 16), events: [auditSpanEvent(event)] }], 'billing');

    const anonymous = await app.inject({ method: 'POST', url: '/v1/traces', headers: PROTOBUF, payload: otlpTracesProtobuf(request) });
    expect(anonymous.statusCode).toBe(401);
    expect(decodeProto(RpcStatus, anonymous.rawPayload)).toMatchObject({ code: 16 });

    const elsewhere = otlpTracesJson([{ traceId: hex(3, 32), spanId: hex(3, 16), events: [auditSpanEvent(event)] }], 'payroll');
    const forbidden = await app.inject({ method: 'POST', url: '/v1/traces', headers: { ...JSON_TYPE, authorization: 'Bearer billing-token' }, payload: elsewhere });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ code: 7, message: expect.stringContaining('billing') });
    expect(await all(store)).toEqual([]);

    // The SDK exporter with the token: stored.
    const url = `${await listen(app)}/v1/traces`;
    const results = await traceWithSdk(new OTLPTraceExporterJson({ url, headers: { authorization: 'Bearer billing-token' } }), 'billing', (tracer) => {
      const span = tracer.startSpan('login');
      addAuditEvent(span, event);
      span.end();
    });
    expect(results.map((r) => r.code)).toEqual([0]);
    expect((await all(store)).map((e) => e.id)).toEqual([event.id]);
  });

  it('refuses the reserved audit_log.* actions per event, as on /v1/logs, and keeps the attempt in the dead letters', async () => {
    start();
    const forged = validEvent({ action: 'audit_log.export', category: 'data', metadata: { password: 'hunter2' } });
    const honest = validEvent({ action: 'auth.login' });
    const answer = await app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: PROTOBUF,
      payload: otlpTracesProtobuf(
        otlpTracesJson([
          { traceId: hex(5, 32), spanId: hex(5, 16), events: [auditSpanEvent(forged)] },
          { traceId: hex(5, 32), spanId: hex(6, 16), events: [auditSpanEvent(honest)] },
        ]),
      ),
    });
    expect(answer.statusCode).toBe(200);
    const { partialSuccess } = decodeProto(ExportTraceServiceResponse, answer.rawPayload) as { partialSuccess: { rejectedSpans: number; errorMessage: string } };
    expect(partialSuccess.rejectedSpans).toBe(1);
    expect(partialSuccess.errorMessage).toMatch(/^span 0, event "audit_log\.export": .*audit_log/);
    expect((await all(store)).map((e) => e.id)).toEqual([honest.id]);

    const [letter] = await store.listRejected({ serviceName: 'test-app' });
    expect(letter).toMatchObject({ serviceName: 'test-app', record: { action: 'audit_log.export', traceId: hex(5, 32), spanId: hex(5, 16) } });
    // As received: the one-record OTLP/JSON logs request the span event stands for, which
    // the dead-letter redaction and replay read as any refused log record.
    expect(letter!.original).toMatchObject({
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ eventName: 'audit_log.export', traceId: hex(5, 32), spanId: hex(5, 16) }] }] }],
    });
    // Redacted in the copy as received too, as for a log record.
    expect(JSON.stringify(letter)).not.toContain('hunter2');
  });

  it('refuses a body that is not a traces request with 400 in the request encoding', async () => {
    start();
    const json = await app.inject({ method: 'POST', url: '/v1/traces', headers: JSON_TYPE, payload: { resourceSpans: 'nope' } });
    expect(json.statusCode).toBe(400);
    expect(json.json()).toMatchObject({ code: 3, message: expect.stringContaining('traces request') });
    const proto = await app.inject({ method: 'POST', url: '/v1/traces', headers: PROTOBUF, payload: Buffer.from([0x0a, 0xff]) });
    expect(proto.statusCode).toBe(400);
    expect(decodeProto(RpcStatus, proto.rawPayload)).toMatchObject({ code: 3 });
  });
});

describe.skipIf(es === null)('collector POST /v1/traces in front of a real Elasticsearch node', () => {
  let stores: StorePair;
  let app: ReturnType<typeof buildCollector>;
  afterEach(async () => {
    await app.close();
    await stores.close();
  });

  it('stores the audit span events the SDK sends with their trace and span ids', async () => {
    stores = await elasticsearchStores(es!);
    app = buildCollector({ store: stores.writer });
    const url = `${await listen(app)}/v1/traces`;
    const day = isolatedDay();
    const event = validEvent({ action: 'auth.login', time: new Date(day.getTime() + 3_600_000).toISOString() });
    let context = { traceId: '', spanId: '' };
    const results = await traceWithSdk(new OTLPTraceExporterProto({ url }), 'es-app', (tracer) => {
      const span = tracer.startSpan('login');
      addAuditEvent(span, event);
      span.end();
      context = span.spanContext();
    });
    expect(results.map((r) => r.code)).toEqual([0]);
    // Elasticsearch searches are near-real-time: the write is acknowledged before it is searchable.
    const stored = await eventually(() => all(stores.reader, day, new Date(day.getTime() + 86_400_000)), (found) => found.length > 0);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ ...event, service: { name: 'es-app' }, traceId: context.traceId, spanId: context.spanId });
  });
});
