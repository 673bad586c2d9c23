import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryFileStorage, buildExportService, signToken } from '@otel-audit/exporter-service';
import { SqliteExportJobStore, SqliteStore } from '@otel-audit/store';
import { validEvent } from '../../test/support/otlp-json.js';

const SECRET = 'export-columns-test-secret-of-32-chars';
const LINK_SECRET = 'export-columns-link-secret-of-32-chars';

describe('a columns list that names no column (real SQLite store and job store)', () => {
  let dir: string;
  let store: SqliteStore;
  let jobs: SqliteExportJobStore;
  let app: ReturnType<typeof buildExportService>;
  let token: string;
  const range = 'from=2020-02-02&to=2020-02-03';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-columns-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    await store.insert([validEvent({ time: '2020-02-02T10:00:00.000Z' })]);
    jobs = new SqliteExportJobStore({ path: join(dir, 'jobs.sqlite') });
    app = buildExportService({
      store,
      auth: { secret: SECRET },
      jobs: { store: jobs, files: new DirectoryFileStorage(join(dir, 'exports')), linkSecret: LINK_SECRET },
    });
    token = await signToken(SECRET, { sub: 'root', superAdmin: true });
  });
  afterAll(async () => {
    await app.close();
    await jobs.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const expectNoColumns = (res: { statusCode: number; json: () => { error: { code: string; message: string } } }) => {
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('AUDIT_ERR_INVALID_QUERY');
    expect(res.json().error.message).toMatch(/^columns: name at least one column; known: date, /);
  };

  for (const format of ['csv', 'xlsx']) {
    it(`answers 400 naming columns on a ${format.toUpperCase()} download, not 500`, async () => {
      for (const columns of [',,,', ',', ' , ']) {
        const res = await app.inject({
          url: `/v1/exports/events.${format}?scope=all&${range}&columns=${encodeURIComponent(columns)}`,
          headers: { authorization: `Bearer ${token}` },
        });
        expectNoColumns(res);
      }
    });
  }

  it('answers 400 naming columns on POST /v1/exports, and queues no job', async () => {
    for (const format of ['csv', 'xlsx']) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/exports',
        headers: { authorization: `Bearer ${token}` },
        payload: { scope: 'all', from: '2020-02-02', to: '2020-02-03', format, columns: ',,,' },
      });
      expectNoColumns(res);
    }
    expect(await jobs.list({})).toEqual([]);
  });

  it('still exports the columns that are named, with stray commas around them', async () => {
    const res = await app.inject({ url: `/v1/exports/events.csv?scope=all&${range}&columns=,action,,`, headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(200);
    expect((parse(res.body) as string[][])[0]).toEqual(['Action']);
  });
});
