import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCollector } from '@otel-audit/collector';
import type { AuditEvent } from '@otel-audit/contract';
import { buildExportService, signToken } from '@otel-audit/exporter-service';
import { createAuditLogger, type AuditLogger } from '@otel-audit/instrumentation';
import { SqliteStore, type AuditStore, type EventQuery } from '@otel-audit/store';
import { validEvent } from '../../test/support/otlp-json.js';
import { listen } from '../../test/support/services.js';

const SECRET = 'downloads-test-secret-of-at-least-32-chars';
const DAY = '2021-03-04';

describe('downloads over a real port (SQLite)', () => {
  let dir: string;
  let store: SqliteStore;
  let auditStore: SqliteStore;
  let collector: ReturnType<typeof buildCollector>;
  let audit: AuditLogger;
  let app: ReturnType<typeof buildExportService>;
  let url: string;
  let root: string;
  let yielded = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-downloads-'));
    store = new SqliteStore({ path: join(dir, 'events.sqlite'), pageSize: 100 });
    await store.insert(
      Array.from({ length: 60_000 }, (_, i) =>
        validEvent({ time: new Date(Date.parse(`${DAY}T00:00:00Z`) + i * 1000).toISOString(), resource: { type: 'file', name: `file-${i}.pdf`, href: `https://files.example/${i}` } }),
      ),
    );
    // The export service's own audit trail goes through a real collector into a second store.
    auditStore = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    collector = buildCollector({ store: auditStore });
    audit = createAuditLogger({ serviceName: 'otel-audit-export-service', endpoint: await listen(collector), scheduledDelayMillis: 20 });
    // A real store, watched: counts what the export pulls, to show a disconnect stops it.
    const watched: AuditStore = {
      kind: store.kind,
      description: store.description,
      init: () => store.init(),
      insert: (events) => store.insert(events),
      insertRejected: (records) => store.insertRejected(records),
      count: (q) => store.count(q),
      deleteOlderThan: (cutoff) => store.deleteOlderThan(cutoff),
      ping: () => store.ping(),
      chainTail: (id, after) => store.chainTail(id, after),
      insertDigest: (d) => store.insertDigest(d),
      latestDigest: (id) => store.latestDigest(id),
      digests: (id) => store.digests(id),
      queryChain: (id, from, to) => store.queryChain(id, from, to),
      unchained: (range) => store.unchained(range),
      chainIds: (range) => store.chainIds(range),
      close: async () => {},
      query: async function* (q: EventQuery, signal?: AbortSignal) {
        for await (const e of store.query(q, signal)) {
          yielded += 1;
          yield e;
        }
      },
    };
    app = buildExportService({ store: watched, auth: { secret: SECRET }, audit, rowCap: 50_000 });
    url = await listen(app);
    root = await signToken(SECRET, { sub: 'u-root', name: 'Root', superAdmin: true });
  });
  afterAll(async () => {
    await app.close();
    await audit.shutdown();
    await collector.close();
    await store.close();
    await auditStore.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${root}` } });

  it('refuses a download over the row cap with 413 and tells the client what to do instead', async () => {
    const res = await get(`/v1/exports/events.csv?scope=all&from=${DAY}&to=2021-03-05`);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: {
        code: 'AUDIT_ERR_EXPORT_TOO_LARGE',
        message: '60000 rows is over the 50000-row limit of a direct download; start a background export with POST /v1/exports',
      },
    });
  });

  it('streams an XLSX that reads back with typed dates, in the asked zone and format', async () => {
    const res = await get(`/v1/exports/events.xlsx?scope=all&from=${DAY}T00:00:00Z&to=${DAY}T00:10:00Z&tz=Europe/Paris&dateFormat=MM/DD/YYYY%20HH:mm:ss&columns=date,action,target,eventId`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="audit-log_all-users_${DAY}_${DAY}.xlsx"`);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(Buffer.from(await res.arrayBuffer()) as never);
    const sheet = workbook.worksheets[0]!;
    expect(sheet.getRow(1).values).toEqual([undefined, 'Date (Europe/Paris)', 'Action', 'Target', 'Event ID']);
    expect(sheet.actualRowCount).toBe(601);
    const first = sheet.getRow(2);
    // 00:00 UTC is 01:00 in Paris in March; Excel dates carry the wall-clock time.
    expect(first.getCell(1).value).toEqual(new Date(`${DAY}T01:00:00.000Z`));
    expect(first.getCell(1).numFmt).toBe('mm/dd/yyyy hh:mm:ss');
    expect(first.getCell(3).value).toMatchObject({ text: 'file-0.pdf', hyperlink: 'https://files.example/0' });
  });

  it('rejects bad format parameters with 400 naming the parameter', async () => {
    for (const [query, message] of [
      ['tz=Mars/Olympus', 'tz must be an IANA time zone'],
      ['columns=date,secret', 'columns: unknown column "secret"'],
      ['dateFormat=yyyy', 'dateFormat must be'],
      ['ip=300.1.1.1', 'ip must be an IP address or a CIDR range'],
      ['category=nope', 'category must be one of'],
      ['scope=everyone', 'scope'],
    ]) {
      const res = await get(`/v1/exports/events.csv?scope=all&from=${DAY}T00:00:00Z&to=${DAY}T00:01:00Z&${query}`);
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('AUDIT_ERR_INVALID_QUERY');
      expect(body.error.message).toContain(message);
    }
  });

  it('stops reading the store when the client goes away', async () => {
    const abort = new AbortController();
    yielded = 0;
    const res = await fetch(`${url}/v1/exports/events.csv?scope=all&from=${DAY}T00:00:00Z&to=${DAY}T13:00:00Z`, {
      headers: { authorization: `Bearer ${root}` },
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    abort.abort();
    await new Promise((r) => setTimeout(r, 500));
    const afterAbort = yielded;
    await new Promise((r) => setTimeout(r, 500));
    expect(yielded).toBe(afterAbort);
    // 46,800 rows match; back-pressure keeps the read close to what the socket took.
    expect(afterAbort).toBeLessThan(46_800);
  });

  it('records every search and download as an audit event, with scope, filters, format and rows', async () => {
    const search = await get(`/v1/events?scope=all&from=${DAY}T00:00:00Z&to=${DAY}T00:00:05Z&action=auth.*`);
    expect(((await search.json()) as { events: unknown[] }).events).toHaveLength(5);
    const csv = await get(`/v1/exports/events.csv?scope=all&from=${DAY}T00:00:00Z&to=${DAY}T00:00:03Z`);
    expect((await csv.text()).trim().split('\n')).toHaveLength(4);
    await new Promise((r) => setTimeout(r, 100));
    await audit.flush();
    const looks: AuditEvent[] = [];
    for await (const e of auditStore.query({ from: new Date(Date.now() - 60_000), to: new Date(Date.now() + 60_000) })) looks.push(e);
    const searchEvent = looks.find((e) => e.action === 'audit_log.search' && e.metadata?.rows === 5);
    expect(searchEvent).toMatchObject({
      category: 'search',
      actor: { id: 'u-root', name: 'Root', type: 'user' },
      resource: { type: 'audit_log', name: 'all-users' },
      metadata: { scope: 'all', rows: 5 },
      service: { name: 'otel-audit-export-service' },
    });
    expect(JSON.parse(String(searchEvent!.metadata!.filters))).toMatchObject({ action: 'auth.*' });
    const end = looks.find((e) => e.action === 'audit_log.export.end' && e.metadata?.rows === 3);
    expect(end).toMatchObject({ metadata: { scope: 'all', format: 'csv', status: 'completed', rows: 3 }, client: { ip: '127.0.0.1' } });
    expect(looks.find((e) => e.id === end!.metadata!.startEventId)).toMatchObject({
      action: 'audit_log.export',
      correlationId: end!.correlationId,
      metadata: { scope: 'all', format: 'csv', rowsMatching: 3 },
      client: { ip: '127.0.0.1' },
    });
  });

  it('serves its OpenAPI document and docs', async () => {
    const spec = (await (await fetch(`${url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/events', '/v1/exports/events.csv', '/v1/exports/events.xlsx']));
    expect((await fetch(`${url}/docs/`)).status).toBe(200);
  });
});
