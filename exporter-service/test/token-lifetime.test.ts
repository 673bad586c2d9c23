import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_DEFAULTS, buildExportService, exportServiceConfigFromEnv, signToken } from '@otel-audit/exporter-service';
import { createAuthenticator } from '../src/auth.js';
import { SqliteStore } from '@otel-audit/store';
import { validEvent } from '../../test/support/otlp-json.js';

const SECRET = 'token-lifetime-test-secret-of-32-chars';
const HOUR = 3600;

describe('token lifetime (HS256, real SQLite store)', () => {
  let dir: string;
  let store: SqliteStore;
  let app: ReturnType<typeof buildExportService>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-token-ttl-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    await store.insert([validEvent({ actor: { id: 'u-alice', type: 'user' } })]);
    app = buildExportService({ store, auth: { secret: SECRET } });
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const now = () => Math.floor(Date.now() / 1000);
  const sign = (claims: { iat?: number; exp?: number }) => {
    const jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u-alice');
    if (claims.iat !== undefined) jwt.setIssuedAt(claims.iat);
    if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
    return jwt.sign(new TextEncoder().encode(SECRET));
  };
  const me = async (token: string, service = app) => service.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } });

  it('refuses a token without exp, saying why', async () => {
    for (const token of [await sign({}), await sign({ iat: now() })]) {
      const res = await me(token);
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toEqual({ code: 'AUDIT_ERR_UNAUTHENTICATED', message: 'the bearer token has no expiry (exp); tokens must expire' });
    }
  });

  it('refuses a token that lives longer than the 24-hour default, by exp − iat or, without iat, exp − now', async () => {
    expect(AUTH_DEFAULTS.maxTokenTtlMs).toBe(24 * HOUR * 1000);
    for (const claims of [
      { iat: now(), exp: now() + 25 * HOUR },
      { exp: now() + 25 * HOUR },
      // Issued long ago, a day and a half of life left: still over.
      { iat: now() - 30 * HOUR, exp: now() + HOUR },
      // An iat set in the future to make exp − iat look short.
      { iat: now() + 48 * HOUR, exp: now() + 49 * HOUR },
      { iat: now(), exp: now() + 10 * 365 * 24 * HOUR },
    ]) {
      const res = await me(await sign(claims));
      expect(res.statusCode, JSON.stringify(claims)).toBe(401);
      expect(res.json().error.message).toBe('the bearer token lives longer than the 24-hour maximum; ask for a shorter-lived one');
    }
  });

  it('accepts tokens within the limit, and the development token of otel-audit token', async () => {
    for (const token of [await sign({ iat: now(), exp: now() + 24 * HOUR }), await sign({ exp: now() + 5 * 60 }), await signToken(SECRET, { sub: 'u-alice' })]) {
      const res = await me(token);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().id).toBe('u-alice');
    }
  });

  it('takes the maximum from AUDIT_JWT_MAX_TTL_HOURS, validated at start-up', async () => {
    const config = exportServiceConfigFromEnv({ AUDIT_DATA_DIR: dir, AUDIT_JWT_SECRET: SECRET, AUDIT_JWT_MAX_TTL_HOURS: '1' });
    expect(config.auth.maxTokenTtlMs).toBe(HOUR * 1000);
    expect(exportServiceConfigFromEnv({ AUDIT_DATA_DIR: dir, AUDIT_JWT_SECRET: SECRET }).auth.maxTokenTtlMs).toBe(24 * HOUR * 1000);
    const strict = buildExportService({ store, auth: config.auth });
    try {
      expect((await me(await signToken(SECRET, { sub: 'u-alice', expiresIn: '1h' }), strict)).statusCode).toBe(200);
      const long = await me(await signToken(SECRET, { sub: 'u-alice', expiresIn: '2h' }), strict);
      expect(long.statusCode).toBe(401);
      expect(long.json().error.message).toMatch(/1-hour maximum/);
    } finally {
      await strict.close();
    }
    for (const bad of ['0', '721', '1.5', 'a day']) {
      expect(() => exportServiceConfigFromEnv({ AUDIT_DATA_DIR: dir, AUDIT_JWT_SECRET: SECRET, AUDIT_JWT_MAX_TTL_HOURS: bad })).toThrow(
        `AUDIT_JWT_MAX_TTL_HOURS must be an integer from 1 to 720, got ${JSON.stringify(bad)}`,
      );
    }
  });

  it('signToken refuses a lifetime over the maximum, as the service would refuse the token', async () => {
    await expect(signToken(SECRET, { sub: 'u-alice', expiresIn: '25h' })).rejects.toThrow(/lifetime of 25h is over the 24-hour maximum \(AUDIT_JWT_MAX_TTL_HOURS\)/);
    await expect(signToken(SECRET, { sub: 'u-alice', expiresIn: '2h', maxTtlMs: HOUR * 1000 })).rejects.toThrow(/over the 1-hour maximum/);
  });
});

describe('an identity provider (JWKS) without issuer and audience', () => {
  it('fails at start-up naming the missing variables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'otel-audit-jwks-config-'));
    try {
      const base = { AUDIT_DATA_DIR: dir, AUDIT_JWKS_URL: 'http://127.0.0.1:1/jwks.json' };
      expect(() => exportServiceConfigFromEnv(base)).toThrow('AUDIT_JWKS_URL needs AUDIT_JWT_ISSUER and AUDIT_JWT_AUDIENCE');
      expect(() => exportServiceConfigFromEnv({ ...base, AUDIT_JWT_ISSUER: 'https://idp.example' })).toThrow(/^AUDIT_JWKS_URL needs AUDIT_JWT_AUDIENCE \(/);
      expect(() => exportServiceConfigFromEnv({ ...base, AUDIT_JWT_AUDIENCE: 'otel-audit', AUDIT_JWT_ISSUER: ' ' })).toThrow(/^AUDIT_JWKS_URL needs AUDIT_JWT_ISSUER \(/);
      expect(exportServiceConfigFromEnv({ ...base, AUDIT_JWT_ISSUER: 'https://idp.example', AUDIT_JWT_AUDIENCE: 'otel-audit' }).auth).toMatchObject({
        issuer: 'https://idp.example',
        audience: 'otel-audit',
      });
      // The library refuses the same options when built without the environment.
      expect(() => createAuthenticator({ jwksUrl: 'http://127.0.0.1:1/jwks.json', issuer: 'https://idp.example' })).toThrow(/AUDIT_JWT_ISSUER and AUDIT_JWT_AUDIENCE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
