import type { Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { LogRecordExporter, LogRecordProcessor, ReadWriteLogRecord, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { AuditError } from '../errors.js';
import type { DeliveryQueue, QueuedRecord } from './delivery-queue.js';

export interface DeliveryStats {
  /** Records accepted by `record()` in this process (replayed ones not included). */
  recorded: number;
  /** Records the collector acknowledged, replayed ones included. */
  acknowledged: number;
  /** Records sent again after a failed export. */
  retried: number;
  /** Records refused because the queue was full. */
  refused: number;
  /** Records waiting for acknowledgement now. */
  pending: number;
  pendingBytes: number;
  /** Records found in the spool at start-up, from an earlier run. */
  replayed: number;
}

export interface DeliveryProcessorOptions {
  exporter: LogRecordExporter;
  queue: DeliveryQueue;
  resource: Resource;
  scope: { name: string; version?: string };
  maxBatchSize: number;
  scheduledDelayMillis: number;
  initialBackoffMillis: number;
  maxBackoffMillis: number;
  /** Told of every failed export; whatever it throws is ignored. */
  onDeliveryError?: ((error: AuditError, state: DeliveryFailureState) => void) | undefined;
}

/** What `onDeliveryError` is told beside the error. */
export interface DeliveryFailureState {
  /** Records waiting for acknowledgement (all kept, retried with backoff). */
  pending: number;
  /** Failed exports in a row, this one included: 1 starts a failure streak. */
  consecutiveFailures: number;
}

interface Waiter {
  target: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Replaces the SDK's BatchLogRecordProcessor, which drops records when its queue is full
 * and forgets them on a failed export (opentelemetry-js #2833). Here a record leaves the
 * queue only when the collector acknowledged it; a failed export is retried with
 * exponential backoff, forever, while the record stays at the head of the queue.
 */
export class DeliveryProcessor implements LogRecordProcessor {
  readonly #o: DeliveryProcessorOptions;
  readonly #stats: Omit<DeliveryStats, 'pending' | 'pendingBytes'>;
  /** Sequence numbers: how many records were ever queued / acknowledged. */
  #queued: number;
  #acked = 0;
  #waiters: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #failures = 0;
  #stopped = false;
  #wakeBackoff: (() => void) | undefined;

  constructor(opts: DeliveryProcessorOptions) {
    this.#o = opts;
    this.#queued = opts.queue.length;
    this.#stats = { recorded: 0, acknowledged: 0, retried: 0, refused: 0, replayed: opts.queue.length };
    if (this.#queued > 0) this.#kick();
  }

  stats(): DeliveryStats {
    return { ...this.#stats, pending: this.#o.queue.length, pendingBytes: this.#o.queue.bytes };
  }

  /** Room for one more record (its size is known only once serialised, so the byte bound may be passed by one). */
  hasRoom(): boolean {
    return this.#o.queue.hasRoom(0);
  }

  countRefused(): void {
    this.#stats.refused += 1;
  }

  onEmit(logRecord: ReadWriteLogRecord, _context?: Context): void {
    const record: QueuedRecord = {
      hrTime: logRecord.hrTime,
      hrTimeObserved: logRecord.hrTimeObserved,
      eventName: logRecord.eventName,
      severityNumber: logRecord.severityNumber,
      severityText: logRecord.severityText,
      body: logRecord.body,
      attributes: logRecord.attributes,
      ...(logRecord.spanContext
        ? {
            spanContext: {
              traceId: logRecord.spanContext.traceId,
              spanId: logRecord.spanContext.spanId,
              traceFlags: logRecord.spanContext.traceFlags,
            },
          }
        : {}),
    };
    this.#o.queue.append(record, JSON.stringify(record));
    this.#queued += 1;
    this.#stats.recorded += 1;
    if (this.#o.queue.length >= this.#o.maxBatchSize) this.#kick();
    else if (!this.#timer && !this.#sending) {
      this.#timer = setTimeout(() => this.#kick(), this.#o.scheduledDelayMillis);
      this.#timer.unref();
    }
  }

  /** Resolves once everything queued so far is acknowledged; rejects on the first failed export meanwhile. */
  flush(timeoutMillis?: number): Promise<void> {
    const target = this.#queued;
    if (this.#acked >= target) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { target, resolve, reject };
      this.#waiters.push(waiter);
      if (timeoutMillis !== undefined) {
        setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(this.#deliveryError(new Error(`not acknowledged within ${timeoutMillis} ms`)));
        }, timeoutMillis).unref();
      }
      // A flush does not wait out a backoff: it asks for an attempt now.
      this.#wakeBackoff?.();
      this.#kick();
    });
  }

  forceFlush(): Promise<void> {
    return this.flush();
  }

  async shutdown(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#wakeBackoff?.();
    await this.#sending;
    this.#o.queue.close();
    await this.#o.exporter.shutdown();
  }

  #kick(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#sending || this.#stopped) return;
    this.#sending = this.#drain().finally(() => {
      this.#sending = undefined;
      // Records that arrived during the last export wait for the next batch window.
      if (!this.#stopped && this.#o.queue.length > 0 && !this.#timer) {
        this.#timer = setTimeout(() => this.#kick(), this.#o.scheduledDelayMillis);
        this.#timer.unref();
      }
    });
  }

  async #drain(): Promise<void> {
    while (!this.#stopped && this.#o.queue.length > 0) {
      const batch = this.#o.queue.peek(this.#o.maxBatchSize);
      const result = await this.#export(batch);
      if (result.code === ExportResultCode.SUCCESS) {
        this.#o.queue.ack(batch.length);
        this.#acked += batch.length;
        this.#stats.acknowledged += batch.length;
        this.#failures = 0;
        this.#settle();
        // Keep going only for full batches or a waiting flush; otherwise batch up.
        if (this.#o.queue.length < this.#o.maxBatchSize && this.#waiters.length === 0) return;
      } else {
        this.#failures += 1;
        this.#stats.retried += batch.length;
        const err = this.#deliveryError(result.error ?? new Error('export failed'));
        for (const w of this.#waiters.splice(0)) w.reject(err);
        this.#tell(err);
        await this.#backoff();
      }
    }
  }

  #export(batch: QueuedRecord[]): Promise<ExportResult> {
    const { resource, scope } = this.#o;
    const logs: ReadableLogRecord[] = batch.map((r) => ({
      ...r,
      resource,
      instrumentationScope: scope,
      droppedAttributesCount: 0,
    }));
    return new Promise((resolve) => {
      try {
        this.#o.exporter.export(logs, resolve);
      } catch (error) {
        resolve({ code: ExportResultCode.FAILED, error: error as Error });
      }
    });
  }

  #tell(err: AuditError): void {
    try {
      this.#o.onDeliveryError?.(err, { pending: this.#o.queue.length, consecutiveFailures: this.#failures });
    } catch {
      // A hook's own failure must not stop delivery: the records are still queued and retried.
    }
  }

  #settle(): void {
    const done = this.#waiters.filter((w) => w.target <= this.#acked);
    this.#waiters = this.#waiters.filter((w) => w.target > this.#acked);
    for (const w of done) w.resolve();
  }

  #backoff(): Promise<void> {
    // Full jitter (AWS architecture blog): retrying clients do not synchronise.
    const cap = Math.min(this.#o.maxBackoffMillis, this.#o.initialBackoffMillis * 2 ** (this.#failures - 1));
    const delay = Math.random() * cap;
    return new Promise((resolve) => {
      const timer = setTimeout(done, delay);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeBackoff = () => {
        this.#wakeBackoff = undefined;
        done();
      };
    });
  }

  #deliveryError(cause: Error): AuditError {
    const pending = this.#o.queue.length;
    return new AuditError(
      'AUDIT_ERR_DELIVERY_FAILED',
      `${pending} audit record(s) not yet acknowledged by the collector: ${cause.message}`,
      { pending },
      cause,
    );
  }
}
