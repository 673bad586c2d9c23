import type { FastifyBaseLogger } from 'fastify';
import type { AuditEvent } from '@otel-audit/contract';
import { SpoolWriteError, type DiskSpool } from '@otel-audit/spool';
import type { AuditStore, HashChain, RejectedRecord } from '@otel-audit/store';
import { CollectorError } from '../errors.js';
import { boundedDeadLetter } from './dead-letter.js';
import type { CollectorMetrics } from './metrics.js';
import { RejectionLog } from './rejection-log.js';

/** One line of the collector's spool: an event for the store, or a dead letter. */
export type SpoolEntry = { event: AuditEvent } | { rejected: RejectedRecord };

export interface IngestOptions {
  store: AuditStore;
  /** Where batches wait while the store is unavailable; without one they are refused (503). */
  spool: DiskSpool<SpoolEntry> | undefined;
  metrics: CollectorMetrics;
  log: FastifyBaseLogger;
  /** Longest wait for the store before a batch goes to the spool instead. */
  storeTimeoutMillis: number;
  /** Tries of items the store refused with 429 / 5xx, within one request. */
  itemRetries: number;
  replayBatchSize: number;
  maxBackoffMillis: number;
  /** Largest stored JSON of one refused record; larger ones are kept truncated, with their size. */
  deadLetterMaxBytes: number;
  /**
   * Tamper evidence: the chain every stored event joins, once its head is recovered from
   * the store. Until then writes wait (up to the store timeout, then the spool), so no
   * event is stored without a position. Default: none (no chain).
   */
  chain?: { ready: Promise<HashChain>; afterInsert(): void } | undefined;
}

class StoreTimeout extends Error {}

/**
 * The collector's write path. A batch is acknowledged only once it is durable: created
 * in the store, or appended to the on-disk spool and fsynced. The spool is replayed in
 * order when the store answers again; replays are harmless because every write is a
 * create keyed by the event id.
 */
