import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExportService, exportServiceConfigFromEnv } from '@otel-audit/exporter-service';
import { SqliteStore } from '@otel-audit/store';
import { validEvent } from '../../test/support/otlp-json.js';

describe('tokens from an identity provider (JWKS over a real loopback server)', () => {
  let idp: Server;
  let jwksUrl: string;
  let dir: string;
  let store: SqliteStore;
  type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  let key: Key;
  let otherKey: Key;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    key = pair.privateKey;
    otherKey = (await generateKeyPair('ES256')).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    idp = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(idp.address() as { port: number }).port}/.well-known/jwks.json`;
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-jwks-'));
    store = new SqliteStore({ path: join(dir, 'a.sqlite') });
    await store.insert([validEvent({ actor: { id: 'emp-7', type: 'user' } }), validEvent({ actor: { id: 'emp-8', type: 'user' } })]);
  });
  afterAll(async () => {
    idp.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const range = `${new Date(Date.now() - 86_400_000).toISOString()}&to=${new Date(Date.now() + 86_400_000).toISOString()}`;
  const sign = (claims: Record<string, unknown>, with_ = key, iss = 'https://idp.example', aud = 'otel-audit') =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(iss).setAudience(aud).setIssuedAt().setExpirationTime('5m').sign(with_);

  it('verifies ES256 tokens against the JWKS, checks issuer and audience, and reads renamed claims', async () => {
    const config = exportServiceConfigFromEnv({
      AUDIT_DATA_DIR: dir,
      AUDIT_JWKS_URL: jwksUrl,
      AUDIT_JWT_ISSUER: 'https://idp.example',
      AUDIT_JWT_AUDIENCE: 'otel-audit',
      AUDIT_JWT_CLAIMS: 'sub=employee_id, permissions=scopes',
    });
    const app = buildExportService({ store, auth: config.auth });
    const get = async (token: string) =>
      app.inject({ url: `/v1/events?scope=self&from=${range}&limit=10`, headers: { authorization: `Bearer ${token}` } });
    const ok = await get(await sign({ sub: 'ignored', employee_id: 'emp-7' }));
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().events.map((e: { actor: { id: string } }) => e.actor.id)).toEqual(['emp-7']);
    const all = await app.inject({
      url: `/v1/events?scope=all&from=${range}`,
      headers: { authorization: `Bearer ${await sign({ employee_id: 'emp-1', scopes: ['users:view', 'security-logs:view'] })}` },
    });
    expect(all.json().events).toHaveLength(2);
    for (const bad of [await sign({ employee_id: 'emp-7' }, otherKey), await sign({ employee_id: 'emp-7' }, key, 'https://evil.example'), await sign({ employee_id: 'emp-7' }, key, undefined, 'other-app')]) {
      expect((await get(bad)).statusCode).toBe(401);
    }
    await app.close();
  });

  it('fails fast on a malformed AUDIT_JWT_CLAIMS', () => {
    expect(() => exportServiceConfigFromEnv({ AUDIT_DATA_DIR: dir, AUDIT_JWT_CLAIMS: 'user=uid' })).toThrow(/AUDIT_JWT_CLAIMS: "user=uid"/);
  });

  it('refuses a provider token without exp or living past AUDIT_JWT_MAX_TTL_HOURS', async () => {
    const config = exportServiceConfigFromEnv({
      AUDIT_DATA_DIR: dir,
      AUDIT_JWKS_URL: jwksUrl,
      AUDIT_JWT_ISSUER: 'https://idp.example',
      AUDIT_JWT_AUDIENCE: 'otel-audit',
      AUDIT_JWT_MAX_TTL_HOURS: '2',
    });
    const app = buildExportService({ store, auth: config.auth });
    const token = (lifetime?: string) => {
      const jwt = new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject('emp-7').setIssuer('https://idp.example').setAudience('otel-audit').setIssuedAt();
      return (lifetime ? jwt.setExpirationTime(lifetime) : jwt).sign(key);
    };
    const me = async (jwt: string) => app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${jwt}` } });
    try {
      expect((await me(await token('2h'))).statusCode).toBe(200);
      const never = await me(await token());
      expect(never.statusCode).toBe(401);
      expect(never.json().error.message).toMatch(/no expiry/);
      const long = await me(await token('3h'));
      expect(long.statusCode).toBe(401);
      expect(long.json().error.message).toMatch(/longer than the 2-hour maximum/);
    } finally {
      await app.close();
    }
  });
});
