import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  SimpleLogRecordProcessor,
  type LogRecordExporter,
} from '@opentelemetry/sdk-logs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCollector } from '@otel-audit/collector';
import { toLogRecord, withEventDefaults, type AuditEvent } from '@otel-audit/contract';
import { SqliteStore } from '@otel-audit/store';
import { otlpJsonBody, validEvent } from '../../test/support/otlp-json.js';
import { decodeProto, ExportLogsServiceResponse, protobufBody, RpcStatus } from '../../test/support/otlp-proto.js';
import { listen } from '../../test/support/services.js';
import { decodeOtlpJson } from '../src/internal/otlp-json.js';
import { decodeOtlpProtobuf } from '../src/internal/otlp-proto.js';
import { ResultKeepingExporter } from '../../test/support/result-keeping-exporter.js';

const PROTOBUF = { 'content-type': 'application/x-protobuf' };
async function all(store: SqliteStore): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of store.query({ from: new Date(0), to: new Date(Date.now() + 86_400_000) })) out.push(e);
  return out;
}

const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);

/** Events that use every part of the contract, so the round trip is checked field by field. */
function richEvents(): AuditEvent[] {
  return [
    validEvent({
      action: 'api_token.create',
      category: 'iam',
      actor: { id: 'u-42', name: 'Alice', type: 'user', email: 'alice@example.com', roles: ['admin', 'auditor'] },
      client: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0' },
      sessionId: 's-1',
      workspace: { id: 'acme', name: 'Acme' },
      resource: { type: 'api_token', id: 'tok-7', name: 'CI deploy', href: 'https://app.example/tokens/tok-7' },
      request: { id: 'req-1', parentId: 'req-0' },
      message: 'Created API token "CI deploy"',
      metadata: { ticket: 'T-1', count: 3, ratio: 2.5, urgent: true },
    }),
    validEvent({
      action: 'settings.update',
      category: 'configuration',
      outcome: 'failure',
      reason: 'validation failed',
      actor: { id: 'svc-sync', type: 'service' },
      changes: [
        { field: 'timezone', from: 'UTC', to: 'Europe/Paris' },
        { field: 'limits', from: null, to: { max: 10, tags: ['a', 'b'] } },
      ],
    }),
    validEvent({ action: 'auth.logout', category: 'session' }),
  ];
}

type ExportCallback = Parameters<LogRecordExporter['export']>[1];
type ExportResult = Parameters<ExportCallback>[0];


/** Sends the events as the instrumentation does: through the real OpenTelemetry Logs SDK and OTLP/protobuf exporter. */
async function sendWithSdk(events: AuditEvent[], exporterConfig: ConstructorParameters<typeof OTLPLogExporter>[0], batch = false): Promise<ExportResult[]> {
  const exporter = new ResultKeepingExporter(new OTLPLogExporter(exporterConfig));
  const processor = batch ? new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 10 }) : new SimpleLogRecordProcessor({ exporter });
  const provider = new LoggerProvider({ processors: [processor] });
  const logger = provider.getLogger('collector-protobuf-test');
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

