import { logs, type Logger, type LoggerProvider as ApiLoggerProvider, type SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as OTLPJsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OTLPProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import {
  DEFAULT_REDACT,
  EARLIEST_EVENT_TIME,
  redact,
  toLogRecord,
  validateAuditEvent,
  withEventDefaults,
  xmlSafeDeep,
  type AuditEvent,
  type AuditEventInput,
} from '@otel-audit/contract';
import { v7 as uuidv7 } from 'uuid';
import { AuditError } from './errors.js';
import { DeliveryProcessor, type DeliveryFailureState, type DeliveryStats } from './internal/delivery-processor.js';
import { MemoryQueue, type QueuedRecord } from './internal/delivery-queue.js';
import { DiskSpool, SpoolLockedError, type FsyncPolicy } from '@otel-audit/spool';
import { currentAuditContext } from './request-context.js';

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface SpoolOptions {
  /** Folder of the spool; one live process per folder. */
  dir: string;
  /**
   * When appended records reach the disk itself. A process crash loses nothing under
   * any policy (each record is written to the OS before `record()` returns); this only
   * matters for a machine crash or power cut.
   * - `always`: fsync every record (slowest; nothing recorded is lost).
   * - `interval`: fsync every `fsyncIntervalMillis` (default; up to that window lost).
   * - `never`: leave it to the OS.
   */
  fsync?: FsyncPolicy;
  /** Default: 1000 ms. */
  fsyncIntervalMillis?: number;
  /** Default: 8 MiB. */
  segmentBytes?: number;
}

export interface AuditLoggerOptions {
  /** `service.name` of every record. Default: `OTEL_SERVICE_NAME`, else the SDK's default. */
  serviceName?: string;
  /**
   * The collector's base URL, like `OTEL_EXPORTER_OTLP_ENDPOINT`; `/v1/logs` is appended.
   * Default: `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`, else
   * `http://localhost:4318`.
   */
  endpoint?: string;
  /** Extra HTTP headers (e.g. a collector token). Default: `OTEL_EXPORTER_OTLP_(LOGS_)HEADERS`. */
  headers?: Record<string, string>;
  /** Default: `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf`. */
  protocol?: OtlpProtocol;
  /** Default: `none`. */
  compression?: 'gzip' | 'none';
  /** At-least-once delivery: records are spooled to disk and replayed after a restart. Default: off. */
  spool?: SpoolOptions;
  /** Bounds of the queue (memory or spool); past them `record()` refuses. Default: 100 000 records. */
  maxQueueRecords?: number;
  /** Default: 64 MiB. */
  maxQueueBytes?: number;
  /** Default: 512. */
  maxBatchSize?: number;
  /** Longest wait before a partial batch is sent. Default: 1000 ms. */
  scheduledDelayMillis?: number;
  /** One export attempt's time limit (the OTLP exporter retries inside it). Default: 10 000 ms. */
  exportTimeoutMillis?: number;
  /** First wait after a failed export; doubles up to `maxBackoffMillis`. Default: 1000 ms. */
  initialBackoffMillis?: number;
  /** Default: 30 000 ms. */
  maxBackoffMillis?: number;
  /** How long `recordAsync()` waits for room in a full queue. Default: 5000 ms. */
  blockTimeoutMillis?: number;
  /**
   * `changes[].field` and `metadata` keys whose values are replaced by `[REDACTED]`.
   * Default: password, passphrase, secret, token, api key, private key, credential,
   * authorization, cookie.
   */
  redact?: RegExp;
  /**
   * `global`: emit through the LoggerProvider the application registered with the
   * OpenTelemetry API; its processors and exporters deliver, so there is no spool and
   * `stats()` counts only `recorded`. Default: `own` (our exporter and delivery queue).
   */
  loggerProvider?: 'own' | 'global';
  /**
   * Called on every failed export to the collector (refused token, collector down,
   * timeout) with an AUDIT_ERR_DELIVERY_FAILED error and the pending count; the records
   * stay queued (or spooled) and are retried with backoff. Never called from `record()`;
   * an exception it throws is ignored. Default: none (failures surface only from `flush()`).
   */
  onDeliveryError?: (error: AuditError, state: DeliveryFailureState) => void;
}

type Defaulted = 'compression' | 'maxQueueRecords' | 'maxQueueBytes' | 'maxBatchSize' | 'scheduledDelayMillis' | 'exportTimeoutMillis' | 'initialBackoffMillis' | 'maxBackoffMillis' | 'blockTimeoutMillis' | 'loggerProvider';
type ResolvedOptions = AuditLoggerOptions & Required<Pick<AuditLoggerOptions, Defaulted>> & typeof SPOOL_DEFAULTS;

const SPOOL_DEFAULTS = { fsync: 'interval' as FsyncPolicy, fsyncIntervalMillis: 1000, segmentBytes: 8 * 1024 * 1024 };

/** Every default in one place; documented on `AuditLoggerOptions` and `SpoolOptions`. */
export const AUDIT_LOGGER_DEFAULTS: Required<Pick<AuditLoggerOptions, Defaulted>> & typeof SPOOL_DEFAULTS = {
  ...SPOOL_DEFAULTS,
  compression: 'none',
  maxQueueRecords: 100_000,
  maxQueueBytes: 64 * 1024 * 1024,
  maxBatchSize: 512,
  scheduledDelayMillis: 1000,
  exportTimeoutMillis: 10_000,
  initialBackoffMillis: 1000,
  maxBackoffMillis: 30_000,
  blockTimeoutMillis: 5000,
  loggerProvider: 'own',
};

export interface AuditLogger {
  /**
   * Validates the event, fills defaults (id, time, outcome, the catalogue's category and
   * message, the request context) and queues it; returns the id. Throws only for an
   * invalid event or a full queue, never because of delivery.
   */
  record(event: AuditEventInput): string;
  /** Like `record()`, but waits up to `blockTimeoutMillis` for room in a full queue. */
  recordAsync(event: AuditEventInput): Promise<string>;
  /** Resolves when every record so far was acknowledged by the collector; rejects on a failed export. */
  flush(options?: { timeoutMillis?: number }): Promise<void>;
  /** Flushes (up to `timeoutMillis`, default 30 s), then releases the exporter and the spool. */
  shutdown(options?: { timeoutMillis?: number }): Promise<void>;
  /** Counts of recorded, acknowledged, retried, refused and pending records. */
  stats(): DeliveryStats;
}

const SCOPE = { name: '@otel-audit/instrumentation', version: '0.1.0' };

export function createAuditLogger(options: AuditLoggerOptions = {}): AuditLogger {
  const o: ResolvedOptions = { ...AUDIT_LOGGER_DEFAULTS, ...options };
  const redactPattern = options.redact ?? DEFAULT_REDACT;
  let closed = false;
  let recorded = 0;

  let resource = defaultResource().merge(detectResources({ detectors: [envDetector] }));
  if (o.serviceName) resource = resource.merge(resourceFromAttributes({ 'service.name': o.serviceName }));

  let logger: Logger;
  let processor: DeliveryProcessor | undefined;
  let provider: LoggerProvider | undefined;
  let globalProvider: ApiLoggerProvider | undefined;
  if (o.loggerProvider === 'global') {
    if (o.spool) throw new Error('createAuditLogger: `spool` needs loggerProvider "own"; a global provider delivers with its own processors');
    globalProvider = logs.getLoggerProvider();
    logger = globalProvider.getLogger(SCOPE.name, SCOPE.version);
  } else {
    const queue = o.spool
      ? openSpool({
          dir: o.spool.dir,
          fsync: o.spool.fsync ?? o.fsync,
          fsyncIntervalMillis: o.spool.fsyncIntervalMillis ?? o.fsyncIntervalMillis,
          segmentBytes: o.spool.segmentBytes ?? o.segmentBytes,
          maxRecords: o.maxQueueRecords,
          maxBytes: o.maxQueueBytes,
        })
      : new MemoryQueue({ maxRecords: o.maxQueueRecords, maxBytes: o.maxQueueBytes });
    processor = new DeliveryProcessor({
      exporter: createExporter(o),
      queue,
      resource,
      scope: SCOPE,
      maxBatchSize: o.maxBatchSize,
      scheduledDelayMillis: o.scheduledDelayMillis,
      initialBackoffMillis: o.initialBackoffMillis,
      maxBackoffMillis: o.maxBackoffMillis,
      onDeliveryError: o.onDeliveryError,
    });
    provider = new LoggerProvider({ resource, processors: [processor] });
    logger = provider.getLogger(SCOPE.name, SCOPE.version);
  }

  const emit = (event: AuditEvent) => {
    const log = toLogRecord(event);
    logger.emit({
      eventName: log.eventName,
      // A Date, never the number: the SDK reads a number below half of the process's time
      // origin (mid-1998) as a performance.now() offset and adds the origin to it, so an
      // event from 1995 would be stored in 2052.
      timestamp: new Date(log.timestamp),
      severityNumber: log.severityNumber as SeverityNumber,
      severityText: log.severityText,
      ...(log.body !== undefined ? { body: log.body } : {}),
      attributes: log.attributes,
    });
    recorded += 1;
    return event.id;
  };

  // The queue is checked before emitting: the SDK gives a processor no way to refuse.
  // The record's own size is not known until the processor serialises it, so the byte
  // bound may be passed by at most one record; serialising twice cost a fifth of record().
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
      const event = buildEvent(input, redactPattern);
      if (!fits()) throw queueFull(event);
      return emit(event);
    },
    async recordAsync(input) {
      if (closed) throw new AuditError('AUDIT_ERR_SHUT_DOWN', 'recordAsync() called after shutdown()');
      const event = buildEvent(input, redactPattern);
      const deadline = Date.now() + o.blockTimeoutMillis;
      while (!fits()) {
        if (Date.now() >= deadline || closed) throw queueFull(event);
        await new Promise((r) => setTimeout(r, 50));
      }
      return emit(event);
    },
    async flush(opts) {
      if (processor) return processor.flush(opts?.timeoutMillis);
      await (globalProvider as { forceFlush?: () => Promise<void> } | undefined)?.forceFlush?.();
    },
    async shutdown(opts) {
      if (closed) return;
      closed = true;
      try {
        if (processor) await processor.flush(opts?.timeoutMillis ?? 30_000);
      } finally {
        await provider?.shutdown();
      }
    },
    stats() {
      return processor?.stats() ?? { recorded, acknowledged: 0, retried: 0, refused: 0, pending: 0, pendingBytes: 0, replayed: 0 };
    },
  };
}

