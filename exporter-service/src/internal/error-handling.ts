import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EXPORT_ERRORS, ExportError } from '../errors.js';
import { redactUrl } from './redacted-logger.js';

/** Every path the service routes, with the methods it takes there: 405 and `Allow` come from it. */
class RouteMethods {
  readonly #byPattern = new Map<string, { match: RegExp; methods: Set<string> }>();

  add(url: string, methods: string | string[]): void {
    let entry = this.#byPattern.get(url);
    if (!entry) {
      // find-my-way's syntax, as the service uses it: `:name` is one segment, `*` the rest.
      const source = url
        .split(/(:[A-Za-z0-9_]+|\*)/)
        .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('');
      entry = { match: new RegExp(`^${source}$`), methods: new Set() };
      this.#byPattern.set(url, entry);
    }
    for (const m of [methods].flat()) entry.methods.add(m.toUpperCase());
  }

  /** The methods `path` takes, or none when no route has that path. */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const { match, methods: m } of this.#byPattern.values()) if (match.test(path)) for (const method of m) methods.add(method);
    return [...methods].sort();
  }
}

/**
 * The error handler, and the answers to a request no route takes: 405 with `Allow` where the
 * path exists with other methods (HTTP's rule, RFC 9110 §15.5.6), 404 otherwise. Call before
 * any route is registered: the route hook must see every one.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  const routes = new RouteMethods();
  app.addHook('onRoute', (route) => routes.add(route.url ?? route.path, route.method));

  const notRouted = (request: FastifyRequest, reply: FastifyReply) => {
    const path = (request.raw.url ?? '/').split('?')[0]!;
    const allowed = routes.allowed(path);
    // A route that takes this method and found nothing (a missing static file) is a 404.
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      reply.header('allow', allowed.join(', '));
      return reply.status(405).send({ error: { code: 'AUDIT_ERR_METHOD_NOT_ALLOWED', message: `${request.method} is not allowed on ${redactUrl(path)}; allowed: ${allowed.join(', ')}` } });
    }
    // Fastify's own 404 logs the raw URL: a mistyped signed link would put its signature in the log.
    const route = `${request.method}:${redactUrl(request.raw.url ?? '')}`;
    request.log.info(`Route ${route} not found`);
    // The same error body as every other answer (docs/http-api.md), not Fastify's own shape.
    return reply.status(404).send({ error: { code: 'AUDIT_ERR_ROUTE_NOT_FOUND', message: `Route ${route} not found` } });
  };
  app.setNotFoundHandler(notRouted);

  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
    // An unrouted request can fail before the not-found handler runs (a body method without a
    // content type): the answer is still the route's absence, not the body's fault.
    if (request.is404) return notRouted(request, reply);
    const known = error instanceof ExportError ? error : undefined;
    let status = known?.statusCode ?? (error.statusCode && error.statusCode < 500 ? error.statusCode : 500);
    let code: string = known?.code ?? (status < 500 ? 'AUDIT_ERR_INVALID_QUERY' : 'AUDIT_ERR_INTERNAL');
    if (error.validation) {
      status = 400;
      code = 'AUDIT_ERR_INVALID_QUERY';
    }
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    if (status === 503) reply.header('retry-after', '5');
    // Never a store's own error text: it could describe data outside the caller's scope.
    return reply.status(status).send({ error: { code, message: status >= 500 && !known ? 'internal error' : error.message } });
  });
}

/**
 * Fastify's `clientErrorHandler`: the answer to a request Node's HTTP parser refused before any
 * route or hook ran (over 16 KiB of request line and headers: 431; not HTTP: 400), in the
 * service's one error body instead of Fastify's own, so the OpenAPI document can state it.
 * A timed-out or reset connection gets nothing: there is no one to answer.
 */
export function clientErrorHandler(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || socket.destroyed) {
    socket.destroy();
    return;
  }
  const code = err.code === 'HPE_HEADER_OVERFLOW' ? 'AUDIT_ERR_REQUEST_TOO_LARGE' : 'AUDIT_ERR_MALFORMED_REQUEST';
  const { status, message } = EXPORT_ERRORS[code];
  const body = JSON.stringify({ error: { code, message } });
  this.log.debug({ code: err.code }, 'client error');
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }
  socket.destroy();
}
