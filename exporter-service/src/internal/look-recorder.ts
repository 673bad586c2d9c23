import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { AUDIT_LOG_SERVICE_NAME } from '@otel-audit/contract';
import { createAuditLogger, type AuditLogger, type AuditLoggerOptions, type DeliveryStats, type SpoolOptions } from '@otel-audit/instrumentation';
import type { Caller } from '../auth.js';
import { ExportError } from '../errors.js';
import { scopeLabel, type ParsedEventQuery, type Scope } from './event-query.js';

/**
 * The export service's own audit logger, built by the service so that its delivery
 * failures reach the service's log and `/metrics`. `service.name` is always
 * `AUDIT_LOG_SERVICE_NAME`, the one sender the collector lets write `audit_log.*`.
 */
export interface ExportAuditOptions extends Omit<AuditLoggerOptions, 'serviceName' | 'loggerProvider' | 'onDeliveryError' | 'spool'> {
  /**
   * The collector's sender token for `AUDIT_LOG_SERVICE_NAME`, sent as
   * `Authorization: Bearer`. Default: none (a collector without sender tokens).
   */
  senderToken?: string | undefined;
  /**
   * Disk spool of the records not yet acknowledged by the collector. Its `fsync`
   * defaults to `always` here: a look is answered only once its record is on disk, and
   * that promise must survive a power cut. Default: none (memory; lost with the process).
   */
  spool?: SpoolOptions | undefined;
  /** How long closing the service waits for the collector to acknowledge what is queued. Default: 5000 ms. */
  closeTimeoutMillis?: number | undefined;
}

export const EXPORT_AUDIT_DEFAULTS = {
  fsync: 'always',
  closeTimeoutMillis: 5000,
} as const;

/** Whom a look is by and what it covers: the same in every record of the look. */
export interface LookSubject {
  caller: Pick<Caller, 'id' | 'name'>;
  /** The client that made the request; absent for work the service does on its own (background jobs). */
  client?: { ip: string; userAgent?: string } | undefined;
  scope: Scope;
  from: string;
  to: string;
  /** The client's own filters. */
  filters: Record<string, string>;
}

/** How an export reached (or did not reach) its reader. */
export type LookDelivery = 'download' | 'job' | 'link' | 'manifest';
export type LookEndStatus = 'completed' | 'aborted' | 'failed';

/** A started export: what its end record needs. Ends once, whoever calls first. */
export interface ExportLook {
  subject: LookSubject;
  details: { delivery: LookDelivery; format: string; jobId?: string | undefined };
  /** Id of the `audit_log.export` record; undefined for jobs from before it was kept, or without an audit logger. */
  startEventId: string | undefined;
  correlationId: string;
  ended?: boolean;
}

export interface LookEnd {
  status: LookEndStatus;
  /** Rows handed to the writer: an upper bound of what reached the client. */
  rows?: number | undefined;
  /** Bytes written to the connection for this response, headers included. */
  bytes?: number | undefined;
}

/** The client that made a request, as audit events name it. */
export function lookClient(request: FastifyRequest): NonNullable<LookSubject['client']> {
  const agent = request.headers['user-agent'];
  return { ip: request.ip, ...(agent ? { userAgent: String(agent).slice(0, 1024) } : {}) };
}

/** The subject of a look made through an HTTP request, from the caller's token and the parsed query. */
export function lookSubject(request: FastifyRequest, caller: Pick<Caller, 'id' | 'name'>, parsed: Pick<ParsedEventQuery, 'scope' | 'filters' | 'query'>): LookSubject {
  return {
    caller,
    client: lookClient(request),
    scope: parsed.scope,
    from: parsed.query.from.toISOString(),
    to: parsed.query.to.toISOString(),
    filters: parsed.filters,
  };
}

/**
 * Ends `look` when the response closes: `failed` if `progress().failure` is set,
 * `completed` if the whole response was handed to the connection, else `aborted` (the
 * client went away part-way). `bytes` counts what this response wrote to the socket.
 */
export function endLookWhenClosed(
  looks: LookRecorder,
  look: ExportLook,
  request: FastifyRequest,
  reply: FastifyReply,
  progress: () => { rows?: number | undefined; failure?: unknown },
): void {
  const socket = request.raw.socket;
  const before = socket.bytesWritten;
  reply.raw.on('close', () => {
    const { rows, failure } = progress();
    const status = failure !== undefined ? 'failed' : reply.raw.writableFinished ? 'completed' : 'aborted';
    looks.end(look, { status, rows, bytes: socket.bytesWritten - before });
  });
}

/**
 * Every look at the log goes through here: searches, direct downloads, background jobs,
 * signed-link downloads and manifests. A look is allowed only once its record is accepted
 * by the audit logger (its fsynced spool, in production); the collector being down or
 * refusing the token does not block it, the record waits and is retried.
 */
export class LookRecorder {
  readonly metrics: LookMetrics;
  readonly #audit: AuditLogger | undefined;
  readonly #log: FastifyBaseLogger;

  constructor(audit: AuditLogger | undefined, log: FastifyBaseLogger, metrics = new LookMetrics()) {
    this.#audit = audit;
    this.#log = log;
    this.metrics = metrics;
    metrics.deliveryStats = () => audit?.stats();
  }

  /** Records a search page before its rows are sent; throws AUDIT_ERR_AUDIT_UNAVAILABLE when it cannot. */
  search(subject: LookSubject, rows: number): void {
    this.#required('audit_log.search', subject, { delivery: 'search', rows }, randomUUID());
  }

