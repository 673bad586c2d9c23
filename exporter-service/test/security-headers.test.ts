import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryFileStorage, buildExportService, signToken } from '@otel-audit/exporter-service';
import { VIEWER_CSP } from '../src/internal/web-viewer.js';
import { SqliteExportJobStore, SqliteStore } from '@otel-audit/store';
import { API_CSP, DOCS_CSP } from '../src/internal/security-headers.js';
import { validEvent } from '../../test/support/otlp-json.js';
import { eventually } from '../../test/support/services.js';

const SECRET = 'security-headers-test-secret-of-32-chars';
const LINK_SECRET = 'security-headers-link-secret-of-32-chars';

describe('one header policy on every answer (real SQLite store, job store and files)', () => {
  let dir: string;
  let store: SqliteStore;
  let jobs: SqliteExportJobStore;
  let app: ReturnType<typeof buildExportService>;
  let auth: { authorization: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-headers-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    await store.insert([validEvent({ time: '2020-02-02T10:00:00.000Z' })]);
    jobs = new SqliteExportJobStore({ path: join(dir, 'jobs.sqlite') });
    app = buildExportService({
      store,
      auth: { secret: SECRET },
      jobs: { store: jobs, files: new DirectoryFileStorage(join(dir, 'exports')), linkSecret: LINK_SECRET, pollIntervalMs: 50 },
      // No built page needed: the viewer's routes answer (a 404 page) with its policy all the same.
      viewer: { dir: join(dir, 'no-viewer-built') },
    });
    auth = { authorization: `Bearer ${await signToken(SECRET, { sub: 'root', superAdmin: true })}` };
  });
  afterAll(async () => {
    await app.close();
    await jobs.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const expectCommon = (name: string, headers: Record<string, unknown>, csp: string) => {
    expect([name, headers['content-security-policy']]).toEqual([name, csp]);
    expect([name, headers['x-content-type-options']]).toEqual([name, 'nosniff']);
    expect([name, headers['x-frame-options']]).toEqual([name, 'DENY']);
    expect([name, headers['referrer-policy']]).toEqual([name, 'no-referrer']);
    expect([name, headers['strict-transport-security']]).toEqual([name, 'max-age=31536000']);
    expect([name, headers['cross-origin-opener-policy']]).toEqual([name, 'same-origin']);
  };

  it('on API answers: 200, 401, 400, 404, /openapi.json, /healthz and direct downloads, with a CSP that allows nothing', async () => {
    const answers: [string, Promise<{ statusCode: number; headers: Record<string, unknown> }>, number][] = [
      ['events 200', app.inject({ url: '/v1/events?scope=all&from=2020-02-02&to=2020-02-03', headers: auth }), 200],
      ['events 401', app.inject({ url: '/v1/events' }), 401],
      ['events 400', app.inject({ url: '/v1/events?from=yesterday', headers: auth }), 400],
      ['unknown route 404', app.inject({ url: '/v1/nothing-here' }), 404],
      ['openapi', app.inject({ url: '/openapi.json' }), 200],
      ['healthz', app.inject({ url: '/healthz' }), 200],
      ['csv', app.inject({ url: '/v1/exports/events.csv?scope=all&from=2020-02-02&to=2020-02-03', headers: auth }), 200],
      ['xlsx', app.inject({ url: '/v1/exports/events.xlsx?scope=all&from=2020-02-02&to=2020-02-03', headers: auth }), 200],
    ];
    for (const [name, answer, status] of answers) {
      const res = await answer;
      expect([name, res.statusCode]).toEqual([name, status]);
      expectCommon(name, res.headers, API_CSP);
    }
  });

  it('on a background download through its signed link, and on a refused link', async () => {
    const started = await app.inject({ method: 'POST', url: '/v1/exports', headers: auth, payload: { scope: 'all', from: '2020-02-02', to: '2020-02-03', format: 'csv' } });
    expectCommon('post', started.headers, API_CSP);
    const status = await eventually(
      async () => (await app.inject({ url: started.json<{ statusUrl: string }>().statusUrl, headers: auth })).json<{ status: string; downloadUrl?: string }>(),
      (s) => s.status === 'done' || s.status === 'failed',
    );
    const download = await app.inject({ url: status.downloadUrl! });
    expect(download.statusCode).toBe(200);
    expectCommon('download', download.headers, API_CSP);
    const refused = await app.inject({ url: status.downloadUrl!.replace(/signature=[0-9a-f]/, 'signature=x') });
    expect(refused.statusCode).toBe(403);
    expectCommon('refused link', refused.headers, API_CSP);
  });

  it('on the API docs: /docs, its assets and its JSON, with the docs policy', async () => {
    const page = await app.inject({ url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('swagger-ui-bundle.js');
    expectCommon('docs', page.headers, DOCS_CSP);
    for (const url of ['/docs/static/swagger-ui-bundle.js', '/docs/static/swagger-initializer.js', '/docs/json']) {
      const res = await app.inject({ url });
      expect([url, res.statusCode]).toEqual([url, 200]);
      expectCommon(url, res.headers, DOCS_CSP);
    }
  });

  it('on the web viewer: exactly the viewer policy', async () => {
    for (const url of ['/', '/viewer-config.json']) {
      const res = await app.inject({ url });
      expectCommon(url, res.headers, VIEWER_CSP);
    }
  });
});
