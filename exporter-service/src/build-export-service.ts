import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { optionError, positiveIntegerOptions } from '@otel-audit/contract';
import type { AuditLogger } from '@otel-audit/instrumentation';
import type { AuditStore } from '@otel-audit/store';
import { createAuthenticator, type AuthOptions } from './auth.js';
import { backgroundExports, type BackgroundExportOptions } from './internal/background-exports.js';
import { registerDownloadRoutes } from './internal/download-routes.js';
import { clientErrorHandler, registerErrorHandling } from './internal/error-handling.js';
import { EventCursorCodec, cursorKey } from './internal/event-cursor.js';
import { registerEventRoutes, type EventRoutesContext } from './internal/event-routes.js';
import { parseFormat } from './internal/format-params.js';
import { EXPORT_AUDIT_DEFAULTS, LookMetrics, LookRecorder, createExportAuditLogger, type ExportAuditOptions } from './internal/look-recorder.js';
import { SWAGGER_OPTIONS } from './internal/openapi-document.js';
import { withRedactedUrls } from './internal/redacted-logger.js';
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
  audit?: AuditLogger | ExportAuditOptions | undefined;
  /** Window when the caller gives no `from`. Default: 30 days. */
  defaultWindowMs?: number | undefined;
  /** Longest `from`–`to` range. Default: 366 days. */
  maxRangeMs?: number | undefined;
  /** Largest streamed download; past it the client is told to use a background export. Default: 100 000 rows. */
  rowCap?: number | undefined;
  /** Largest JSON page. Default: 1000 (default page: 100). */
  maxPageSize?: number | undefined;
  logger?: FastifyServerOptions['logger'];
  /**
   * Signs the `/v1/events` page cursors (HMAC-SHA256, bound to the query); every replica
   * needs the same one. Default: derived from `jobs.linkSecret` under its own label; without
   * background exports, a random key per process (cursors then do not survive a restart).
   */
  cursorSecret?: string | undefined;
  /** Background exports (`POST /v1/exports`, signed download links). Default: off. */
  jobs?: BackgroundExportOptions | undefined;
  /** The web viewer at `/` (built assets, sign-in mode). Default: off. */
  viewer?: WebViewerOptions | undefined;
}

export const EXPORT_SERVICE_DEFAULTS = Object.freeze({
  defaultWindowMs: 30 * 24 * 3600 * 1000,
  maxRangeMs: 366 * 24 * 3600 * 1000,
  rowCap: 100_000,
  maxPageSize: 1000,
} as const);

export { ALL_USERS_PERMISSIONS, mayViewAllUsers } from './internal/event-query.js';

type ExportServiceSettings = Readonly<Omit<ExportServiceOptions, keyof typeof EXPORT_SERVICE_DEFAULTS> & { -readonly [K in keyof typeof EXPORT_SERVICE_DEFAULTS]: number }>;

/** The one place the defaults apply: every default is a limit, a positive integer. The result is frozen. */
export function exportServiceSettings(opts: ExportServiceOptions): ExportServiceSettings {
  const D = EXPORT_SERVICE_DEFAULTS;
  const limits = positiveIntegerOptions('buildExportService', opts, D, Object.keys(D) as (keyof typeof D)[]);
  if (!opts.store) throw optionError('buildExportService', 'store', opts.store, 'an AuditStore (it is required)');
  if (!opts.auth) throw optionError('buildExportService', 'auth', opts.auth, 'the token settings (it is required)');
  return Object.freeze({ ...opts, ...limits });
}

export function buildExportService(opts: ExportServiceOptions): FastifyInstance {
  const o = exportServiceSettings(opts);
  const app = Fastify({
    logger: withRedactedUrls(o.logger),
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    clientErrorHandler,
  });
  const metrics = new LookMetrics();
  const ownAudit = o.audit && !isAuditLogger(o.audit) ? o.audit : undefined;
  const audit = ownAudit ? createExportAuditLogger(ownAudit, app.log, metrics) : (o.audit as AuditLogger | undefined);
  if (ownAudit) {
    const timeoutMillis = ownAudit.closeTimeoutMillis ?? EXPORT_AUDIT_DEFAULTS.closeTimeoutMillis;
    app.addHook('onClose', async () => {
      // What is not acknowledged stays in the spool and goes out at the next start.
      await audit!.shutdown({ timeoutMillis }).catch((err: unknown) => app.log.warn({ err }, 'audit records of looks at the log not yet delivered; kept for the next start'));
    });
  }
  const ctx: EventRoutesContext = {
    store: o.store,
    authenticate: createAuthenticator(o.auth),
    limits: { defaultWindowMs: o.defaultWindowMs, maxRangeMs: o.maxRangeMs },
    looks: new LookRecorder(audit, app.log, metrics),
    cursors: new EventCursorCodec(cursorKey(o.cursorSecret ?? o.jobs?.linkSecret)),
    rowCap: o.rowCap,
    maxPageSize: o.maxPageSize,
    backgroundExports: o.jobs !== undefined,
  };

  // First: their onRoute hooks must see every route, and the headers go on every answer.
  registerSecurityHeaders(app);
  registerErrorHandling(app);
  app.register(swagger, SWAGGER_OPTIONS);
  app.register(swaggerUi, { routePrefix: '/docs' });

  // Routes in a plugin registered after swagger, so its onRoute hook sees every one of them.
  app.register(async (api) => {
    api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    api.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
    api.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
      return metrics.render();
    });
    registerEventRoutes(api, ctx);
    registerDownloadRoutes(api, ctx);
    if (o.jobs) api.register(backgroundExports({ ...o.jobs, events: o.store, authenticate: ctx.authenticate, limits: ctx.limits, parseFormat, looks: ctx.looks }));
  });
  if (o.viewer) app.register(webViewer(o.viewer));

  return app;
}

function isAuditLogger(a: AuditLogger | ExportAuditOptions): a is AuditLogger {
  return typeof (a as Partial<AuditLogger>).record === 'function';
}