describe('collector /v1/logs with OTLP/protobuf, on a real SQLite file', () => {
  let dir: string;
  let store: SqliteStore;
  let app: ReturnType<typeof buildCollector>;
  let seen: Array<{ type: string | undefined; encoding: string | undefined; status: number; answerType: unknown }>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-collector-proto-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    app = buildCollector({ store });
    seen = [];
    // What went over the wire: proves the exporter really spoke protobuf (and gzip).
    app.addHook('onResponse', async (request, reply) => {
      seen.push({
        type: request.headers['content-type'],
        encoding: request.headers['content-encoding'],
        status: reply.statusCode,
        answerType: reply.getHeader('content-type'),
      });
    });
  });
  afterEach(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (payload: Buffer, headers: Record<string, string> = PROTOBUF) => app.inject({ method: 'POST', url: '/v1/logs', payload, headers });

  it('stores what the OpenTelemetry proto exporter sends, field for field', async () => {
    const url = `${await listen(app)}/v1/logs`;
    const events = richEvents();
    const results = await sendWithSdk(events, { url });
    expect(results.length).toBeGreaterThan(0);
    expect(results.every((r) => r.code === 0 && r.error === undefined)).toBe(true); // 0: ExportResultCode.SUCCESS
    expect(seen.length).toBeGreaterThan(0);
    for (const s of seen) expect(s).toEqual({ type: 'application/x-protobuf', encoding: undefined, status: 200, answerType: 'application/x-protobuf' });

    const stored = (await all(store)).sort(byId);
    // No resource given: the SDK's default one names an unknown service, which must still come through.
    const service = { name: expect.stringMatching(/^unknown_service/) };
    // An event without a message gets the catalogue's, as record() would have given it.
    expect(stored).toEqual(events.map((e) => ({ ...withEventDefaults(e), id: e.id, service })).sort(byId));
  });

  it('stores what the exporter sends gzip-compressed, in batches', async () => {
    const url = `${await listen(app)}/v1/logs`;
    const events = Array.from({ length: 25 }, (_, i) => validEvent({ action: 'record.update', category: 'data', metadata: { i } }));
    // The config type carries the CompressionAlgorithm enum; 'gzip' is its GZIP member.
    const compression = 'gzip' as NonNullable<ConstructorParameters<typeof OTLPLogExporter>[0]>['compression'];
    const results = await sendWithSdk(events, { url, compression }, true);
    expect(results.every((r) => r.code === 0)).toBe(true);
    expect(seen.length).toBeGreaterThan(0);
    for (const s of seen) expect(s).toEqual({ type: 'application/x-protobuf', encoding: 'gzip', status: 200, answerType: 'application/x-protobuf' });

    const stored = (await all(store)).sort(byId);
    expect(stored.map((e) => e.id)).toEqual(events.map((e) => e.id).sort());
    expect(stored.map((e) => e.metadata).sort((a, b) => Number(a?.i) - Number(b?.i))).toEqual(events.map((e) => e.metadata));
  });

  it('answers full success with an empty ExportLogsServiceResponse in protobuf', async () => {
    const event = validEvent();
    const res = await post(protobufBody(JSON.parse(otlpJsonBody([event]))));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-protobuf');
    expect(res.rawPayload).toHaveLength(0);
    expect(decodeProto(ExportLogsServiceResponse, res.rawPayload)).toEqual({});
    expect(await all(store)).toEqual([{ ...withEventDefaults(event), service: { name: 'test-app' } }]);
  });

  it('answers partial success in protobuf naming the field, and keeps the rest', async () => {
    const good = validEvent();
    const noActor = validEvent();
    const alsoGood = validEvent({ action: 'auth.logout', category: 'session' });
    const request = JSON.parse(otlpJsonBody([good, noActor, alsoGood]));
    const records = request.resourceLogs[0].scopeLogs[0].logRecords;
    records[1].attributes = records[1].attributes.filter((a: { key: string }) => !a.key.startsWith('user.'));
    const res = await post(protobufBody(request));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-protobuf');
    const answer = decodeProto(ExportLogsServiceResponse, res.rawPayload);
    expect(answer.partialSuccess).toMatchObject({ rejectedLogRecords: 1 });
    expect((answer.partialSuccess as { errorMessage: string }).errorMessage).toContain('actor.id');
    expect((await all(store)).map((e) => e.id).sort()).toEqual([good.id, alsoGood.id].sort());
  });

  it('answers 400 with a protobuf google.rpc.Status for a truncated body, and keeps serving', async () => {
    const whole = protobufBody(JSON.parse(otlpJsonBody([validEvent(), validEvent()])));
    const res = await post(whole.subarray(0, whole.length - 7));
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toBe('application/x-protobuf');
    const status = decodeProto(RpcStatus, res.rawPayload);
    expect(status).toMatchObject({ code: 3 });
    expect(status.message).toMatch(/^invalid OTLP\/protobuf logs request: /);
    expect(await all(store)).toHaveLength(0);

    const event = validEvent();
    const next = await post(gzipSync(protobufBody(JSON.parse(otlpJsonBody([event])))), { ...PROTOBUF, 'content-encoding': 'gzip' });
    expect(next.statusCode).toBe(200);
    expect((await all(store)).map((e) => e.id)).toEqual([event.id]);
    // JSON requests still get JSON answers on the same instance.
    const json = await app.inject({ method: 'POST', url: '/v1/logs', payload: otlpJsonBody([validEvent()]), headers: { 'content-type': 'application/json' } });
    expect(json.statusCode).toBe(200);
    expect(json.json()).toEqual({});
  });

  it('answers transport errors of a protobuf request in protobuf too', async () => {
    const notGzip = await post(Buffer.from('plain bytes'), { ...PROTOBUF, 'content-encoding': 'gzip' });
    expect(notGzip.statusCode).toBe(400);
    expect(decodeProto(RpcStatus, notGzip.rawPayload)).toMatchObject({ code: 3, message: expect.stringContaining('invalid gzip') });
    const br = await post(Buffer.alloc(0), { ...PROTOBUF, 'content-encoding': 'br' });
    expect(br.statusCode).toBe(415);
    expect(br.headers['content-type']).toBe('application/x-protobuf');
    expect(decodeProto(RpcStatus, br.rawPayload)).toMatchObject({ code: 3, message: expect.stringContaining('"br"') });
  });
});

