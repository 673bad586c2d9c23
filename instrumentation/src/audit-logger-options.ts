import { ConfigError, optionError } from '@otel-audit/contract';
import type { FsyncPolicy } from '@otel-audit/spool';
import type { AuditError } from './errors.js';
import type { DeliveryFailureState } from './internal/delivery-processor.js';

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
  /**
   * At-least-once delivery: records are spooled to disk and replayed after a restart.
   * Default: off, records wait in memory (docs/delivery.md says why and what it costs).
   */
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
  /** Deadline of `flush()` and `shutdown()` when the call names none. Default: 30 000 ms. */
  flushTimeoutMillis?: number;
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
   * an exception it throws is ignored. Default: none (failures surface from `flush()` and
   * `shutdown()` at their deadline).
   */
  onDeliveryError?: (error: AuditError, state: DeliveryFailureState) => void;
}

const NUMBERS = [
  'maxQueueRecords',
  'maxQueueBytes',
  'maxBatchSize',
  'scheduledDelayMillis',
  'exportTimeoutMillis',
  'initialBackoffMillis',
  'maxBackoffMillis',
  'blockTimeoutMillis',
  'flushTimeoutMillis',
] as const;
type Defaulted = (typeof NUMBERS)[number] | 'compression' | 'loggerProvider';

const SPOOL_DEFAULTS = { fsync: 'interval' as FsyncPolicy, fsyncIntervalMillis: 1000, segmentBytes: 8 * 1024 * 1024 };

/** Every default in one place; documented on `AuditLoggerOptions` and `SpoolOptions`. */
export const AUDIT_LOGGER_DEFAULTS: Readonly<Required<Pick<AuditLoggerOptions, Defaulted>> & typeof SPOOL_DEFAULTS> = Object.freeze({
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
  flushTimeoutMillis: 30_000,
  loggerProvider: 'own',
});

export type ResolvedSpoolOptions = Readonly<Required<SpoolOptions>>;
export type ResolvedAuditLoggerOptions = Readonly<
  Omit<AuditLoggerOptions, Defaulted | 'spool' | 'redact'> & Required<Pick<AuditLoggerOptions, Defaulted | 'redact'>> & { spool?: ResolvedSpoolOptions }
>;

/**
 * Applies the defaults with `??`, so an option passed as `undefined` keeps its default (a
 * spread would let it replace the default: `maxQueueRecords: undefined` refused every
 * record), checks every value and freezes the result. Throws naming the bad option.
 */
export function resolveAuditLoggerOptions(options: AuditLoggerOptions, defaultRedact: RegExp): ResolvedAuditLoggerOptions {
  const d = AUDIT_LOGGER_DEFAULTS;
  const spool = options.spool
    ? Object.freeze({
        dir: options.spool.dir,
        fsync: options.spool.fsync ?? d.fsync,
        fsyncIntervalMillis: options.spool.fsyncIntervalMillis ?? d.fsyncIntervalMillis,
        segmentBytes: options.spool.segmentBytes ?? d.segmentBytes,
      })
    : undefined;
  const o = {
    serviceName: options.serviceName,
    endpoint: options.endpoint,
    headers: options.headers,
    protocol: options.protocol,
    compression: options.compression ?? d.compression,
    spool,
    maxQueueRecords: options.maxQueueRecords ?? d.maxQueueRecords,
    maxQueueBytes: options.maxQueueBytes ?? d.maxQueueBytes,
    maxBatchSize: options.maxBatchSize ?? d.maxBatchSize,
    scheduledDelayMillis: options.scheduledDelayMillis ?? d.scheduledDelayMillis,
    exportTimeoutMillis: options.exportTimeoutMillis ?? d.exportTimeoutMillis,
    initialBackoffMillis: options.initialBackoffMillis ?? d.initialBackoffMillis,
    maxBackoffMillis: options.maxBackoffMillis ?? d.maxBackoffMillis,
    blockTimeoutMillis: options.blockTimeoutMillis ?? d.blockTimeoutMillis,
    flushTimeoutMillis: options.flushTimeoutMillis ?? d.flushTimeoutMillis,
    redact: options.redact ?? defaultRedact,
    loggerProvider: options.loggerProvider ?? d.loggerProvider,
    onDeliveryError: options.onDeliveryError,
  };
  for (const key of NUMBERS) {
    if (!Number.isFinite(o[key]) || o[key] < 0) bad(key, o[key], 'a finite number ≥ 0');
  }
  if (o.maxBatchSize < 1 || !Number.isInteger(o.maxBatchSize)) bad('maxBatchSize', o.maxBatchSize, 'an integer ≥ 1');
  if (o.compression !== 'gzip' && o.compression !== 'none') bad('compression', o.compression, '"gzip" or "none"');
  if (o.loggerProvider !== 'own' && o.loggerProvider !== 'global') bad('loggerProvider', o.loggerProvider, '"own" or "global"');
  if (o.protocol !== undefined && o.protocol !== 'http/protobuf' && o.protocol !== 'http/json') bad('protocol', o.protocol, '"http/protobuf" or "http/json"');
  if (!(o.redact instanceof RegExp)) bad('redact', o.redact, 'a RegExp');
  if (spool) {
    if (typeof spool.dir !== 'string' || spool.dir === '') bad('spool.dir', spool.dir, 'a folder path');
    if (!['always', 'interval', 'never'].includes(spool.fsync)) bad('spool.fsync', spool.fsync, '"always", "interval" or "never"');
    if (!(spool.fsyncIntervalMillis > 0)) bad('spool.fsyncIntervalMillis', spool.fsyncIntervalMillis, 'a number > 0');
    if (!(spool.segmentBytes > 0)) bad('spool.segmentBytes', spool.segmentBytes, 'a number > 0');
    if (o.loggerProvider === 'global') throw new ConfigError('loggerProvider', 'createAuditLogger: `spool` needs loggerProvider "own"; a global provider delivers with its own processors', { value: 'global' });
  }
  return Object.freeze(o);
}

function bad(option: string, value: unknown, expected: string): never {
  throw optionError('createAuditLogger', option, value, expected);
}
