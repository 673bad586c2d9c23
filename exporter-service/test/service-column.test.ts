import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCollector } from '@otel-audit/collector';
import type { AuditEvent } from '@otel-audit/contract';
import { buildExportService, signToken } from '@otel-audit/exporter-service';
import { SqliteStore } from '@otel-audit/store';
import { otlpJsonBody, validEvent } from '../../test/support/otlp-json.js';

const SECRET = 'service-column-test-secret-of-32-chars!!';
const RANGE = 'scope=all&from=2024-02-03&to=2024-02-04';

describe('the sender (service.name) in the API, the CSV and the XLSX (SQLite)', () => {
  let dir: string;
  let store: SqliteStore;
  let collector: ReturnType<typeof buildCollector>;
  let app: ReturnType<typeof buildExportService>;
  let root: string;
  const sent = [
    validEvent({ time: '2024-02-03T10:00:00.000Z' }),
    validEvent({ time: '2024-02-03T11:00:00.000Z' }),
  ];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-service-column-'));
    store = new SqliteStore({ path: join(dir, 'events.sqlite') });
    // The collector sets service.name from the sender's OpenTelemetry resource.
    collector = buildCollector({ store });
    for (const [i, e] of sent.entries()) {
      const res = await collector.inject({ method: 'POST', url: '/v1/logs', payload: otlpJsonBody([e], `billing-api-${i}`), headers: { 'content-type': 'application/json' } });
      expect(res.statusCode, res.body).toBe(200);
    }
    app = buildExportService({ store, auth: { secret: SECRET } });
    root = await signToken(SECRET, { sub: 'u-root', name: 'Root', superAdmin: true });
  });
  afterAll(async () => {
    await app.close();
    await collector.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (url: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${root}` } });

  it('is in each event of /v1/events', async () => {
    const res = await get(`/v1/events?${RANGE}&sort=asc`);
    expect(res.statusCode, res.body).toBe(200);
    const { events } = JSON.parse(res.body) as { events: AuditEvent[] };
    expect(events.map((e) => [e.id, e.service])).toEqual(sent.map((e, i) => [e.id, { name: `billing-api-${i}` }]));
  });

  it('is the default column after Event ID (N), "Service"; only later columns come after it', async () => {
    const res = await get(`/v1/exports/events.csv?${RANGE}&sort=asc`);
    expect(res.statusCode, res.body).toBe(200);
    const rows = parse(res.body, { bom: true }) as string[][];
    expect(rows[0]!.slice(12, 14)).toEqual(['Event ID', 'Service']);
    expect(rows.slice(1).map((r) => r.slice(12, 14))).toEqual(sent.map((e, i) => [e.id, `billing-api-${i}`]));
  });

  it('is a column of the XLSX, also when asked for alone', async () => {
    const res = await get(`/v1/exports/events.xlsx?${RANGE}&sort=asc&columns=service,eventId`);
    expect(res.statusCode, res.body).toBe(200);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(res.rawPayload as never);
    const values = (workbook.worksheets[0]!.getSheetValues() as unknown[][]).slice(1).map((r) => r.slice(1));
    expect(values).toEqual([['Service', 'Event ID'], ...sent.map((e, i) => [`billing-api-${i}`, e.id])]);
  });
});