describe('the two OTLP decoders', () => {
  it('read the same request into the same records, whatever the encoding', () => {
    const request = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'billing' } }] },
          scopeLogs: [
            {
              scope: { name: 'test' },
              logRecords: [
                {
                  timeUnixNano: '1767225600123456789',
                  observedTimeUnixNano: '1767225600999000000',
                  eventName: 'record.update',
                  body: { kvlistValue: { values: [{ key: 'nested', value: { arrayValue: { values: [{ intValue: '1' }, { boolValue: false }] } } }] } },
                  attributes: [
                    { key: 'audit.metadata.string', value: { stringValue: 'text' } },
                    { key: 'audit.metadata.empty', value: { stringValue: '' } },
                    { key: 'audit.metadata.int', value: { intValue: '42' } },
                    { key: 'audit.metadata.zero', value: { intValue: '0' } },
                    { key: 'audit.metadata.double', value: { doubleValue: 2.5 } },
                    { key: 'audit.metadata.bool', value: { boolValue: true } },
                    { key: 'audit.metadata.array', value: { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } } },
                    { key: 'audit.metadata.bytes', value: { bytesValue: Buffer.from('raw').toString('base64') } },
                    { key: 'audit.metadata.unset', value: {} },
                  ],
                },
                { eventName: 'auth.login' },
              ],
            },
          ],
        },
      ],
    };
    const fromJson = decodeOtlpJson(request);
    const seen = (records: ReturnType<typeof decodeOtlpJson>) =>
      records.map((r) => ({ candidate: r.candidate, serviceName: r.serviceName, timeProblem: r.timeProblem, original: r.original() }));
    expect(seen(decodeOtlpProtobuf(protobufBody(request)))).toEqual(seen(fromJson));
    // Each record keeps itself as sent, as a one-record request, for the dead-letter store.
    const [rl] = request.resourceLogs;
    expect(fromJson[0]!.original()).toEqual({
      resourceLogs: [{ resource: rl!.resource, scopeLogs: [{ scope: { name: 'test' }, logRecords: [rl!.scopeLogs[0]!.logRecords[0]] }] }],
    });
    expect(fromJson[0]!.candidate).toEqual({
      // No log.record.uid: derived from the whole record (the same from both encodings, above).
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      time: '2026-01-01T00:00:00.123Z',
      action: 'record.update',
      outcome: 'success',
      message: { nested: [1, false] },
      metadata: { string: 'text', empty: '', int: 42, zero: 0, double: 2.5, bool: true, array: ['a', 'b'], bytes: 'cmF3' },
      service: { name: 'billing' },
    });
  });
});