export class Ingestor {
  readonly #o: IngestOptions;
  /**
   * The warning about refused records, once per sender per minute. Here because every
   * receiver shares this one Ingestor: the limit holds whichever way a sender comes in.
   */
  readonly rejections: RejectionLog;
  #replaying: Promise<void> | undefined;
  #stopped = false;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: IngestOptions) {
    this.#o = opts;
    this.rejections = new RejectionLog(opts.log);
    if (opts.spool && opts.spool.length > 0) this.#scheduleReplay(0);
  }

  /** Resolves when everything is durable; throws a 503 CollectorError when nothing can keep it. */
  async ingest(events: AuditEvent[], rejected: RejectedRecord[]): Promise<void> {
    const { metrics } = this.#o;
    const toSpool: SpoolEntry[] = [];
    const refusedBefore = rejected.length;
    if (events.length > 0) {
      const leftover = await this.#storeEvents(events, rejected);
      toSpool.push(...leftover.map((event) => ({ event })));
    }
    if (rejected.length > 0) {
      const letters = rejected.map((r) => boundedDeadLetter(r, this.#o.deadLetterMaxBytes));
      try {
        await this.#withTimeout(this.#o.store.insertRejected(letters));
      } catch (err) {
        this.#o.log.warn({ err: String(err), records: letters.length }, 'dead-letter store unavailable; spooling');
        toSpool.push(...letters.map((r) => ({ rejected: r })));
      }
    }
    if (toSpool.length > 0) this.#spool(toSpool);
    // Events the store refused for good were moved to the dead letters above.
    metrics.accepted += events.length - (rejected.length - refusedBefore);
  }

  /** Writes to the store with per-item retries; returns the events the store could not take now. */
  async #storeEvents(events: AuditEvent[], rejected: RejectedRecord[]): Promise<AuditEvent[]> {
    const { metrics } = this.#o;
    let pending = events;
    for (let attempt = 0; ; attempt++) {
      let result;
      const started = process.hrtime.bigint();
      try {
        result = await this.#insert(pending);
      } catch (err) {
        this.#o.log.warn({ err: err instanceof StoreTimeout ? 'timeout' : String(err), records: pending.length }, 'store unavailable; spooling');
        return pending;
      } finally {
        metrics.observeStoreLatency(Number(process.hrtime.bigint() - started) / 1e9);
      }
      metrics.stored += result.created;
      metrics.duplicates += result.duplicates;
      const byId = new Map(pending.map((e) => [e.id, e]));
      // A mapping error will fail the same way every time: it becomes a dead letter, it
      // does not block the batch or loop.
      for (const f of result.failed.filter((f) => !f.retryable)) {
        metrics.reject('store_mapping', 1, byId.get(f.id)?.service?.name);
        rejected.push(deadLetter(byId.get(f.id), f.reason));
      }
      pending = result.failed.filter((f) => f.retryable).map((f) => byId.get(f.id)!);
      if (pending.length === 0) return [];
      if (attempt >= this.#o.itemRetries) return pending;
      metrics.retries += pending.length;
      await sleep(100 * 4 ** attempt);
    }
  }

  async #insert(events: AuditEvent[]) {
    const { chain } = this.#o;
    if (!chain) return this.#withTimeout(this.#o.store.insert(events));
    const result = await this.#withTimeout(chain.ready.then((c) => this.#o.store.insert(events, c)));
    chain.afterInsert();
    return result;
  }

  #spool(entries: SpoolEntry[]): void {
    const { spool, metrics } = this.#o;
    // Serialised once: the size check and the spool write use the same strings.
    const lines = entries.map((e) => JSON.stringify(e));
    const bytes = lines.reduce((n, l) => n + l.length, 0);
    if (!spool || !spool.hasRoom(bytes)) {
      metrics.refusedRequests += 1;
      // 503 + Retry-After: the OTLP client keeps the batch and tries again later.
      throw new CollectorError(
        'AUDIT_ERR_STORE_UNAVAILABLE',
        spool ? 'the audit store is unavailable and the spool is full; retry later' : undefined,
      );
    }
    try {
      spool.appendBatch(entries, lines, { fsync: true });
    } catch (err) {
      if (!(err instanceof SpoolWriteError)) throw err;
      // The spool kept none of the batch: refuse it like a full spool, naming the cause
      // (the errno, not the folder: the sender has no business knowing our paths).
      metrics.refusedRequests += 1;
      this.#o.log.error({ err: err.message, records: entries.length }, 'spool write failed; refusing the batch');
      const cause = err.code === 'AUDIT_ERR_SPOOL_DISK_FULL' ? "the spool's disk is full" : 'the spool cannot write';
      throw new CollectorError(err.code, `the audit store is unavailable and ${cause} (${err.errno}); retry later`, err);
    }
    metrics.spooled += entries.length;
    this.#scheduleReplay(0);
  }

  #withTimeout<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreTimeout()), this.#o.storeTimeoutMillis);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  #scheduleReplay(delay: number): void {
    if (this.#stopped || this.#timer || this.#replaying) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#replaying = this.#replay().finally(() => {
        this.#replaying = undefined;
      });
    }, delay);
  }

  async #replay(): Promise<void> {
    const { store, metrics } = this.#o;
    const spool = this.#o.spool!;
    while (!this.#stopped && spool.length > 0) {
      const batch = spool.peek(this.#o.replayBatchSize);
      const events = batch.flatMap((e) => ('event' in e ? [e.event] : []));
      const rejected = batch.flatMap((e) => ('rejected' in e ? [e.rejected] : []));
      try {
        const result = await this.#insert(events);
        if (result.failed.some((f) => f.retryable)) throw new Error(result.failed.find((f) => f.retryable)!.reason);
        const byId = new Map(events.map((e) => [e.id, e]));
        for (const f of result.failed) {
          metrics.reject('store_mapping', 1, byId.get(f.id)?.service?.name);
          rejected.push(boundedDeadLetter(deadLetter(byId.get(f.id), f.reason), this.#o.deadLetterMaxBytes));
        }
        await this.#withTimeout(store.insertRejected(rejected));
        metrics.stored += result.created;
        metrics.duplicates += result.duplicates;
        metrics.replayed += batch.length;
        spool.ack(batch.length);
        this.#failures = 0;
      } catch (err) {
        this.#failures += 1;
        const delay = Math.min(this.#o.maxBackoffMillis, 500 * 2 ** (this.#failures - 1));
        this.#o.log.warn({ err: String(err), pending: spool.length, retryInMs: delay }, 'spool replay failed');
        this.#scheduleReplay(delay);
        return;
      }
    }
    if (spool.length === 0 && this.#failures === 0) this.#o.log.info('spool drained');
  }

  /** Stops replaying; what is still spooled stays on disk for the next start. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#replaying;
    this.#o.spool?.close();
  }
}

function deadLetter(event: AuditEvent | undefined, reason: string): RejectedRecord {
  return {
    id: `store-${event?.id ?? 'unknown'}`,
    receivedAt: new Date().toISOString(),
    reason,
    serviceName: event?.service?.name,
    record: event ?? null,
    // A valid event the store refused: replay needs no original, the event is the record.
    problems: [{ field: '(store)', problem: reason }],
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
