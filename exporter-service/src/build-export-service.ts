import { PassThrough, type Readable } from 'node:stream';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { EXPORT_COLUMNS, xmlSafeDeep, type AuditEvent, type ExportColumnKey } from '@otel-audit/contract';
import type { AuditLogger } from '@otel-audit/instrumentation';
import type { AuditStore, EventQuery } from '@otel-audit/store';
import { createAuthenticator, type AuthOptions } from './auth.js';
import { ExportError } from './errors.js';
import { backgroundExports, type BackgroundExportOptions } from './internal/background-exports.js';
import { EXPORT_AUDIT_DEFAULTS, LookMetrics, LookRecorder, createExportAuditLogger, endLookWhenClosed, lookSubject, type ExportAuditOptions } from './internal/look-recorder.js';
import {
  EVENT_QUERY_SCHEMA,
  mayViewAllUsers,
  parseEventQuery,
  scopeLabel,
  type EventQueryParams,
} from './internal/event-query.js';
import { EventCursorCodec, cursorKey, queryBinding } from './internal/event-cursor.js';
import { EXPORT_FORMAT_DEFAULTS, csvStream, isValidTimeZone, writeXlsx, type ExportFormat } from './internal/export-writers.js';
import { redactUrl, withRedactedUrls } from './internal/redacted-logger.js';
import { registerSecurityHeaders } from './internal/security-headers.js';
import { webViewer, type WebViewerOptions } from './internal/web-viewer.js';

export interface ExportServiceOptions {
  store: AuditStore;
  auth: AuthOptions;
  /**
   * Records every look at the log (`audit_log.search`; `audit_log.export` when an export
   * starts, `audit_log.export.end` when it ends) through the same pipeline as any other
   * audit event. A look proceeds only once its record is accepted (else 503
   * AUDIT_ERR_AUDIT_UNAVAILABLE). Either options, and the service builds the logger with
   * `service.name` AUDIT_LOG_SERVICE_NAME, its delivery failures logged and counted in
   * `/metrics`, and shuts it down on close; or a logger of yours, whose delivery is yours
   * to watch and close. Default: none (nothing is recorded).
   */
  audit?: AuditLogger | ExportAuditOptions;
  /** Window when the caller gives no `from`. Default: 30 days. */
  defaultWindowMs?: number;
  /** Longest `from`–`to` range. Default: 366 days. */
  maxRangeMs?: number;
  /** Largest streamed download; past it the client is told to use a background export. Default: 100 000 rows. */
  rowCap?: number;
  /** Largest JSON page. Default: 1000 (default page: 100). */
  maxPageSize?: number;
  logger?: FastifyServerOptions['logger'];
  /**
   * Signs the `/v1/events` page cursors (HMAC-SHA256, bound to the query); every replica
   * needs the same one. Default: derived from `jobs.linkSecret` under its own label; without
   * background exports, a random key per process (cursors then do not survive a restart).
   */
  cursorSecret?: string;
  /** Background exports (`POST /v1/exports`, signed download links). Default: off. */
  jobs?: BackgroundExportOptions;
  /** The web viewer at `/` (built assets, sign-in mode). Default: off. */
  viewer?: WebViewerOptions;
}

export const EXPORT_SERVICE_DEFAULTS = {
  defaultWindowMs: 30 * 24 * 3600 * 1000,
  maxRangeMs: 366 * 24 * 3600 * 1000,
  rowCap: 100_000,
  maxPageSize: 1000,
} as const;

export { ALL_USERS_PERMISSIONS, mayViewAllUsers } from './internal/event-query.js';

interface FormatParams {
  columns?: string;
  tz?: string;
  dateFormat?: string;
  delimiter?: string;
  bom?: string;
}

const FORMAT_SCHEMA = {
  columns: { type: 'string', maxLength: 500, description: `Comma-separated, in order: ${EXPORT_COLUMNS.map((c) => c.key).join(', ')}` },
  tz: { type: 'string', maxLength: 64, description: 'IANA time zone of the Date column; default UTC' },
  dateFormat: { type: 'string', maxLength: 32, description: '`iso` (ISO 8601, default) or `MM/DD/YYYY HH:mm:ss`' },
} as const;

const ERROR_SCHEMA = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } } },
} as const;