  /** Records the start of an export before its first byte; throws AUDIT_ERR_AUDIT_UNAVAILABLE when it cannot. */
  start(subject: LookSubject, details: ExportLook['details'] & { rowsMatching?: number }, correlationId: string = randomUUID()): ExportLook {
    const { rowsMatching, ...kept } = details;
    const startEventId = this.#required(
      'audit_log.export',
      subject,
      { ...kept, ...(rowsMatching !== undefined ? { rowsMatching } : {}) },
      correlationId,
    );
    return { subject, details: kept, startEventId, correlationId };
  }

  /**
   * Records the end of an export. Never throws: the bytes have left already, so a record
   * that cannot be written is logged at error level and counted instead.
   */
  end(look: ExportLook, end: LookEnd): void {
    if (look.ended) return;
    look.ended = true;
    if (!this.#audit) return;
    try {
      this.#audit.record(
        this.#event('audit_log.export.end', look.subject, {
          ...look.details,
          status: end.status,
          ...(end.rows !== undefined ? { rows: end.rows } : {}),
          ...(end.bytes !== undefined ? { bytes: end.bytes } : {}),
          ...(look.startEventId ? { startEventId: look.startEventId } : {}),
        }, look.correlationId, end.status === 'completed' ? 'success' : 'failure'),
      );
      this.metrics.count('audit_log.export.end');
    } catch (err) {
      this.metrics.endsLost += 1;
      this.#log.error({ err, correlationId: look.correlationId, status: end.status }, 'could not record the end of an export of the audit log');
    }
  }

  #required(action: 'audit_log.search' | 'audit_log.export', subject: LookSubject, details: Record<string, string | number>, correlationId: string): string | undefined {
    if (!this.#audit) return undefined;
    try {
      const id = this.#audit.record(this.#event(action, subject, details, correlationId, 'success'));
      this.metrics.count(action);
      return id;
    } catch (err) {
      // Fail closed: an unrecorded look at the audit log is the one thing it must not allow.
      this.metrics.refused += 1;
      this.#log.error({ err, action }, 'could not record a look at the audit log; the request is refused');
      throw new ExportError('AUDIT_ERR_AUDIT_UNAVAILABLE');
    }
  }

  #event(action: string, s: LookSubject, details: Record<string, string | number | boolean>, correlationId: string, outcome: 'success' | 'failure') {
    return {
      action,
      outcome,
      actor: { id: s.caller.id, ...(s.caller.name ? { name: s.caller.name } : {}), type: 'user' as const },
      ...(s.client ? { client: s.client } : {}),
      ...(s.scope.kind === 'workspace' ? { workspace: { id: s.scope.workspace } } : {}),
      resource: { type: 'audit_log', name: scopeLabel(s.scope) },
      correlationId,
      metadata: {
        scope: s.scope.kind,
        from: s.from,
        to: s.to,
        filters: JSON.stringify(s.filters).slice(0, 500),
        ...details,
      },
    };
  }
}

/** The export service's counters, in the Prometheus text format (like the collector's). */
export class LookMetrics {
  readonly recorded = new Map<string, number>();
  /** Requests refused with 503 because their start record could not be written. */
  refused = 0;
  /** End records that could not be written (the look itself had been recorded). */
  endsLost = 0;
  /** Failed exports of audit records to the collector. */
  deliveryFailures = 0;
  deliveryStats: () => DeliveryStats | undefined = () => undefined;

  count(action: string): void {
    this.recorded.set(action, (this.recorded.get(action) ?? 0) + 1);
  }

  render(): string {
    const stats = this.deliveryStats();
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    metric(
      'otel_audit_export_looks_recorded_total',
      'counter',
      'Records of looks at the log accepted by the audit logger, by action.',
      [...this.recorded].map(([action, n]) => [`{action="${action}"}`, n]),
    );
    metric('otel_audit_export_looks_refused_total', 'counter', 'Searches and downloads refused (503) because their audit record could not be written.', [['', this.refused]]);
    metric('otel_audit_export_look_ends_lost_total', 'counter', 'Ends of exports whose audit record could not be written.', [['', this.endsLost]]);
    metric('otel_audit_export_audit_delivery_failures_total', 'counter', 'Failed deliveries of audit records to the collector (each retried).', [['', this.deliveryFailures]]);
    metric('otel_audit_export_audit_records_pending', 'gauge', 'Audit records not yet acknowledged by the collector (kept in the spool).', [['', stats?.pending ?? 0]]);
    metric('otel_audit_export_audit_records_acknowledged_total', 'counter', 'Audit records acknowledged by the collector.', [['', stats?.acknowledged ?? 0]]);
    return `${lines.join('\n')}\n`;
  }
}

/**
 * Builds the export service's audit logger with its delivery failures wired to `log`
 * (error level, once per failure streak) and to `metrics`.
 */
export function createExportAuditLogger(options: ExportAuditOptions, log: FastifyBaseLogger, metrics: LookMetrics): AuditLogger {
  // closeTimeoutMillis is the service's to apply on close, not the logger's.
  const { senderToken, spool, closeTimeoutMillis, headers, ...rest } = options;
  void closeTimeoutMillis;
  return createAuditLogger({
    ...rest,
    serviceName: AUDIT_LOG_SERVICE_NAME,
    ...(senderToken || headers ? { headers: { ...headers, ...(senderToken ? { authorization: `Bearer ${senderToken}` } : {}) } } : {}),
    ...(spool ? { spool: { ...spool, fsync: spool.fsync ?? EXPORT_AUDIT_DEFAULTS.fsync } } : {}),
    onDeliveryError: (err, state) => {
      metrics.deliveryFailures += 1;
      // Once per streak: the backoff retries for ever, and the pending gauge tells the rest.
      if (state.consecutiveFailures === 1) {
        log.error(
          { err, pending: state.pending },
          'audit records of looks at the log are not reaching the collector (refused sender token? collector down?); they are kept and retried',
        );
      }
    },
  });
}
