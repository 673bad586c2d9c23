import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor, BatchLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import protobuf from 'protobufjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCollector, collectorGrpcPort, listenCollectorGrpc, type CollectorOptions } from '@otel-audit/collector';
import { toLogRecord, type AuditEvent } from '@otel-audit/contract';
import { ElasticsearchStore, SqliteStore } from '@otel-audit/store';
import { otlpJsonBody, validEvent } from '../../test/support/otlp-json.js';
import { decodeProto, RpcStatus } from '../../test/support/otlp-proto.js';
import { auditSpanEvent, ExportTraceServiceResponse, otlpTracesJson, otlpTracesProtobuf } from '../../test/support/otlp-traces.js';
import { ResultKeepingExporter } from '../../test/support/result-keeping-exporter.js';

const TOKEN = 'grpc-test-token-of-test-app';
const OTHER_TOKEN = 'grpc-test-token-of-billing';
const SENDER_TOKENS: CollectorOptions['senderTokens'] = [
  [TOKEN, 'test-app'],
  [OTHER_TOKEN, 'billing'],
];

// The test's own client, from the same official protos the collector ships, to read the raw answers.
const PROTO_DIR = fileURLToPath(new URL('../proto/', import.meta.url));
const definition = protoLoader.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto', {
  includeDirs: [PROTO_DIR],
  longs: String,
  defaults: false,
});
const LogsServiceClient = grpc.makeClientConstructor(
  definition['opentelemetry.proto.collector.logs.v1.LogsService'] as grpc.ServiceDefinition,
  'LogsService',
);
const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const TRACES_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

type ExportCallback = Parameters<LogRecordExporter['export']>[1];
type ExportResult = Parameters<ExportCallback>[0];


/** Sends the events as an application would: the OpenTelemetry Logs SDK and its real OTLP/gRPC exporter. */
async function sendWithSdk(
  events: AuditEvent[],
  config: NonNullable<ConstructorParameters<typeof OTLPLogExporter>[0]>,
  token?: string,
  batch = false,
): Promise<ExportResult[]> {
  const metadata = new grpc.Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  const exporter = new ResultKeepingExporter(new OTLPLogExporter({ ...config, metadata }));
  const processor = batch ? new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 10 }) : new SimpleLogRecordProcessor({ exporter });
  const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': 'test-app' }), processors: [processor] });
  const logger = provider.getLogger('collector-grpc-test');
  for (const event of events) {
    const log = toLogRecord(event);
    logger.emit({
      eventName: log.eventName,
      timestamp: log.timestamp,
      severityNumber: log.severityNumber as SeverityNumber,
      severityText: log.severityText,
      ...(log.body !== undefined ? { body: log.body } : {}),
      attributes: log.attributes,
    });
  }
  await provider.forceFlush();
  await provider.shutdown();
  return exporter.results;
}

interface RawOutcome {
  error: grpc.ServiceError | null;
  response: Record<string, unknown> | undefined;
}

/**
 * One Export call with a grpc-js client; `request` in the JSON mapping, or raw bytes as they
 * go on the wire (then the answer stays bytes too), to `path` (LogsService's by default).
 */
function rawExport(port: number, request: unknown, token?: string, path = EXPORT_PATH): Promise<RawOutcome> {
  const metadata = new grpc.Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  const client = new LogsServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise<RawOutcome>((resolve) => {
    const done = (error: grpc.ServiceError | null, response?: unknown) => {
      client.close();
      resolve({ error, response: response as Record<string, unknown> | undefined });
    };
    if (Buffer.isBuffer(request)) client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, request, metadata, done);
    else (client as unknown as Record<string, (r: unknown, m: grpc.Metadata, cb: typeof done) => void>).Export!(request, metadata, done);
  });
}

/** The google.rpc.RetryInfo delay in a failure's `grpc-status-details-bin`, decoded with nothing of the collector's. */
function retryInfoOf(error: grpc.ServiceError): { code: number; retryDelaySeconds: number } {
  const [bytes] = error.metadata.get('grpc-status-details-bin');
  expect(Buffer.isBuffer(bytes)).toBe(true);
  const status = RpcStatus.toObject(RpcStatus.decode(bytes as Buffer), { defaults: true }) as {
    code: number;
    details: { type_url?: string; typeUrl?: string; value: Uint8Array }[];
  };
  const [any] = status.details;
  expect(any?.type_url ?? any?.typeUrl).toBe('type.googleapis.com/google.rpc.RetryInfo');
  // RetryInfo { google.protobuf.Duration retry_delay = 1 }; Duration { int64 seconds = 1; int32 nanos = 2 }.
  const info = protobuf.Reader.create(any!.value);
  expect(info.uint32()).toBe((1 << 3) | 2);
  const duration = protobuf.Reader.create(info.bytes());
  let seconds = 0;
  while (duration.pos < duration.len) {
    const tag = duration.uint32();
    if (tag === 1 << 3) seconds = Number(duration.int64());
    else duration.skipType(tag & 7);
  }
  return { code: status.code, retryDelaySeconds: seconds };
}

