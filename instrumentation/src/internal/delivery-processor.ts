import { ExportResultCode, hrTime, type ExportResult } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import { AuditError } from '../errors.js';
import type { DeliveryQueue } from './delivery-queue.js';
import { undeliveredError, type UndeliveredReport } from './undelivered-report.js';
import { toReadableLogRecord, type QueuedEvent } from './queued-event.js';

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
  /** The spool's folder, named in what flush() and shutdown() report; none for a memory queue. */
  spoolDir?: string | undefined;
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
  deadline?: NodeJS.Timeout;
}

/**
 * Takes the place of the SDK's BatchLogRecordProcessor, which drops records when its
 * queue is full and forgets them on a failed export (opentelemetry-js #2833), and feeds
 * the SDK's exporter directly. A record leaves the queue only when the collector
 * acknowledged it; a failed export is retried with exponential backoff, forever, while
 * the record stays at the head of the queue. flush() and shutdown() wait for that up to
 * a deadline and then report exactly what is still unacknowledged.
 */
export class DeliveryProcessor {
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
  /** The export attempt under way, if any. */
  #attempt: Promise<unknown> | undefined;
  #lastError: Error | undefined;

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

  enqueue(record: QueuedEvent): void {
    this.#o.queue.append(record, JSON.stringify(record));
    this.#queued += 1;
    this.#stats.recorded += 1;
    if (this.#o.queue.length >= this.#o.maxBatchSize) this.#kick();
    else if (!this.#timer && !this.#sending) {
      this.#timer = setTimeout(() => this.#kick(), this.#o.scheduledDelayMillis);
      this.#timer.unref();
    }
  }

  /**
   * Resolves once everything queued so far is acknowledged. Failed exports meanwhile are
   * retried (with the backoff policy) until `timeoutMillis`; then it rejects with
   * AUDIT_ERR_DELIVERY_FAILED whose details are an UndeliveredReport. An export attempt
   * under way at the deadline is let finish (it is bounded by the exporter's own timeout)
   * so that the count is exact, not a guess about a request in flight.
   */
  flush(timeoutMillis: number): Promise<void> {
    const target = this.#queued;
    if (this.#acked >= target) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { target, resolve };
      this.#waiters.push(waiter);
      // Not unref'd: an app awaiting shutdown() in its last turn must not exit while the
      // queue waits out a backoff (whose timer is unref'd), losing what it held.
      waiter.deadline = setTimeout(() => {
        if (!this.#waiters.includes(waiter)) return;
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        void Promise.resolve(this.#attempt).then(() => {
          const undelivered = Math.max(0, target - this.#acked);
          if (undelivered === 0) resolve();
          else reject(this.#undelivered(undelivered, timeoutMillis, this.#o.spoolDir ? 'spool' : 'memory'));
        });
      }, timeoutMillis);
      // A flush does not wait out a backoff: it asks for an attempt now.
      this.#wakeBackoff?.();
      this.#kick();
    });
  }

  /**
   * Flushes up to `timeoutMillis`, stops delivery, and releases the queue and exporter.
   * Rejects, as flush() does, when records are left: they stay in the spool, or, in
   * memory, are dropped, and the report says which and how many.
   */
  async shutdown(timeoutMillis: number): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.flush(timeoutMillis);
    } catch {
      // Counted again below, once nothing more can be acknowledged.
    }
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#wakeBackoff?.();
    await this.#sending;
    const undelivered = this.#o.queue.length;
    this.#o.queue.close();
    await this.#o.exporter.shutdown();
    if (undelivered > 0) throw this.#undelivered(undelivered, timeoutMillis, this.#o.spoolDir ? 'spool' : 'dropped');
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
        this.#lastError = result.error ?? new Error('export failed');
        this.#tell(this.#deliveryError(this.#lastError));
        await this.#backoff();
      }
    }
  }

  #export(batch: QueuedEvent[]): Promise<ExportResult> {
    const { resource, scope } = this.#o;
    const attempt = new Promise<ExportResult>((resolve) => {
      try {
        const observed = hrTime();
        this.#o.exporter.export(
          batch.map((r) => toReadableLogRecord(r, resource, scope, observed)),
          resolve,
        );
      } catch (error) {
        resolve({ code: ExportResultCode.FAILED, error: error as Error });
      }
    });
    this.#attempt = attempt;
    return attempt;
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
    for (const w of done) {
      clearTimeout(w.deadline);
      w.resolve();
    }
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

  #undelivered(undelivered: number, timeoutMillis: number, kept: UndeliveredReport['kept']): AuditError {
    return undeliveredError({ undelivered, kept, spoolDir: this.#o.spoolDir, timeoutMillis, lastError: this.#lastError });
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