function openSpool(opts: ConstructorParameters<typeof DiskSpool<QueuedRecord>>[0]): DiskSpool<QueuedRecord> {
  try {
    return new DiskSpool<QueuedRecord>(opts);
  } catch (err) {
    if (err instanceof SpoolLockedError) {
      throw new AuditError('AUDIT_ERR_SPOOL_LOCKED', err.message, { dir: err.dir, pid: err.pid }, err);
    }
    throw err;
  }
}

function createExporter(o: ResolvedOptions) {
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
  throw new Error(`OTEL_EXPORTER_OTLP_(LOGS_)PROTOCOL must be http/protobuf or http/json for otel-audit, got ${JSON.stringify(raw)}`);
}

function buildEvent(input: AuditEventInput, redactPattern: RegExp): AuditEvent {
  const context = currentAuditContext();
  const time = input.time === undefined ? new Date() : new Date(input.time);
  const client = { ...context?.client, ...input.client };
  // Defaults, cleaning and redaction are the contract's, which the collector applies to
  // every other sender's records too (fromLogRecord, redact), so both paths store the same.
  // Redacted before validation, as in the collector: a secret is never quoted or checked.
  const candidate = redact(
    withEventDefaults(
      xmlSafeDeep(
        stripUndefined({
          ...input,
          id: uuidv7(),
          time: Number.isNaN(time.getTime()) ? String(input.time) : time.toISOString(),
          client: Object.keys(client).length > 0 ? client : undefined,
          sessionId: input.sessionId ?? context?.sessionId,
          correlationId: input.correlationId ?? context?.requestId,
        }),
      ),
    ),
    redactPattern,
  );
  const validation = validateAuditEvent(candidate);
  // The collector reads an earlier time as seconds or milliseconds sent by mistake and
  // refuses it; refused here, the caller learns it from record() instead of from a dead letter.
  const early = time < EARLIEST_EVENT_TIME ? [`time: ${time.toISOString()} is before ${EARLIEST_EVENT_TIME.toISOString()}, the earliest time an audit event may have`] : [];
  const result = validation.ok && early.length > 0 ? { ok: false as const, problems: early } : validation;
  if (!result.ok) {
    throw new AuditError('AUDIT_ERR_INVALID_EVENT', `invalid audit event: ${result.problems.join('; ')}`, {
      problems: result.problems,
      action: typeof input.action === 'string' ? input.action : undefined,
    });
  }
  return result.event;
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
