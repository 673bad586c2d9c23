import { createServer } from 'node:http';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isReservedAction, type AuditEvent } from '@otel-audit/contract';
import {
  AUDIT_ACTIONS,
  REDACTED,
  auditContextMiddleware,
  auditContextPlugin,
  createAuditLogger,
  type AuditLogger,
  type KnownAuditAction,
} from '@otel-audit/instrumentation';
import { startSqliteCollector, type SqliteCollector } from '../../test/support/sqlite-collector.js';

let collector: SqliteCollector;
let audit: AuditLogger;

beforeAll(async () => {
  collector = await startSqliteCollector();
  audit = createAuditLogger({ serviceName: 'context-app', endpoint: collector.url, scheduledDelayMillis: 20 });
});
afterAll(async () => {
  await audit.shutdown();
  await collector.close();
});

async function stored(id: string): Promise<AuditEvent> {
  await audit.flush();
  for await (const e of collector.store.query({ from: new Date(0), to: new Date(Date.now() + 3_600_000) })) if (e.id === id) return e;
  throw new Error(`event ${id} not stored`);
}

const actor = { id: 'u-alice', name: 'Alice', type: 'user' as const };

describe('request context', () => {
  it('Fastify plugin: fills client, session and request id; X-Forwarded-For only from trusted proxies', async () => {
    for (const [trustedProxies, expectedIp] of [
      // 10.0.0.5 is not trusted, so it is the client when the socket peer (127.0.0.1) is.
      [['127.0.0.0/8'], '10.0.0.5'],
      [[], '127.0.0.1'],
    ] as const) {
      const app = Fastify();
      await app.register(auditContextPlugin, { trustedProxies: [...trustedProxies] });
      app.post('/logout', async () => ({ id: audit.record({ action: 'auth.logout', actor }) }));
      const res = await app.inject({
        method: 'POST',
        url: '/logout',
        payload: { a: 1 },
        headers: { 'x-forwarded-for': '198.51.100.23, 10.0.0.5', 'user-agent': 'UA/1.0', 'x-session-id': 's-42', 'x-request-id': 'req-9' },
      });
      const event = await stored(res.json().id);
      expect(event.client).toEqual({ ip: expectedIp, userAgent: 'UA/1.0' });
      expect(event.sessionId).toBe('s-42');
      expect(event.correlationId).toBe('req-9');
      await app.close();
    }
  });

  it('walks X-Forwarded-For past every trusted hop', async () => {
    const app = Fastify();
    await app.register(auditContextPlugin, { trustedProxies: ['127.0.0.1', '10.0.0.0/8'] });
    app.get('/x', async () => ({ id: audit.record({ action: 'platform.search', actor }) }));
    const res = await app.inject({ url: '/x', headers: { 'x-forwarded-for': '203.0.113.9, 10.1.2.3' } });
    const event = await stored(res.json().id);
    expect(event.client?.ip).toBe('203.0.113.9');
    // Fastify's own request id is the correlation id when no header gives one.
    expect(event.correlationId).toMatch(/^req-/);
    await app.close();
  });

  it('Express-style middleware on a plain http server keeps the context across awaits', async () => {
    const middleware = auditContextMiddleware();
    const server = createServer((req, res) =>
      middleware(req, res, async () => {
        await new Promise((r) => setTimeout(r, 5));
        const id = audit.record({ action: 'auth.login', actor, outcome: 'failure', reason: 'wrong password' });
        res.end(id);
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const id = await (await fetch(`http://127.0.0.1:${port}/login`, { headers: { 'user-agent': 'curl/8', 'x-forwarded-for': '1.2.3.4' } })).text();
    server.close();
    const event = await stored(id);
    expect(event.client).toEqual({ ip: '127.0.0.1', userAgent: 'curl/8' });
    expect(event.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('explicit fields win over the context', async () => {
    const app = Fastify();
    await app.register(auditContextPlugin);
    app.get('/x', async () => ({ id: audit.record({ action: 'auth.login', actor, client: { ip: '192.0.2.1' }, sessionId: 'mine' }) }));
    const event = await stored((await app.inject({ url: '/x', headers: { 'user-agent': 'UA' } })).json().id);
    expect(event.client).toEqual({ ip: '192.0.2.1', userAgent: 'UA' });
    expect(event.sessionId).toBe('mine');
    await app.close();
  });
});

describe('secrets never leave the process', () => {
  it('redacts values of secret-looking changes and metadata, keeps the field names', async () => {
    const id = audit.record({
      action: 'user.update',
      actor,
      resource: { type: 'user', id: 'u-bob' },
      changes: [
        { field: 'password', from: 'hunter2', to: 'correct horse' },
        { field: 'email', from: 'a@example.com', to: 'b@example.com' },
        { field: 'api_key', to: 'sk_live_123' },
      ],
      metadata: { clientSecret: 'abc', plan: 'pro' },
    });
    const event = await stored(id);
    expect(event.changes).toEqual([
      { field: 'password', from: REDACTED, to: REDACTED },
      { field: 'email', from: 'a@example.com', to: 'b@example.com' },
      { field: 'api_key', to: REDACTED },
    ]);
    expect(event.metadata).toEqual({ clientSecret: REDACTED, plan: 'pro' });
    expect(JSON.stringify(event)).not.toMatch(/hunter2|correct horse|sk_live_123|"abc"/);
  });
});

describe('the action catalogue through the real pipeline', () => {
  it('every catalogue action round-trips with its category and default message', async () => {
    // audit_log.* is the export service's alone: the collector refuses it from context-app
    // (collector/test/collector-sender-actions.test.ts); look-records.test.ts stores it.
    const actions = (Object.keys(AUDIT_ACTIONS) as KnownAuditAction[]).filter((a) => !isReservedAction(a));
    expect(actions.length).toBeGreaterThan(100);
    const ids = new Map(actions.map((action) => [audit.record({ action, actor, request: { id: 'r-2', parentId: 'r-1' } }), action]));
    await audit.flush();
    const seen = new Map<string, AuditEvent>();
    for await (const e of collector.store.query({ from: new Date(0), to: new Date(Date.now() + 3_600_000) })) if (ids.has(e.id)) seen.set(e.id, e);
    expect(seen.size).toBe(actions.length);
    for (const [id, action] of ids) {
      const e = seen.get(id)!;
      expect(e.action).toBe(action);
      expect(e.category).toBe(AUDIT_ACTIONS[action].category);
      expect(e.message).toBe(AUDIT_ACTIONS[action].message);
      expect(e.request).toEqual({ id: 'r-2', parentId: 'r-1' });
      expect(e.service?.name).toBe('context-app');
    }
  });

  it('a failure gets a default message that says so', async () => {
    const event = await stored(audit.record({ action: 'auth.login', outcome: 'failure', reason: 'locked', actor }));
    expect(event.message).toBe('Logged on (failed)');
  });

  it('an action outside the catalogue needs its category', () => {
    expect(() => audit.record({ action: 'widget.frobnicate', actor })).toThrow(/category: is required/);
    expect(audit.record({ action: 'widget.frobnicate', category: 'data', actor })).toMatch(/^[0-9a-f-]{36}$/);
  });
});
