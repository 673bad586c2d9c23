import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryFileStorage, buildExportService } from '@otel-audit/exporter-service';
import { SqliteExportJobStore, SqliteStore } from '@otel-audit/store';

describe('405 Method Not Allowed with Allow, from the registered routes (real SQLite)', () => {
  let dir: string;
  let store: SqliteStore;
  let jobs: SqliteExportJobStore;
  let app: ReturnType<typeof buildExportService>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-405-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    jobs = new SqliteExportJobStore({ path: join(dir, 'jobs.sqlite') });
    app = buildExportService({
      store,
      auth: { secret: 'method-not-allowed-secret-of-32-chars!' },
      jobs: { store: jobs, files: new DirectoryFileStorage(join(dir, 'exports')), linkSecret: 'method-not-allowed-link-secret-32-chars!' },
    });
  });
  afterAll(async () => {
    await app.close();
    await jobs.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['PATCH', '/v1/me', 'GET, HEAD'],
    ['DELETE', '/v1/events?scope=all', 'GET, HEAD'],
    ['POST', '/v1/exports/events.csv', 'GET, HEAD'],
    ['GET', '/v1/exports', 'POST'],
    ['PUT', '/v1/exports/0b7c1f9e-8d1a-4b8e-9f67-1a2b3c4d5e6f', 'GET, HEAD'],
  ])('%s %s answers 405, Allow: %s, with the error body', async (method, url, allow) => {
    const res = await app.inject({ method: method as 'GET', url });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.json()).toEqual({ error: { code: 'AUDIT_ERR_METHOD_NOT_ALLOWED', message: expect.stringContaining(`allowed: ${allow}`) } });
  });

  it('answers 405, not 400, to a body method without a content type on a known path', async () => {
    const res = await app.inject({ method: 'QUERY' as 'GET', url: '/v1/exports/some-id/download', payload: 'x' });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });

  it('answers 404 on a path no route has, in the service\'s one error shape', async () => {
    const res = await app.inject({ method: 'DELETE', url: '/v1/nothing-here' });
    expect(res.statusCode).toBe(404);
    expect(res.headers.allow).toBeUndefined();
    expect(res.json()).toEqual({ error: { code: 'AUDIT_ERR_ROUTE_NOT_FOUND', message: 'Route DELETE:/v1/nothing-here not found' } });
  });

  it('states the 405 in the OpenAPI document', async () => {
    const doc = (await app.inject({ url: '/docs/json' })).json() as { info: { description: string }; components: { schemas: Record<string, unknown> } };
    expect(doc.info.description).toContain('405 AUDIT_ERR_METHOD_NOT_ALLOWED');
    expect(doc.components.schemas.Error).toBeDefined();
  });
});
