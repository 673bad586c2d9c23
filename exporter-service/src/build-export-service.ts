import { pipeline, Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { stringify } from 'csv-stringify';
import { EXPORT_COLUMNS, exportRow, type AuditEvent } from '@otel-audit/contract';
import type { AuditStore } from '@otel-audit/store';
import { createAuthenticator, type AuthOptions, type Caller } from './auth.js';
import { ExportError } from './errors.js';
import { neutralizeFormula } from './internal/csv-safety.js';

export interface ExportServiceOptions {
  store: AuditStore;
  auth: AuthOptions;
  /** Window when the caller gives no `from`. Default: 30 days. */
  defaultWindowMs?: number;
  logger?: FastifyServerOptions['logger'];
}

export const EXPORT_SERVICE_DEFAULTS = { defaultWindowMs: 30 * 24 * 3600 * 1000 } as const;

/** The ProcessMaker rule for every user's security log: both permissions, or super admin. */
export const ALL_USERS_PERMISSIONS = ['users:view', 'security-logs:view'] as const;

export function mayViewAllUsers(caller: Caller): boolean {
  return caller.superAdmin || ALL_USERS_PERMISSIONS.every((p) => caller.permissions.includes(p));
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

function parseInstant(name: string, raw: string | undefined, fallback: Date): Date {
  if (raw === undefined || raw === '') return fallback;
  const t = ISO_8601.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(t)) throw new ExportError('AUDIT_ERR_INVALID_QUERY', `${name} must be an ISO 8601 date or time, got ${JSON.stringify(raw)}`);
  return new Date(t);
}

export function buildExportService(opts: ExportServiceOptions): FastifyInstance {
  const o = { ...EXPORT_SERVICE_DEFAULTS, ...opts };
  const app = Fastify({ logger: o.logger ?? false });
  const authenticate = createAuthenticator(o.auth);
  const { store } = o;

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get<{ Querystring: { from?: string; to?: string } }>('/v1/exports/events.csv', async (request, reply) => {
    const caller = await authenticate(request.headers.authorization);
    if (!mayViewAllUsers(caller)) throw new ExportError('AUDIT_ERR_SCOPE_FORBIDDEN');
    const to = parseInstant('to', request.query.to, new Date());
    const from = parseInstant('from', request.query.from, new Date(to.getTime() - o.defaultWindowMs));
    if (from >= to) throw new ExportError('AUDIT_ERR_INVALID_QUERY', '`from` must be before `to`');

    // A client that goes away stops the query (and closes the point in time).
    const abort = new AbortController();
    reply.raw.on('close', () => abort.abort());
    const events = store.query({ from, to }, abort.signal)[Symbol.asyncIterator]();
    // Pull the first event before any header goes out: a store that is down becomes a
    // clean 503, not a truncated download.
    let first: IteratorResult<AuditEvent>;
    try {
      first = await events.next();
    } catch (err) {
      request.log.error({ err }, 'store query failed');
      throw new ExportError('AUDIT_ERR_STORE_UNAVAILABLE');
    }
    async function* rows() {
      for (let r = first; !r.done; r = await events.next()) yield exportRow(r.value).map(neutralizeFormula);
    }
    const csv = stringify({ header: true, columns: EXPORT_COLUMNS.map((c) => (c.key === 'date' ? 'Date (UTC)' : c.header)) });
    const body = pipeline(Readable.from(rows()), csv, (err) => {
      if (err && !abort.signal.aborted) request.log.error({ err }, 'export stream failed');
    });
    const range = `${from.toISOString().slice(0, 10)}_${to.toISOString().slice(0, 10)}`;
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="audit-log_all-users_${range}.csv"`)
      .send(body);
  });

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const known = error instanceof ExportError ? error : undefined;
    const status = known?.statusCode ?? (error.statusCode && error.statusCode < 500 ? error.statusCode : 500);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    if (status === 503) reply.header('retry-after', '5');
    reply.status(status).send({
      error: {
        code: known?.code ?? (status < 500 ? 'AUDIT_ERR_INVALID_QUERY' : 'AUDIT_ERR_INTERNAL'),
        message: status >= 500 && !known ? 'internal error' : error.message,
      },
    });
  });

  return app;
}