/** Counts the bytes a client sends through it: how the test tells a compressed request from a plain one. */
async function countingProxy(targetPort: number): Promise<{ port: number; sent: () => number; close: () => Promise<void> }> {
  let sent = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
    });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    sent: () => sent,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function all(store: SqliteStore): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of store.query({ from: new Date(0), to: new Date(Date.now() + 86_400_000) })) out.push(e);
  return out;
}

const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);

describe('collector OTLP/gRPC receiver on a real SQLite file', () => {
  let dir: string;
  let store: SqliteStore;
  let app: ReturnType<typeof buildCollector> | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-collector-grpc-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A collector with gRPC on a free loopback port; resolves to that port. */
  async function start(options: Partial<CollectorOptions> = {}): Promise<number> {
    app = buildCollector({ store, senderTokens: SENDER_TOKENS, ...options, grpc: { host: '127.0.0.1', port: 0 } });
    const port = await listenCollectorGrpc(app);
    expect(port).toBeGreaterThan(0);
    expect(collectorGrpcPort(app)).toBe(port);
    return port;
  }

  it('stores what the OpenTelemetry gRPC exporter sends, field for field', async () => {
    const port = await start();
    const events = [
      validEvent({
        action: 'api_token.create',
        category: 'iam',
        actor: { id: 'u-42', name: 'Alice', type: 'user', roles: ['admin', 'auditor'] },
        resource: { type: 'api_token', id: 'tok-7', name: 'CI deploy' },
        metadata: { ticket: 'T-1', count: 3, ratio: 2.5, urgent: true },
        message: 'Created API token "CI deploy"',
      }),
      validEvent({ action: 'auth.logout', category: 'session', message: 'Signed out' }),
    ];
    const results = await sendWithSdk(events, { url: `http://127.0.0.1:${port}` }, TOKEN);
    expect(results.length).toBeGreaterThan(0);
    expect(results.every((r) => r.code === 0 && r.error === undefined)).toBe(true); // 0: ExportResultCode.SUCCESS
    expect((await all(store)).sort(byId)).toEqual(events.map((e) => ({ ...e, service: { name: 'test-app' } })).sort(byId));
  });

  it('stores what the exporter sends gzip-compressed (fewer bytes on the wire than the same events uncompressed)', async () => {
    const port = await start();
    const proxy = await countingProxy(port);
    // Repetitive text, so gzip's effect on the wire is unmistakable.
    const make = () => Array.from({ length: 40 }, (_, i) => validEvent({ action: 'record.update', category: 'data', reason: 'x'.repeat(1000), metadata: { i } }));
    const compression = 'gzip' as NonNullable<ConstructorParameters<typeof OTLPLogExporter>[0]>['compression'];
    const zipped = make();
    const plain = make();
    try {
      const zippedResults = await sendWithSdk(zipped, { url: `http://127.0.0.1:${proxy.port}`, compression }, TOKEN, true);
      const zippedBytes = proxy.sent();
      const plainResults = await sendWithSdk(plain, { url: `http://127.0.0.1:${proxy.port}` }, TOKEN, true);
      const plainBytes = proxy.sent() - zippedBytes;
      expect([...zippedResults, ...plainResults].every((r) => r.code === 0)).toBe(true);
      expect(zippedBytes * 4).toBeLessThan(plainBytes);
    } finally {
      await proxy.close();
    }
    const stored = await all(store);
    expect(stored.map((e) => e.id).sort()).toEqual([...zipped, ...plain].map((e) => e.id).sort());
    expect(stored.find((e) => e.id === zipped[7]!.id)?.metadata).toEqual({ i: 7 });
  });

  it('refuses a missing or unknown token: the exporter reports failure and nothing is stored', async () => {
    const port = await start();
    for (const token of [undefined, 'not-a-token-anyone-was-given']) {
      const results = await sendWithSdk([validEvent()], { url: `http://127.0.0.1:${port}` }, token);
      expect(results.length).toBeGreaterThan(0);
      expect(results.every((r) => r.code === 1)).toBe(true); // 1: ExportResultCode.FAILED
    }
    const raw = await rawExport(port, JSON.parse(otlpJsonBody([validEvent()])));
    expect(raw.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(raw.error?.details).toBe('a valid sender token is required');
    expect(await all(store)).toEqual([]);
  });

  it('answers PERMISSION_DENIED when a token writes for another service', async () => {
    const port = await start();
    const raw = await rawExport(port, JSON.parse(otlpJsonBody([validEvent()], 'test-app')), OTHER_TOKEN);
    expect(raw.error?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(raw.error?.details).toContain('"billing"');
    expect(await all(store)).toEqual([]);
  });

  it('answers partial success in the ExportLogsServiceResponse naming the field, and keeps the rest', async () => {
    const port = await start();
    const good = validEvent();
    const noActor = validEvent();
    const request = JSON.parse(otlpJsonBody([good, noActor]));
    const records = request.resourceLogs[0].scopeLogs[0].logRecords;
    records[1].attributes = records[1].attributes.filter((a: { key: string }) => !a.key.startsWith('user.'));
    const raw = await rawExport(port, request, TOKEN);
    expect(raw.error).toBeNull();
    const partial = raw.response?.partialSuccess as { rejectedLogRecords: string; errorMessage: string };
    expect(partial.rejectedLogRecords).toBe('1');
    expect(partial.errorMessage).toContain('actor.id');
    expect((await all(store)).map((e) => e.id)).toEqual([good.id]);
  });

  it('answers full success with an empty response', async () => {
    const port = await start();
    const raw = await rawExport(port, JSON.parse(otlpJsonBody([validEvent()])), TOKEN);
    expect(raw.error).toBeNull();
    expect(raw.response).toEqual({});
  });

  it('answers INVALID_ARGUMENT for bytes that are not a request, and keeps serving', async () => {
    const port = await start();
    // Field 1 (resource_logs), length-delimited, claiming 100 bytes that never come.
    const raw = await rawExport(port, Buffer.from([0x0a, 0x64, 0x01, 0x02]), TOKEN);
    expect(raw.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(raw.error?.details).toMatch(/^invalid OTLP\/gRPC request: /);
    expect((await rawExport(port, JSON.parse(otlpJsonBody([validEvent()])), TOKEN)).error).toBeNull();
    expect(await all(store)).toHaveLength(1);
  });

  it('refuses a message larger than the body limit with RESOURCE_EXHAUSTED, also when it only grows past it once inflated', async () => {
    // Valid events: what keeps them out is their size alone.
    const port = await start({ bodyLimit: 3000 });
    const big = JSON.parse(otlpJsonBody([validEvent({ message: 'y'.repeat(4000) })]));
    expect((await rawExport(port, big, TOKEN)).error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const results = await sendWithSdk([validEvent({ message: 'y'.repeat(4000) })], {
      url: `http://127.0.0.1:${port}`,
      compression: 'gzip' as NonNullable<ConstructorParameters<typeof OTLPLogExporter>[0]>['compression'],
    }, TOKEN);
    expect(results.every((r) => r.code === 1)).toBe(true);
    expect(await all(store)).toEqual([]);
  });

  it('limits requests per sender with RESOURCE_EXHAUSTED and a RetryInfo, counted in /metrics', async () => {
    const port = await start({ rateLimitPerMinute: 2 });
    const body = () => JSON.parse(otlpJsonBody([validEvent()]));
    expect((await rawExport(port, body(), TOKEN)).error).toBeNull();
    expect((await rawExport(port, body(), TOKEN)).error).toBeNull();
    const third = await rawExport(port, body(), TOKEN);
    expect(third.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const info = retryInfoOf(third.error!);
    expect(info.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(info.retryDelaySeconds).toBeGreaterThan(0);
    expect(info.retryDelaySeconds).toBeLessThanOrEqual(60);
    // Another sender has its own count.
    expect((await rawExport(port, JSON.parse(otlpJsonBody([validEvent()], 'billing')), OTHER_TOKEN)).error).toBeNull();
    expect(await all(store)).toHaveLength(3);
    const metrics = await app!.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain('otel_audit_requests_rate_limited_total 1');
  });

  it("stores the audit span events the SDK's OTLP/gRPC trace exporter sends, with the span's ids; the rest is ignored", async () => {
    const port = await start();
    // No message: a span event has no body to carry one (the catalogue's is stored instead).
    const login = validEvent({ action: 'auth.login' });
    const created = validEvent({ action: 'api_token.create', category: 'iam', resource: { type: 'api_token', id: 't-1' } });
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${TOKEN}`);
    const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${port}`, metadata });
    const results: number[] = [];
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'test-app' }),
      spanProcessors: [
        new SimpleSpanProcessor({
          export: (spans, done) => exporter.export(spans, (result) => {
            results.push(result.code);
            done(result);
          }),
          shutdown: () => exporter.shutdown(),
        }),
      ],
    });
    const tracer = provider.getTracer('collector-grpc-test');
    const ids = new Map<string, { traceId: string; spanId: string }>();
    for (const event of [login, created]) {
      const span = tracer.startSpan(`handle ${event.action}`);
      const r = toLogRecord(event);
      span.addEvent(r.eventName, r.attributes, new Date(event.time));
      // Not an audit event: ignored, not refused.
      span.addEvent('exception', { 'exception.message': 'slow database' });
      span.end();
      ids.set(event.id, span.spanContext());
    }
    await provider.forceFlush();
    await provider.shutdown();
    expect(results).toEqual([0, 0]); // 0: ExportResultCode.SUCCESS
    const stored = await all(store);
    expect(stored).toHaveLength(2);
    for (const event of [login, created]) {
      const { traceId, spanId } = ids.get(event.id)!;
      expect(stored.find((e) => e.id === event.id)).toMatchObject({ ...event, service: { name: 'test-app' }, traceId, spanId });
    }
  });

  it('answers partial success in the ExportTraceServiceResponse counting the span whose audit event was refused', async () => {
    const port = await start();
    const good = validEvent();
    const noActor = auditSpanEvent(validEvent());
    noActor.attributes = noActor.attributes!.filter((a) => !a.key.startsWith('user.'));
    const request = otlpTracesJson([
      { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', events: [auditSpanEvent(good)] },
      { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: '00f067aa0ba902b7', events: [noActor] },
    ]);
    const raw = await rawExport(port, otlpTracesProtobuf(request), TOKEN, TRACES_EXPORT_PATH);
    expect(raw.error).toBeNull();
    const answer = decodeProto(ExportTraceServiceResponse, raw.response as unknown as Buffer);
    expect(answer.partialSuccess).toMatchObject({ rejectedSpans: 1 });
    expect((answer.partialSuccess as { errorMessage: string }).errorMessage).toContain('actor.id');
    expect(await all(store)).toEqual([expect.objectContaining({ id: good.id, traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' })]);
  });

  it('opens no port until listenCollectorGrpc, and refuses a port already taken', async () => {
    app = buildCollector({ store, grpc: { host: '127.0.0.1', port: 0 } });
    // inject readies the app, as tests of the HTTP routes do: no gRPC port for that.
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect(collectorGrpcPort(app)).toBeUndefined();
    const taken = await listenCollectorGrpc(app);
    const second = buildCollector({ store, grpc: { host: '127.0.0.1', port: taken } });
    try {
      await expect(listenCollectorGrpc(second)).rejects.toThrow(`cannot listen for OTLP/gRPC on 127.0.0.1:${taken}`);
    } finally {
      await second.close();
    }
    await expect(listenCollectorGrpc(buildCollector({ store }))).rejects.toThrow('this collector was built without the grpc option');
  });

  it('closes the gRPC server with the app', async () => {
    const port = await start();
    await app!.close();
    app = undefined;
    const raw = await rawExport(port, JSON.parse(otlpJsonBody([validEvent()])), TOKEN);
    expect(raw.error?.code).toBe(grpc.status.UNAVAILABLE);
  });
});

describe('collector OTLP/gRPC receiver with an unreachable store and no spool', () => {
  it('answers UNAVAILABLE with a google.rpc.RetryInfo of retryAfterSeconds, so clients retry', async () => {
    // Port 9 (discard) on loopback: nothing listens there, the connection is refused.
    const store = new ElasticsearchStore({ url: 'http://127.0.0.1:9', installTemplate: false });
    const app = buildCollector({ store, retryAfterSeconds: 7, grpc: { host: '127.0.0.1', port: 0 } });
    try {
      const raw = await rawExport(await listenCollectorGrpc(app), JSON.parse(otlpJsonBody([validEvent()])));
      expect(raw.error?.code).toBe(grpc.status.UNAVAILABLE);
      expect(raw.error?.details).toBe('the audit store is unavailable; retry later');
      expect(retryInfoOf(raw.error!)).toEqual({ code: grpc.status.UNAVAILABLE, retryDelaySeconds: 7 });
      const metrics = await app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toContain('otel_audit_requests_refused_total 1');
    } finally {
      await app.close();
      await store.close();
    }
  });
});
