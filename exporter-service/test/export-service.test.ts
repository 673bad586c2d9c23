import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExportService, exportServiceConfigFromEnv, signToken } from '@otel-audit/exporter-service';
import { ElasticsearchStore, SqliteStore } from '@otel-audit/store';
import { validEvent } from '../../test/support/otlp-json.js';

const SECRET = 'export-service-test-secret-32-chars-min';

describe('export service on a real SQLite file', () => {
  let dir: string;
  let store: SqliteStore;
  let app: ReturnType<typeof buildExportService>;
  const day = '2020-02-02';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-export-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    await store.insert([
      validEvent({ time: `${day}T10:00:00.000Z`, message: '=cmd|" /C calc"!A0' }),
      validEvent({ time: `${day}T11:00:00.000Z`, actor: { id: 'u-bob', type: 'user' } }),
      validEvent({ time: '2020-02-03T00:00:00.000Z' }),
    ]);
    app = buildExportService({ store, auth: { secret: SECRET } });
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (query: string, token?: string) =>
    app.inject({ url: `/v1/exports/events.csv${query}${query ? '&' : '?'}scope=all`, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const auditor = () => signToken(SECRET, { sub: 'u-auditor', permissions: ['users:view', 'security-logs:view'] });

  it('answers 401 without a token, with a forged one, and with an expired one', async () => {
    const forged = await signToken('another-secret-that-is-also-32-characters', { sub: 'x', superAdmin: true });
    const expired = await new SignJWT({ super_admin: true })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(SECRET));
    for (const token of [undefined, forged, expired, 'not-a-jwt']) {
      const res = await get('', token);
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('AUDIT_ERR_UNAUTHENTICATED');
    }
  });

  it('answers 403 AUDIT_ERR_SCOPE_FORBIDDEN to a caller without both permissions, and says nothing else', async () => {
    for (const permissions of [[], ['users:view'], ['security-logs:view']]) {
      const res = await get(`?from=${day}`, await signToken(SECRET, { sub: 'u-alice', permissions }));
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({ error: { code: 'AUDIT_ERR_SCOPE_FORBIDDEN', message: 'you are not allowed to see this scope' } });
    }
  });

  it('exports the range, from inclusive and to exclusive, for both permissions or a super admin', async () => {
    for (const token of [await auditor(), await signToken(SECRET, { sub: 'root', superAdmin: true })]) {
      const res = await get(`?from=${day}T00:00:00Z&to=2020-02-03T00:00:00Z`, token);
      expect(res.statusCode).toBe(200);
      const lines = res.body.trim().split('\n');
      // Every cell quoted (neutralize-formulas.ts): the header too.
      expect(lines[0]).toMatch(/^"Date \(UTC\)","User",/);
      expect(lines).toHaveLength(3);
      expect(res.headers['content-disposition']).toBe('attachment; filename="audit-log_all-users_2020-02-02_2020-02-03.csv"');
    }
  });

  it('neutralises formula-looking cells', async () => {
    const res = await get(`?from=${day}&to=2020-02-03`, await auditor());
    expect(res.body).toContain(`"'=cmd|"" /C calc""!A0"`);
  });

  it('answers 400 AUDIT_ERR_INVALID_QUERY for a bad date or an empty range', async () => {
    const token = await auditor();
    const bad = await get('?from=yesterday', token);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toEqual({ code: 'AUDIT_ERR_INVALID_QUERY', message: 'from must be an ISO 8601 date or time, got "yesterday"' });
    const empty = await get(`?from=${day}&to=${day}`, token);
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.code).toBe('AUDIT_ERR_INVALID_QUERY');
  });
});

describe('export service with an unreachable store', () => {
  it('answers 503 before sending any CSV', async () => {
    const store = new ElasticsearchStore({ url: 'http://127.0.0.1:9', installTemplate: false });
    const app = buildExportService({ store, auth: { secret: SECRET } });
    const token = await signToken(SECRET, { sub: 'root', superAdmin: true });
    const res = await app.inject({ url: '/v1/exports/events.csv?scope=all', headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('AUDIT_ERR_STORE_UNAVAILABLE');
    expect(res.headers['retry-after']).toBe('5');
    await app.close();
    await store.close();
  });
});

describe('export service configuration', () => {
  it('fails fast naming the bad value', () => {
    expect(() => exportServiceConfigFromEnv({ AUDIT_EXPORT_PORT: '99999', AUDIT_JWT_SECRET: SECRET })).toThrow(/AUDIT_EXPORT_PORT/);
    expect(() => exportServiceConfigFromEnv({ AUDIT_JWT_SECRET: 'short' })).toThrow(/AUDIT_JWT_SECRET must be at least 32/);
    expect(() => exportServiceConfigFromEnv({ AUDIT_JWKS_URL: '::' })).toThrow(/AUDIT_JWKS_URL/);
  });

  it('creates the development secret once and reuses it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'otel-audit-secret-'));
    const a = exportServiceConfigFromEnv({ AUDIT_DATA_DIR: dir });
    const b = exportServiceConfigFromEnv({ AUDIT_DATA_DIR: dir });
    expect(a.devSecret).toBe(true);
    expect(a.auth.secret).toHaveLength(43);
    expect(b.auth.secret).toBe(a.auth.secret);
    rmSync(dir, { recursive: true, force: true });
  });
});
