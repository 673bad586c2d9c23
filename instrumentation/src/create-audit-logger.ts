import { logs, type Logger, type LoggerProvider as ApiLoggerProvider } from '@opentelemetry/api-logs';
import { OTLPLogExporter as OTLPJsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OTLPProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { ConfigError, DEFAULT_REDACT, type AuditEvent, type AuditEventInput } from '@otel-audit/contract';
import { DiskSpool, SpoolLockedError } from '@otel-audit/spool';
import { resolveAuditLoggerOptions, type AuditLoggerOptions, type OtlpProtocol, type ResolvedAuditLoggerOptions } from './audit-logger-options.js';
import { AuditError } from './errors.js';
import { buildEvent, type BuiltEvent } from './internal/build-event.js';
import { DeliveryProcessor, type DeliveryStats } from './internal/delivery-processor.js';
import { MemoryQueue, type DeliveryQueue } from './internal/delivery-queue.js';
import { queuedEvent, reviveQueuedEvent, toEmittedLogRecord, type QueuedEvent } from './internal/queued-event.js';

export { AUDIT_LOGGER_DEFAULTS } from './audit-logger-options.js';
export type { AuditLoggerOptions, OtlpProtocol, SpoolOptions } from './audit-logger-options.js';

export interface AuditLogger {
  /**
   * Validates the event, fills defaults (id, time, outcome, the catalogue's category and
   * message, the request context) and queues it; returns the id. Throws only for an
   * invalid event or a full queue, never because of delivery.
   */
  record(event: AuditEventInput): string;
  /** Like `record()`, but waits up to `blockTimeoutMillis` for room in a full queue. */
  recordAsync(event: AuditEventInput): Promise<string>;
  /**
   * Resolves when every record so far was acknowledged by the collector. Failed exports
   * are retried until `timeoutMillis` (default `flushTimeoutMillis`, 30 s); then it rejects
   * with AUDIT_ERR_DELIVERY_FAILED whose `details` (an UndeliveredReport) give the exact
   * count of records not acknowledged and where they are.
   */
  flush(options?: { timeoutMillis?: number }): Promise<void>;
  /**
   * Flushes as `flush()` does, then releases the exporter and the spool. Rejects like
   * `flush()` when records are left: in the spool (sent on the next start), or dropped
   * when there is none; `details.undelivered` is how many.
   */
  shutdown(options?: { timeoutMillis?: number }): Promise<void>;
  /** Counts of recorded, acknowledged, retried, refused and pending records. */
  stats(): DeliveryStats;
}

const SCOPE = { name: '@otel-audit/instrumentation', version: '0.1.0' };

export function createAuditLogger(options: AuditLoggerOptions = {}): AuditLogger {
  const o = resolveAuditLoggerOptions(options, DEFAULT_REDACT);
  let closed = false;
  let recorded = 0;

  let processor: DeliveryProcessor | undefined;
  let globalProvider: ApiLoggerProvider | undefined;
  let globalLogger: Logger | undefined;
  if (o.loggerProvider === 'global') {
    globalProvider = logs.getLoggerProvider();
    globalLogger = globalProvider.getLogger(SCOPE.name, SCOPE.version);
  } else {
    let resource = defaultResource().merge(detectResources({ detectors: [envDetector] }));
    if (o.serviceName) resource = resource.merge(resourceFromAttributes({ 'service.name': o.serviceName }));
    processor = new DeliveryProcessor({
      exporter: createExporter(o),
      queue: openQueue(o),
      resource,
      scope: SCOPE,
      maxBatchSize: o.maxBatchSize,
      scheduledDelayMillis: o.scheduledDelayMillis,
      initialBackoffMillis: o.initialBackoffMillis,
      maxBackoffMillis: o.maxBackoffMillis,
      spoolDir: o.spool?.dir,
      onDeliveryError: o.onDeliveryError,
    });
  }

  // The direct path: the validated event goes to our queue as it is, and becomes the
  // SDK's record only when exported. An application's own provider gets it through
  // Logger.emit, with the time as a Date.
  const emit = ({ event, traceFlags }: BuiltEvent) => {
    if (processor) processor.enqueue(queuedEvent({ event, traceFlags }));
    else globalLogger!.emit(toEmittedLogRecord(event));
    recorded += 1;
    return event.id;
  };

  // The queue is checked before emitting. The record's own size is not known until it is
  // serialised, so the byte bound may be passed by at most one record; serialising twice
  // cost a fifth of record().
  const fits = () => !processor || processor.hasRoom();
  const queueFull = (event: AuditEvent) => {
    processor?.countRefused();
    return new AuditError('AUDIT_ERR_QUEUE_FULL', 'the audit delivery queue is full; the event was not recorded', {
      action: event.action,
      ...processor?.stats(),
    });
  };

  return {
    record(input) {
      if (closed) throw new AuditError('AUDIT_ERR_SHUT_DOWN', 'record() called after shutdown()');
      const built = buildEvent(input, o.redact);
      if (!fits()) throw queueFull(built.event);
      return emit(built);
    },
    async recordAsync(input) {
      if (closed) throw new AuditError('AUDIT_ERR_SHUT_DOWN', 'recordAsync() called after shutdown()');
      const built = buildEvent(input, o.redact);
      const deadline = Date.now() + o.blockTimeoutMillis;
      while (!fits()) {
        if (Date.now() >= deadline || closed) throw queueFull(built.event);
        await new Promise((r) => setTimeout(r, 50));
      }
      return emit(built);
    },
    async flush(opts) {
      if (processor) return processor.flush(opts?.timeoutMillis ?? o.flushTimeoutMillis);
      await (globalProvider as { forceFlush?: () => Promise<void> } | undefined)?.forceFlush?.();
    },
    async shutdown(opts) {
      if (closed) return;
      closed = true;
      await processor?.shutdown(opts?.timeoutMillis ?? o.flushTimeoutMillis);
    },
    stats() {
      return processor?.stats() ?? { recorded, acknowledged: 0, retried: 0, refused: 0, pending: 0, pendingBytes: 0, replayed: 0 };
    },
  };
}

function openQueue(o: ResolvedAuditLoggerOptions): DeliveryQueue {
  const bounds = { maxRecords: o.maxQueueRecords, maxBytes: o.maxQueueBytes };
  if (!o.spool) return new MemoryQueue(bounds);
  try {
    return new DiskSpool<QueuedEvent>({ ...o.spool, ...bounds, revive: reviveQueuedEvent });
  } catch (err) {
    if (err instanceof SpoolLockedError) {
      throw new AuditError('AUDIT_ERR_SPOOL_LOCKED', err.message, { dir: err.dir, pid: err.pid }, err);
    }
    throw err;
  }
}

function createExporter(o: ResolvedAuditLoggerOptions) {
  const protocol = o.protocol ?? protocolFromEnv();
  const config = {
    ...(o.endpoint ? { url: new URL('v1/logs', o.endpoint.endsWith('/') ? o.endpoint : `${o.endpoint}/`).href } : {}),
    ...(o.headers ? { headers: o.headers } : {}),
    compression: o.compression as never,
    timeoutMillis: o.exportTimeoutMillis,
  };
  return protocol === 'http/json' ? new OTLPJsonLogExporter(config) : new OTLPProtoLogExporter(config);
}

function protocolFromEnv(): OtlpProtocol {
  const raw = (process.env.OTEL_EXPORTER_OTLP_LOGS_PROTOCOL || process.env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim();
  if (raw === 'http/protobuf' || raw === 'http/json') return raw;
  const key = process.env.OTEL_EXPORTER_OTLP_LOGS_PROTOCOL ? 'OTEL_EXPORTER_OTLP_LOGS_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  throw new ConfigError(key, `OTEL_EXPORTER_OTLP_(LOGS_)PROTOCOL must be http/protobuf or http/json for otel-audit, got ${JSON.stringify(raw)}`, { value: raw });
}
