import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DirectoryFileStorage,
  buildExportService,
  exportServiceConfigFromEnv,
  signToken,
  type ExportServiceOptions,
} from '@otel-audit/exporter-service';
import { VIEWER_CSP } from '../src/internal/web-viewer.js';
import { SqliteExportJobStore, SqliteStore } from '@otel-audit/store';

const SECRET = 'web-viewer-routes-secret-of-32-characters';
const LINK_SECRET = 'web-viewer-routes-link-secret-of-32-chars';

describe('what the web viewer asks the service (SQLite)', () => {
  let dir: string;
  let store: SqliteStore;
  let built: string;
  const apps: ReturnType<typeof buildExportService>[] = [];
  const service = (extra: Partial<ExportServiceOptions> = {}) => {
    const app = buildExportService({ store, auth: { secret: SECRET }, rowCap: 1234, ...extra });
    apps.push(app);
    return app;
  };
  const bearer = async (claims: Parameters<typeof signToken>[1]) => ({ authorization: `Bearer ${await signToken(SECRET, claims)}` });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-viewer-routes-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    await store.init();
    // A built page as `npm run build` lays it out: index.html and hashed assets.
    built = join(dir, 'web');
    mkdirSync(join(built, 'assets'), { recursive: true });
    writeFileSync(join(built, 'index.html'), '<!doctype html><title>Audit log</title><script type="module" src="/assets/index-abc123.js"></script>');
    writeFileSync(join(built, 'assets', 'index-abc123.js'), 'console.log("viewer")');
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GET /v1/me says who the caller is and exactly the scopes the routes will grant', async () => {
    const app = service();
    const cases = [
      { claims: { sub: 'u-carol', name: 'Carol' }, scopes: ['self'] },
      { claims: { sub: 'u-alice', workspaces: ['ws-a', 'ws-b'] }, scopes: ['self', 'workspace'] },
      { claims: { sub: 'u-half', workspaces: ['ws-a'], permissions: ['users:view'] }, scopes: ['self', 'workspace'] },
      { claims: { sub: 'u-auditor', permissions: ['users:view', 'security-logs:view'] }, scopes: ['self', 'user', 'all'] },
      { claims: { sub: 'u-root', superAdmin: true }, scopes: ['self', 'workspace', 'user', 'all'] },
    ];
    for (const { claims, scopes } of cases) {
      const res = await app.inject({ url: '/v1/me', headers: await bearer(claims) });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        id: claims.sub,
        name: 'name' in claims ? claims.name : null,
        workspaces: 'workspaces' in claims ? claims.workspaces : [],
        superAdmin: 'superAdmin' in claims,
        scopes,
        backgroundExports: false,
        limits: { rowCap: 1234, maxPageSize: 1000, defaultWindowDays: 30, maxRangeDays: 366 },
      });
      // Every scope it lists is one /v1/events grants; every other one is refused.
      for (const scope of ['self', 'workspace', 'user', 'all']) {
        const target = scope === 'workspace' ? '&workspace=ws-a' : scope === 'user' ? '&user=u-x' : '';
        const events = await app.inject({ url: `/v1/events/count?scope=${scope}${target}`, headers: await bearer(claims) });
        expect(events.statusCode, `${claims.sub} scope=${scope}`).toBe(scopes.includes(scope) ? 200 : 403);
      }
    }
    const anonymous = await app.inject({ url: '/v1/me' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().error.code).toBe('AUDIT_ERR_UNAUTHENTICATED');
  });

  it('GET /v1/me tells whether background exports are on', async () => {
    const jobs = new SqliteExportJobStore({ path: join(dir, 'jobs.sqlite') });
    const app = service({ jobs: { store: jobs, files: new DirectoryFileStorage(join(dir, 'exports')), linkSecret: LINK_SECRET } });
    app.addHook('onClose', () => jobs.close());
    const res = await app.inject({ url: '/v1/me', headers: await bearer({ sub: 'u-alice' }) });
    expect(res.json().backgroundExports).toBe(true);
  });

  it('GET /v1/events/count validates like /v1/events', async () => {
    const app = service();
    const res = await app.inject({ url: '/v1/events/count?outcome=maybe', headers: await bearer({ sub: 'u-alice' }) });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/outcome must be one of success, failure, unknown/);
    expect((await app.inject({ url: '/v1/events/count' })).statusCode).toBe(401);
  });

  it('the OpenAPI document describes the routes the viewer uses', async () => {
    const jobs = new SqliteExportJobStore({ path: join(dir, 'jobs-openapi.sqlite') });
    const app = service({ jobs: { store: jobs, files: new DirectoryFileStorage(join(dir, 'exports')), linkSecret: LINK_SECRET } });
    app.addHook('onClose', () => jobs.close());
    const doc = (await app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { properties: Record<string, unknown> } }> }> }>> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/me', '/v1/events/count', '/v1/exports/{id}']));
    expect(Object.keys(doc.paths['/v1/me']!.get!.responses['200']!.content!['application/json']!.schema.properties)).toContain('scopes');
    expect(Object.keys(doc.paths['/v1/exports/{id}']!.get!.responses['200']!.content!['application/json']!.schema.properties)).toEqual(
      expect.arrayContaining(['percent', 'rowsWritten', 'total', 'expiresAt', 'downloadUrl', 'linkTtlHours']),
    );
    // The page itself is not part of the API.
    expect(doc.paths['/']).toBeUndefined();
  });

  it('serves the built page at / and its assets, with a Content-Security-Policy that allows no inline script', async () => {
    const app = service({ viewer: { dir: built } });
    const page = await app.inject({ url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toBe(VIEWER_CSP);
    expect(VIEWER_CSP).toContain("script-src 'self'");
    expect(VIEWER_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.body).toContain('/assets/index-abc123.js');

    const asset = await app.inject({ url: '/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toMatch(/immutable/);
    expect(asset.headers['content-security-policy']).toBe(VIEWER_CSP);
    expect((await app.inject({ url: '/assets/../index.html' })).body).not.toContain('console.log');
    expect((await app.inject({ url: '/assets/missing.js' })).statusCode).toBe(404);

    expect((await app.inject({ url: '/viewer-config.json' })).json()).toEqual({ signIn: 'token' });
    // The API beside it is unchanged, and still wants a token.
    expect((await app.inject({ url: '/v1/events' })).statusCode).toBe(401);
  });

  it('tells the page to show no token box behind an authenticating front door', async () => {
    const app = service({ viewer: { dir: built, signIn: 'front-door' } });
    expect((await app.inject({ url: '/viewer-config.json' })).json()).toEqual({ signIn: 'front-door' });
  });

  it('an unbuilt viewer answers / with what to do, and the API keeps serving', async () => {
    const app = service({ viewer: { dir: join(dir, 'not-built') } });
    const page = await app.inject({ url: '/' });
    expect(page.statusCode).toBe(404);
    expect(page.body).toMatch(/npm run build/);
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it('no viewer unless asked for', async () => {
    const app = service();
    expect((await app.inject({ url: '/' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/viewer-config.json' })).statusCode).toBe(404);
  });

  it('AUDIT_VIEWER and AUDIT_VIEWER_SIGN_IN are checked at start-up', () => {
    const env = { AUDIT_JWT_SECRET: SECRET, AUDIT_EXPORT_LINK_SECRET: LINK_SECRET, AUDIT_DATA_DIR: dir };
    expect(exportServiceConfigFromEnv(env).viewer).toEqual({ enabled: true, signIn: 'token' });
    expect(exportServiceConfigFromEnv({ ...env, AUDIT_VIEWER: 'off', AUDIT_VIEWER_SIGN_IN: 'front-door' }).viewer).toEqual({ enabled: false, signIn: 'front-door' });
    expect(() => exportServiceConfigFromEnv({ ...env, AUDIT_VIEWER: 'yes' })).toThrow(/AUDIT_VIEWER must be on or off/);
    expect(() => exportServiceConfigFromEnv({ ...env, AUDIT_VIEWER_SIGN_IN: 'oidc' })).toThrow(/AUDIT_VIEWER_SIGN_IN must be token or front-door/);
  });
});
