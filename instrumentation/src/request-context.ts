import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { ConfigError } from '@otel-audit/contract';

/** What a request contributes to every event recorded while it is handled. */
export interface AuditRequestContext {
  client?: { ip?: string; userAgent?: string };
  sessionId?: string;
  /** The HTTP request's id, recorded as `correlationId` to join with application logs. */
  requestId?: string;
}

const storage = new AsyncLocalStorage<AuditRequestContext>();

/** Runs `fn` with `context` filled into every `record()` it makes, however deep and async. */
export function runWithAuditContext<T>(context: AuditRequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentAuditContext(): AuditRequestContext | undefined {
  return storage.getStore();
}

export interface AuditContextOptions {
  /**
   * Proxies whose `X-Forwarded-For` is believed: addresses or CIDR ranges
   * (`10.0.0.0/8`, `::1`). Default: none — the socket's peer is the client, because a
   * header from anyone else can be forged by anyone.
   */
  trustedProxies?: string[];
  /** Reads the session id. Default: the `X-Session-Id` header, if any. */
  sessionId?: (req: IncomingMessage) => string | undefined;
  /** Reads the request id. Default: `X-Request-Id`, else a random UUID. */
  requestId?: (req: IncomingMessage) => string | undefined;
}

/** Builds the context of one HTTP request. Exported for frameworks other than Fastify and Express. */
export function contextFromRequest(req: IncomingMessage, opts: AuditContextOptions = {}): AuditRequestContext {
  const trusted = trustList(opts.trustedProxies ?? []);
  const ip = clientIp(req.socket.remoteAddress, header(req, 'x-forwarded-for'), trusted);
  const userAgent = header(req, 'user-agent');
  const sessionId = (opts.sessionId ?? ((r) => header(r, 'x-session-id')))(req);
  const requestId = (opts.requestId ?? ((r) => header(r, 'x-request-id')))(req) ?? randomUUID();
  return {
    client: { ...(ip ? { ip } : {}), ...(userAgent ? { userAgent } : {}) },
    ...(sessionId ? { sessionId } : {}),
    requestId,
  };
}

/** Express / Connect / plain `http` middleware. */
export function auditContextMiddleware(opts: AuditContextOptions = {}) {
  return (req: IncomingMessage, _res: ServerResponse, next: (err?: unknown) => void): void => {
    storage.run(contextFromRequest(req, opts), next);
  };
}

interface FastifyLike {
  addHook(name: 'preHandler', hook: (request: FastifyRequestLike, reply: unknown, done: () => void) => void): unknown;
}
interface FastifyRequestLike {
  raw: IncomingMessage;
  id?: unknown;
}

/**
 * A Fastify plugin: `app.register(auditContextPlugin, { trustedProxies })`. Written
 * against Fastify's plugin contract without importing Fastify, so the instrumentation
 * installs no server framework. The hook is `preHandler`, after body parsing: a context
 * entered before an async boundary in Fastify's lifecycle would not reach the handler.
 */
export function auditContextPlugin(fastify: FastifyLike, opts: AuditContextOptions, done: (err?: Error) => void): void {
  fastify.addHook('preHandler', (request, _reply, next) => {
    const fromFastify = typeof request.id === 'string' ? request.id : undefined;
    const context = contextFromRequest(request.raw, { requestId: () => header(request.raw, 'x-request-id') ?? fromFastify, ...opts });
    storage.run(context, next);
  });
  done();
}
// fastify-plugin's contract, by symbol: apply the hook to the whole app, not an encapsulated child.
Object.assign(auditContextPlugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: '@otel-audit/instrumentation',
});

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  const first = Array.isArray(value) ? value.join(',') : value;
  return first?.trim() || undefined;
}

function trustList(entries: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [addr, bits] = entry.split('/');
    const family = isIP(addr ?? '') === 6 ? 'ipv6' : 'ipv4';
    if (!isIP(addr ?? '')) throw new ConfigError('trustedProxies', `trustedProxies: ${JSON.stringify(entry)} is not an IP address or CIDR range`, { value: entry });
    if (bits === undefined) list.addAddress(addr!, family);
    else list.addSubnet(addr!, Number(bits), family);
  }
  return list;
}

function isTrusted(list: BlockList, ip: string): boolean {
  const family = isIP(ip);
  return family !== 0 && list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The client is the nearest address that is not a trusted proxy: walk from the socket
 * peer back through X-Forwarded-For (right to left) while each hop is trusted.
 */
export function clientIp(peer: string | undefined, forwardedFor: string | undefined, trusted: BlockList): string | undefined {
  let ip = normalize(peer);
  if (!ip || !isTrusted(trusted, ip) || !forwardedFor) return ip;
  const hops = forwardedFor.split(',').map((h) => normalize(h.trim())).filter((h): h is string => Boolean(h));
  for (let i = hops.length - 1; i >= 0; i--) {
    ip = hops[i]!;
    if (!isTrusted(trusted, ip)) return ip;
  }
  return ip;
}

/** `::ffff:10.0.0.1` (IPv4 on a dual-stack socket) is reported as `10.0.0.1`. */
function normalize(ip: string | undefined): string | undefined {
  if (!ip) return undefined;
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}