const ME_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: ['string', 'null'] },
    workspaces: { type: 'array', items: { type: 'string' }, description: 'Workspaces whose log you may see (scope=workspace)' },
    superAdmin: { type: 'boolean' },
    scopes: { type: 'array', items: { type: 'string', enum: ['self', 'workspace', 'user', 'all'] }, description: 'Scopes the routes will grant you' },
    backgroundExports: { type: 'boolean', description: 'Whether POST /v1/exports is available' },
    limits: {
      type: 'object',
      properties: {
        rowCap: { type: 'integer', description: 'Largest direct CSV/XLSX download' },
        maxPageSize: { type: 'integer' },
        defaultWindowDays: { type: 'number' },
        maxRangeDays: { type: 'number' },
      },
    },
  },
} as const;

export function buildExportService(opts: ExportServiceOptions): FastifyInstance {
  const o = { ...EXPORT_SERVICE_DEFAULTS, ...opts };
  const app = Fastify({ logger: withRedactedUrls(o.logger), ajv: { customOptions: { coerceTypes: false, removeAdditional: false } } });
  const authenticate = createAuthenticator(o.auth);
  const { store } = o;
  const limits = { defaultWindowMs: o.defaultWindowMs, maxRangeMs: o.maxRangeMs };
  const metrics = new LookMetrics();
  const ownAudit = o.audit && !isAuditLogger(o.audit) ? o.audit : undefined;
  const audit = ownAudit ? createExportAuditLogger(ownAudit, app.log, metrics) : (o.audit as AuditLogger | undefined);
  const looks = new LookRecorder(audit, app.log, metrics);
  if (ownAudit) {
    const timeoutMillis = ownAudit.closeTimeoutMillis ?? EXPORT_AUDIT_DEFAULTS.closeTimeoutMillis;
    app.addHook('onClose', async () => {
      // What is not acknowledged stays in the spool and goes out at the next start.
      await audit!.shutdown({ timeoutMillis }).catch((err: unknown) => app.log.warn({ err }, 'audit records of looks at the log not yet delivered; kept for the next start'));
    });
  }
  const cursors = new EventCursorCodec(cursorKey(o.cursorSecret ?? o.jobs?.linkSecret));

  // First: its onRoute hook must see every route, and its headers go on every answer.
  registerSecurityHeaders(app);
  app.register(swagger, {
    openapi: {
      info: { title: 'otel-audit export service', version: '0.1.0', description: 'Scoped audit-log search and CSV/XLSX exports' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
  });
  app.register(swaggerUi, { routePrefix: '/docs' });
  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
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
    reply.status(status).send({ error: { code, message: status >= 500 && !known ? 'internal error' : error.message } });
  });
  // Fastify's own 404 logs the raw URL: a mistyped signed link would put its signature in the log.
  app.setNotFoundHandler((request, reply) => {
    const route = `${request.method}:${redactUrl(request.raw.url ?? '')}`;
    request.log.info(`Route ${route} not found`);
    return reply.status(404).send({ message: `Route ${route} not found`, error: 'Not Found', statusCode: 404 });
  });

  // Routes in a plugin registered after swagger, so its onRoute hook sees every one of them.
  app.register(async (api) => {
    api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

    api.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

    api.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
      return metrics.render();
    });

    api.get(
      '/v1/me',
      {
        schema: {
          summary: 'Who the token says you are, and which scopes you may ask for (for the web viewer and other clients)',
          response: { 200: ME_SCHEMA, 401: ERROR_SCHEMA },
        },
      },
      async (request) => {
        const caller = await authenticate(request.headers.authorization);
        const everyone = mayViewAllUsers(caller);
        // The same rules as authorizeScope: a client may hide what this says is refused, the routes refuse it anyway.
        const scopes = ['self', ...(caller.workspaces.length > 0 || caller.superAdmin ? ['workspace'] : []), ...(everyone ? ['user', 'all'] : [])];
        return {
          id: caller.id,
          name: caller.name ?? null,
          workspaces: caller.workspaces,
          superAdmin: caller.superAdmin,
          scopes,
          backgroundExports: o.jobs !== undefined,
          limits: {
            rowCap: o.rowCap,
            maxPageSize: o.maxPageSize,
            defaultWindowDays: o.defaultWindowMs / 86_400_000,
            maxRangeDays: o.maxRangeMs / 86_400_000,
          },
        };
      },
    );

    const authorize = async (request: FastifyRequest<{ Querystring: EventQueryParams }>, order: 'asc' | 'desc') => {
      const caller = await authenticate(request.headers.authorization);
      return { caller, parsed: parseEventQuery(caller, request.query, limits, order) };
    };

    app.get<{ Querystring: EventQueryParams & { cursor?: string; limit?: string } }>(
      '/v1/events',
      {
        schema: {
          summary: 'Search events, newest first by default, a page at a time',
          querystring: {
            ...EVENT_QUERY_SCHEMA,
            properties: {
              ...EVENT_QUERY_SCHEMA.properties,
              cursor: { type: 'string', maxLength: 400, description: 'From the previous page' },
              limit: { type: 'string', pattern: '^[0-9]{1,5}$', description: 'Events per page; default 100' },
            },
          },
          response: {
            200: {
              type: 'object',
              properties: { events: { type: 'array', items: { type: 'object', additionalProperties: true } }, nextCursor: { type: ['string', 'null'] } },
            },
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
          },
        },
      },
      async (request) => {
        const { caller, parsed } = await authorize(request, 'desc');
        const limit = Math.min(Number(request.query.limit ?? 100) || 100, o.maxPageSize);
        const binding = queryBinding(parsed, request.query);
        const q: EventQuery = { ...parsed.query, after: cursors.decode(request.query.cursor, binding, parsed.query), limit };
        const events: AuditEvent[] = [];
        try {
          // An event stored before ingest cleaned text (or written around the collector)
          // may hold characters XML forbids; the answer carries the same text as the exports.
          for await (const e of store.query(q)) events.push(xmlSafeDeep(e));
        } catch (err) {
          request.log.error({ err }, 'store query failed');
          throw new ExportError('AUDIT_ERR_STORE_UNAVAILABLE');
        }
        const last = events.at(-1);
        // Before the rows leave: a page whose look cannot be recorded is not sent.
        looks.search(lookSubject(request, caller, parsed), events.length);
        return { events, nextCursor: events.length === limit && last ? cursors.encode({ time: last.time, id: last.id }, binding) : null };
      },
    );

    app.get<{ Querystring: EventQueryParams }>(
      '/v1/events/count',
      {
        schema: {
          summary: 'How many events match, with the same parameters as /v1/events (to choose a direct or a background export)',
          querystring: EVENT_QUERY_SCHEMA,
          response: { 200: { type: 'object', properties: { count: { type: 'integer' } } }, 400: ERROR_SCHEMA, 401: ERROR_SCHEMA, 403: ERROR_SCHEMA },
        },
      },
      async (request) => {
        // A number only, inside the caller's scope; not recorded as a look at the log (the rows are, when fetched).
        const { parsed } = await authorize(request, 'desc');
        try {
          return { count: await store.count(parsed.query) };
        } catch (err) {
          request.log.error({ err }, 'store count failed');
          throw new ExportError('AUDIT_ERR_STORE_UNAVAILABLE');
        }
      },
    );

    const download = (format: 'csv' | 'xlsx') =>
      async (request: FastifyRequest<{ Querystring: EventQueryParams & FormatParams }>, reply: FastifyReply) => {
        const { caller, parsed } = await authorize(request, 'asc');
        const fmt = parseFormat(request.query);
        let total: number;
        try {
          total = await store.count(parsed.query);
        } catch (err) {
          request.log.error({ err }, 'store count failed');
          throw new ExportError('AUDIT_ERR_STORE_UNAVAILABLE');
        }
        if (total > o.rowCap) {
          throw new ExportError(
            'AUDIT_ERR_EXPORT_TOO_LARGE',
            `${total} rows is over the ${o.rowCap}-row limit of a direct download; start a background export with POST /v1/exports`,
          );
        }
        // Recorded before the first byte (fail closed), ended whatever happens next.
        const look = looks.start(lookSubject(request, caller, parsed), { delivery: 'download', format, rowsMatching: total });
        let rows = 0;
        let failure: unknown;
        endLookWhenClosed(looks, look, request, reply, () => ({ rows, failure }));
        // A client that goes away stops the query (and closes the point in time).
        const abort = new AbortController();
        reply.raw.on('close', () => abort.abort());
        const events = store.query(parsed.query, abort.signal)[Symbol.asyncIterator]();
        // Pull the first event before any header goes out: a store that is down becomes a
        // clean 503, not a truncated download.
        let first: IteratorResult<AuditEvent>;
        try {
          first = await events.next();
        } catch (err) {
          failure = err;
          request.log.error({ err }, 'store query failed');
          throw new ExportError('AUDIT_ERR_STORE_UNAVAILABLE');
        }
        async function* counted() {
          for (let r = first; !r.done; r = await events.next()) {
            rows += 1;
            yield r.value;
          }
        }
        const name = `audit-log_${scopeLabel(parsed.scope)}_${parsed.query.from.toISOString().slice(0, 10)}_${parsed.query.to.toISOString().slice(0, 10)}.${format}`;
        reply.header('content-disposition', `attachment; filename="${name}"`);
        let body: Readable;
        if (format === 'csv') {
          reply.header('content-type', 'text/csv; charset=utf-8');
          body = csvStream(counted(), { ...fmt, delimiter: request.query.delimiter === ';' ? ';' : ',', bom: request.query.bom === 'true' || request.query.bom === '1' });
          // Before fastify's own listener: the failure is known when the response closes.
          body.on('error', (err) => {
            if (!abort.signal.aborted) failure ??= err;
          });
        } else {
          reply.header('content-type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
          const out = new PassThrough();
          writeXlsx(counted(), out, fmt).catch((err: unknown) => {
            if (!abort.signal.aborted) {
              failure ??= err;
              request.log.error({ err }, 'xlsx export failed');
            }
            out.destroy(err as Error);
          });
          body = out;
        }
        return reply.send(body);
      };

    const downloadSchema = (format: string) => ({
      summary: `Download the events as ${format.toUpperCase()} (up to the row limit; larger: POST /v1/exports)`,
      querystring: {
        ...EVENT_QUERY_SCHEMA,
        properties: {
          ...EVENT_QUERY_SCHEMA.properties,
          ...FORMAT_SCHEMA,
          ...(format === 'csv'
            ? {
                delimiter: { type: 'string', enum: [',', ';'], description: 'Default ,' },
                bom: { type: 'string', enum: ['true', 'false', '1', '0'], description: 'UTF-8 byte-order mark for Excel' },
              }
            : {}),
        },
      },
    });
    api.get('/v1/exports/events.csv', { schema: downloadSchema('csv') }, download('csv'));
    api.get('/v1/exports/events.xlsx', { schema: downloadSchema('xlsx') }, download('xlsx'));

    if (o.jobs) api.register(backgroundExports({ ...o.jobs, events: store, authenticate, limits, parseFormat, looks }));
  });
  if (o.viewer) app.register(webViewer(o.viewer));

  return app;
}

