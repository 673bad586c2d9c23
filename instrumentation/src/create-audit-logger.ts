import type { SeverityNumber } from '@opentelemetry/api-logs';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import { toLogRecord, validateAuditEvent, type AuditEvent, type AuditEventInput } from '@otel-audit/contract';
import { v7 as uuidv7 } from 'uuid';
import { AuditError } from './errors.js';

export interface AuditLoggerOptions {
  /** `service.name` of every record. Default: `OTEL_SERVICE_NAME`, else the SDK's default. */
  serviceName?: string;
  /**
   * The collector's base URL, like `OTEL_EXPORTER_OTLP_ENDPOINT`; `/v1/logs` is appended.
   * Default: the standard `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`
   * variables, else `http://localhost:4318`.
   */
  endpoint?: string;
  /** Extra HTTP headers (e.g. a collector token). Default: `OTEL_EXPORTER_OTLP_(LOGS_)HEADERS`. */
  headers?: Record<string, string>;
  /** Longest wait before a batch is sent. Default: 1000 ms. */
  scheduledDelayMillis?: number;
}

export interface AuditLogger {
  /** Validates the event, gives it a UUIDv7 id and queues it; returns the id. */
  record(event: AuditEventInput): string;
  /** Resolves when every record so far was acknowledged by the collector; rejects otherwise. */
  flush(): Promise<void>;
  /** Flushes, then releases the exporter. */
  shutdown(): Promise<void>;
}

const SCOPE = '@otel-audit/instrumentation';

export function createAuditLogger(options: AuditLoggerOptions = {}): AuditLogger {
  const exporter = new OutcomeTrackingExporter(
    new OTLPLogExporter({
      ...(options.endpoint ? { url: new URL('v1/logs', withSlash(options.endpoint)).href } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
    }),
  );
  let resource = defaultResource().merge(detectResources({ detectors: [envDetector] }));
  if (options.serviceName) resource = resource.merge(resourceFromAttributes({ 'service.name': options.serviceName }));
  const provider = new LoggerProvider({
    resource,
    processors: [new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: options.scheduledDelayMillis ?? 1000 })],
  });
  const logger = provider.getLogger(SCOPE);
  let closed = false;

  const flush = async () => {
    const failuresBefore = exporter.failures;
    await provider.forceFlush();
    if (exporter.failures !== failuresBefore) {
      throw new AuditError(
        'AUDIT_ERR_DELIVERY_FAILED',
        `the collector did not acknowledge ${exporter.failedRecords} audit record(s): ${exporter.lastError?.message ?? 'export failed'}`,
        { failedRecords: exporter.failedRecords },
        exporter.lastError,
      );
    }
  };

  return {
    record(input) {
      if (closed) throw new AuditError('AUDIT_ERR_SHUT_DOWN', 'record() called after shutdown()');
      const event = buildEvent(input);
      const log = toLogRecord(event);
      logger.emit({
        eventName: log.eventName,
        timestamp: log.timestamp,
        severityNumber: log.severityNumber as SeverityNumber,
        severityText: log.severityText,
        ...(log.body !== undefined ? { body: log.body } : {}),
        attributes: log.attributes,
      });
      return event.id;
    },
    flush,
    async shutdown() {
      if (closed) return;
      closed = true;
      try {
        await flush();
      } finally {
        await provider.shutdown();
      }
    },
  };
}

function buildEvent(input: AuditEventInput): AuditEvent {
  const time = input.time === undefined ? new Date() : new Date(input.time);
  const candidate = {
    ...input,
    id: uuidv7(),
    time: Number.isNaN(time.getTime()) ? String(input.time) : time.toISOString(),
    outcome: input.outcome ?? 'success',
  };
  const result = validateAuditEvent(candidate);
  if (!result.ok) {
    throw new AuditError('AUDIT_ERR_INVALID_EVENT', `invalid audit event: ${result.problems.join('; ')}`, {
      problems: result.problems,
      action: typeof input.action === 'string' ? input.action : undefined,
    });
  }
  return result.event;
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/**
 * The SDK's batch processor logs export failures through `diag` and moves on, so
 * `forceFlush()` resolves either way. This wrapper counts outcomes so that `flush()`
 * can tell the application whether its records were acknowledged.
 */
class OutcomeTrackingExporter implements LogRecordExporter {
  failures = 0;
  failedRecords = 0;
  lastError: Error | undefined;

  constructor(private readonly inner: LogRecordExporter) {}

  export(logs: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(logs, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) {
        this.failures += 1;
        this.failedRecords += logs.length;
        this.lastError = result.error ?? new Error('export failed');
      }
      resultCallback(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
