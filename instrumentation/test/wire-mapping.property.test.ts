import { createServer, type Server } from 'node:http';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPLogExporter as OTLPJsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OTLPProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_REDACT } from '@otel-audit/contract';
import { auditEventInputArbitrary, nonZeroHex } from '../../test/support/audit-event-arbitrary.js';
import { decodeOtlpJson } from '../../collector/src/internal/otlp-json.js';
import { decodeOtlpProtobuf } from '../../collector/src/internal/otlp-proto.js';
import { checkRecord } from '../../collector/src/internal/receive-records.js';
import { buildEvent } from '../src/internal/build-event.js';
import { queuedEvent, toReadableLogRecord } from '../src/internal/queued-event.js';

// The one mapping record() relies on: the event it built and queued (or spooled), handed to
// the real SDK exporter, serialised by it onto the wire, read by the collector's decoders and
// its per-record check, is the event the collector stores. A real HTTP server captures the
// exporter's bytes; the collector's own functions decode them.
const SERVICE = 'wire-property';
const resource = resourceFromAttributes({ 'service.name': SERVICE });
const scope = { name: '@otel-audit/instrumentation', version: '0.1.0' };

const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const spanContext = opt(fc.record({ traceId: nonZeroHex(32), spanId: nonZeroHex(16), traceFlags: fc.constantFrom(0, 1) }));

describe('event → OTLP on the wire (real SDK exporters) → the collector’s decoding equals the event', () => {
  let server: Server;
  let lastBody: Buffer = Buffer.alloc(0);
  let url: string;
  const contextManager = new AsyncLocalStorageContextManager();
  beforeAll(async () => {
    context.setGlobalContextManager(contextManager.enable());
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        lastBody = Buffer.concat(chunks);
        const json = String(req.headers['content-type']).includes('json');
        res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : Buffer.alloc(0));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/logs`;
  });
  afterAll(async () => {
    context.disable();
    await new Promise((r) => server.close(r));
  });

  const cases: [string, () => LogRecordExporter, (body: Buffer) => ReturnType<typeof decodeOtlpJson>][] = [
    ['http/protobuf', () => new OTLPProtoLogExporter({ url }), (body) => decodeOtlpProtobuf(body)],
    ['http/json', () => new OTLPJsonLogExporter({ url }), (body) => decodeOtlpJson(JSON.parse(body.toString('utf8')))],
  ];
  for (const [protocol, makeExporter, decode] of cases) {
    it(`over ${protocol}`, async () => {
      const exporter = makeExporter();
      try {
        await fc.assert(
          fc.asyncProperty(auditEventInputArbitrary, spanContext, async (given, span) => {
            const built = span
              ? context.with(trace.setSpanContext(context.active(), span), () => buildEvent(given, DEFAULT_REDACT))
              : buildEvent(given, DEFAULT_REDACT);
            // What the spool would keep, read back as the next process reads it. JSON is also
            // what every store writes, so -0 (which JSON has not) is 0 from here on.
            const spooled = JSON.parse(JSON.stringify(queuedEvent(built))) as ReturnType<typeof queuedEvent>;
            const sent = await new Promise<{ code: number; error?: Error }>((resolve) =>
              exporter.export([toReadableLogRecord(spooled, resource, scope, [1_800_000_000, 0])], resolve),
            );
            expect(sent.error).toBeUndefined();
            const records = decode(lastBody);
            expect(records).toHaveLength(1);
            const checked = checkRecord(records[0]!, undefined);
            expect(checked).toEqual({ ok: true, event: { ...spooled.event, service: { name: SERVICE } } });
            if (span) expect(built.event).toMatchObject({ traceId: span.traceId, spanId: span.spanId });
          }),
          { numRuns: 150 },
        );
      } finally {
        await exporter.shutdown();
      }
    });
  }
});
