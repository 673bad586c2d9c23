import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCollector } from '@otel-audit/collector';
import { buildExportService, signToken } from '@otel-audit/exporter-service';
import type { AuditEvent } from '@otel-audit/contract';
import { createAuditLogger, type OtlpProtocol } from '@otel-audit/instrumentation';
import { elasticsearch } from './support/elasticsearch.js';
import { elasticsearchStores, eventually, isolatedDay, listen, sqliteStores, type StorePair } from './support/services.js';

/**
 * Issue 14, trace context: `record()` inside an active span of the real tracing SDK, sent
 * by the real OTLP log exporters (JSON and protobuf), keeps the span's trace and span id
 * through the collector into both stores, the traceId filter and the export columns.
 */
const SECRET = 'trace-context-test-secret-of-at-least-32-chars';
const es = elasticsearch();
const kinds = [
  { name: 'SQLite', open: sqliteStores, enabled: true },
  { name: 'Elasticsearch', open: () => elasticsearchStores(es!), enabled: es !== null },
];
const PROTOCOLS: OtlpProtocol[] = ['http/json', 'http/protobuf'];

// The API's default context manager keeps no active context; an app that traces
// registers one (the Node SDK does), and so does this test.
const contextManager = new AsyncLocalStorageContextManager();
const tracerProvider = new BasicTracerProvider();
const tracer = tracerProvider.getTracer('trace-context-test');

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(async () => {
  context.disable();
  await tracerProvider.shutdown();
});

for (const kind of kinds) {
  describe.skipIf(!kind.enabled)(`trace context → ${kind.name}`, () => {
    let stores: StorePair;
    let collectorUrl: string;
    let exporter: ReturnType<typeof buildExportService>;
    let collector: ReturnType<typeof buildCollector>;

    beforeAll(async () => {
      stores = await kind.open();
      collector = buildCollector({ store: stores.writer });
      exporter = buildExportService({ store: stores.reader, auth: { secret: SECRET } });
      collectorUrl = await listen(collector);
    });
    afterAll(async () => {
      await collector?.close();
      await exporter?.close();
      await stores?.close();
    });

    it('stores, filters and exports the trace and span id of the span active in record()', async () => {
      const day = isolatedDay();
      const range = { from: day, to: new Date(day.getTime() + 86_400_000) };
      const spans: Record<string, { traceId: string; spanId: string }> = {};
      const untraced: string[] = [];
      let minute = 0;
      for (const protocol of PROTOCOLS) {
        const audit = createAuditLogger({ serviceName: 'checkout-app', endpoint: collectorUrl, protocol });
        const input = () => ({ time: new Date(day.getTime() + ++minute * 60_000), action: 'auth.login', actor: { id: 'u-ann', type: 'user' as const } });
        tracer.startActiveSpan(`POST /login (${protocol})`, (span) => {
          spans[audit.record(input())] = span.spanContext();
          span.end();
        });
        untraced.push(audit.record(input()));
        await audit.shutdown();
      }
      expect(Object.keys(spans)).toHaveLength(PROTOCOLS.length);

      const stored = await eventually(
        async () => {
          const out: AuditEvent[] = [];
          for await (const e of stores.reader.query(range)) out.push(e);
          return out;
        },
        (events) => events.length >= PROTOCOLS.length * 2,
      );
      expect(stored).toHaveLength(PROTOCOLS.length * 2);
      for (const e of stored) {
        const span = spans[e.id];
        if (span) expect([e.traceId, e.spanId]).toEqual([span.traceId, span.spanId]);
        else {
          expect(untraced).toContain(e.id);
          expect(e).not.toHaveProperty('traceId');
          expect(e).not.toHaveProperty('spanId');
        }
      }

      const token = await signToken(SECRET, { sub: 'root', superAdmin: true });
      const get = (path: string) => exporter.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${token}` } });
      const period = `scope=all&from=${range.from.toISOString()}&to=${range.to.toISOString()}`;
      for (const [id, span] of Object.entries(spans)) {
        // The filter: the store query and the API (ids in upper case, as some tools show them).
        const inStore: string[] = [];
        for await (const e of stores.reader.query({ ...range, filter: { traceId: span.traceId } })) inStore.push(e.id);
        expect(inStore).toEqual([id]);
        const res = await get(`/v1/events?${period}&traceId=${span.traceId.toUpperCase()}`);
        expect(res.statusCode, res.body).toBe(200);
        expect((JSON.parse(res.body) as { events: AuditEvent[] }).events.map((e) => [e.id, e.traceId, e.spanId])).toEqual([[id, span.traceId, span.spanId]]);

        const csv = await get(`/v1/exports/events.csv?${period}&traceId=${span.traceId}`);
        expect(csv.statusCode, csv.body).toBe(200);
        const rows = parse(csv.body, { columns: true, bom: true }) as Record<string, string>[];
        expect(rows.map((r) => [r['Event ID'], r['Trace ID'], r['Span ID']])).toEqual([[id, span.traceId, span.spanId]]);

        const xlsx = await get(`/v1/exports/events.xlsx?${period}&traceId=${span.traceId}&columns=eventId,traceId,spanId`);
        expect(xlsx.statusCode, xlsx.body).toBe(200);
        const workbook = new ExcelJS.Workbook();
        await workbook.xlsx.load(xlsx.rawPayload as never);
        const values = (workbook.worksheets[0]!.getSheetValues() as unknown[][]).slice(1).map((r) => r.slice(1));
        expect(values).toEqual([['Event ID', 'Trace ID', 'Span ID'], [id, span.traceId, span.spanId]]);
      }

      const bad = await get(`/v1/events?${period}&traceId=not-a-trace`);
      expect(bad.statusCode).toBe(400);
      expect(bad.body).toMatch(/traceId must be 32 hexadecimal digits/);
    });

    it('keeps the trace context of a spooled record across a restart of the app', async () => {
      const day = isolatedDay();
      const dir = mkdtempSync(join(tmpdir(), 'otel-audit-trace-spool-'));
      try {
        // First run: the collector cannot be reached (nothing listens on port 1), so the
        // record stays in the spool, as JSON on disk.
        const first = createAuditLogger({ serviceName: 'checkout-app', endpoint: 'http://127.0.0.1:1', spool: { dir }, initialBackoffMillis: 10, exportTimeoutMillis: 500 });
        let id = '';
        let span = { traceId: '', spanId: '' };
        tracer.startActiveSpan('nightly job', (s) => {
          id = first.record({ time: day, action: 'auth.login', actor: { id: 'u-ann', type: 'user' } });
          span = s.spanContext();
          s.end();
        });
        await expect(first.shutdown({ timeoutMillis: 200 })).rejects.toMatchObject({ code: 'AUDIT_ERR_DELIVERY_FAILED', details: { undelivered: 1, kept: 'spool', spoolDir: dir } });

        // Second run: the record is read back from the spool and delivered with its span.
        const second = createAuditLogger({ serviceName: 'checkout-app', endpoint: collectorUrl, spool: { dir } });
        expect(second.stats().replayed).toBe(1);
        await second.shutdown();
        const stored = await eventually(
          async () => {
            const out: AuditEvent[] = [];
            for await (const e of stores.reader.query({ from: day, to: new Date(day.getTime() + 60_000), filter: { traceId: span.traceId } })) out.push(e);
            return out;
          },
          (events) => events.length > 0,
        );
        expect(stored.map((e) => [e.id, e.traceId, e.spanId])).toEqual([[id, span.traceId, span.spanId]]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
