// A small Fastify app that records its security events with @otel-audit/instrumentation.
//
//   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 node examples/fastify-app.mjs          # serve on :3000
//   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 node examples/fastify-app.mjs --demo   # drive it once, fill the log, exit
import { randomBytes, randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { auditContextPlugin, createAuditLogger } from '@otel-audit/instrumentation';

const USERS = new Map([
  ['alice', { id: 'u-alice', name: 'Alice Martin', email: 'alice@example.com', password: 'wonderland', roles: ['admin'] }],
  ['bob', { id: 'u-bob', name: 'Bob Nguyen', email: 'bob@example.com', password: 'builder', roles: ['member'] }],
]);
const WORKSPACE = { id: 'acme', name: 'Acme Manufacturing' };

export function buildApp({ audit, trustedProxies = [] }) {
  const app = Fastify();
  const sessions = new Map();
  const tokens = new Map();
  app.register(auditContextPlugin, { trustedProxies });
  app.get('/healthz', async () => ({ status: 'ok' }));

  const actorOf = (user) => ({ id: user.id, name: user.name, type: 'user', email: user.email, roles: user.roles });
  const session = (request) => sessions.get(request.headers['x-session-id']);
  const requireUser = (request, reply) => {
    const user = session(request);
    if (!user) reply.code(401).send({ error: 'sign in first' });
    return user;
  };

  app.post('/login', async (request, reply) => {
    const { username = '', password = '' } = request.body ?? {};
    const user = USERS.get(username);
    if (!user || user.password !== password) {
      // A failed log on names who it claimed to be; never the password tried.
      audit.record({ action: 'auth.login', outcome: 'failure', reason: 'invalid credentials', actor: { id: username || 'unknown', type: 'user' }, workspace: WORKSPACE });
      return reply.code(401).send({ error: 'invalid credentials' });
    }
    const sessionId = randomUUID();
    sessions.set(sessionId, user);
    audit.record({ action: 'auth.login', actor: actorOf(user), workspace: WORKSPACE, sessionId });
    return { sessionId };
  });

  app.post('/logout', async (request, reply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    sessions.delete(request.headers['x-session-id']);
    audit.record({ action: 'auth.logout', actor: actorOf(user), workspace: WORKSPACE, sessionId: request.headers['x-session-id'] });
    return { ok: true };
  });

  app.patch('/profile', async (request, reply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    const changes = Object.entries(request.body ?? {})
      .filter(([field]) => ['name', 'email', 'password'].includes(field))
      .map(([field, to]) => ({ field, from: user[field], to }));
    for (const { field, to } of changes) user[field] = to;
    audit.record({
      action: 'user.update',
      actor: actorOf(user),
      workspace: WORKSPACE,
      resource: { type: 'user', id: user.id, name: user.name, href: `https://app.example/users/${user.id}` },
      changes, // a `password` change is recorded as [REDACTED] by the instrumentation
      message: `Updated profile: ${changes.map((c) => c.field).join(', ')}`,
    });
    return { ok: true };
  });

  app.post('/api-tokens', async (request, reply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    const id = `tok-${randomBytes(4).toString('hex')}`;
    const value = `sk_${randomBytes(24).toString('base64url')}`;
    const name = request.body?.name ?? 'unnamed';
    tokens.set(id, { name, owner: user.id });
    // The token's id and name are audited; its value goes to the caller only.
    audit.record({ action: 'api_token.create', actor: actorOf(user), workspace: WORKSPACE, resource: { type: 'api_token', id, name } });
    return { id, name, value };
  });

  app.delete('/api-tokens/:id', async (request, reply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    const token = tokens.get(request.params.id);
    if (!token) return reply.code(404).send({ error: 'no such token' });
    tokens.delete(request.params.id);
    audit.record({ action: 'api_token.delete', actor: actorOf(user), workspace: WORKSPACE, resource: { type: 'api_token', id: request.params.id, name: token.name } });
    return { ok: true };
  });

  app.get('/search', async (request, reply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    const q = String(request.query.q ?? '');
    audit.record({ action: 'platform.search', actor: actorOf(user), workspace: WORKSPACE, metadata: { query: q.slice(0, 500) }, message: `Searched for "${q.slice(0, 80)}"` });
    return { results: [] };
  });

  return app;
}

/** One realistic session: a failed log on, then everything the app audits. Returns the token value it was given. */
export async function runDemo(app) {
  const call = async (method, url, { body, session, ip = '203.0.113.7' } = {}) => {
    const res = await app.inject({
      method,
      url,
      payload: body,
      headers: { 'user-agent': 'Mozilla/5.0 (demo)', 'x-forwarded-for': ip, ...(session ? { 'x-session-id': session } : {}) },
    });
    return res.json();
  };
  await call('POST', '/login', { body: { username: 'alice', password: 'wrong' }, ip: '198.51.100.66' });
  const { sessionId } = await call('POST', '/login', { body: { username: 'alice', password: 'wonderland' } });
  await call('PATCH', '/profile', { body: { email: 'alice.martin@example.com', password: 'new-secret' }, session: sessionId });
  const token = await call('POST', '/api-tokens', { body: { name: 'CI deploy token' }, session: sessionId });
  await call('GET', '/search?q=risk%20assessment', { session: sessionId });
  await call('DELETE', `/api-tokens/${token.id}`, { session: sessionId });
  await call('POST', '/logout', { session: sessionId });
  return token.value;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const audit = createAuditLogger({ serviceName: 'example-fastify-app' });
  // Demo traffic comes through a local proxy that reports the client address.
  const app = buildApp({ audit, trustedProxies: ['127.0.0.1'] });
  if (process.argv.includes('--demo')) {
    await runDemo(app);
    await app.close();
    await audit.shutdown();
    console.log(`recorded ${audit.stats().acknowledged} audit events`);
  } else {
    const stop = async () => {
      await app.close();
      await audit.shutdown();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 3000) });
    console.log(`example app on http://127.0.0.1:${app.server.address().port}`);
  }
}