function isAuditLogger(a: AuditLogger | ExportAuditOptions): a is AuditLogger {
  return typeof (a as Partial<AuditLogger>).record === 'function';
}

function parseFormat(p: FormatParams): ExportFormat {
  const keys = EXPORT_FORMAT_DEFAULTS.columns;
  const columns = p.columns ? p.columns.split(',').map((c) => c.trim()).filter(Boolean) : keys;
  // `columns=,,,` names none: a file without columns is a mistake, not a request.
  if (columns.length === 0) throw new ExportError('AUDIT_ERR_INVALID_QUERY', `columns: name at least one column; known: ${keys.join(', ')}`);
  const unknown = columns.find((c) => !keys.includes(c as ExportColumnKey));
  if (unknown !== undefined) {
    throw new ExportError('AUDIT_ERR_INVALID_QUERY', `columns: unknown column ${JSON.stringify(unknown)}; known: ${keys.join(', ')}`);
  }
  const timeZone = p.tz || EXPORT_FORMAT_DEFAULTS.timeZone;
  if (!isValidTimeZone(timeZone)) throw new ExportError('AUDIT_ERR_INVALID_QUERY', `tz must be an IANA time zone, got ${JSON.stringify(timeZone)}`);
  const df = (p.dateFormat ?? EXPORT_FORMAT_DEFAULTS.dateFormat).toLowerCase();
  const dateFormat = df === 'iso' ? 'iso' : df === 'us' || df === 'mm/dd/yyyy hh:mm:ss' ? 'us' : undefined;
  if (!dateFormat) throw new ExportError('AUDIT_ERR_INVALID_QUERY', `dateFormat must be iso or MM/DD/YYYY HH:mm:ss, got ${JSON.stringify(p.dateFormat)}`);
  return { columns: [...new Set(columns)] as ExportColumnKey[], timeZone, dateFormat };
}
