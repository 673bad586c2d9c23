import { v7 as uuidv7 } from 'uuid';
import type { FastifyBaseLogger } from 'fastify';
import { validateAuditEvent, type AuditEvent } from '@otel-audit/contract';
import { ElasticsearchStore, type AuditStore } from '@otel-audit/store';
import type { CollectorConfig } from '../collector-config.js';

export interface RetentionOptions {
  /** Days kept, counted back from the start of today (UTC). 0 keeps everything. */
  days: number;
  /**
   * The store deletions go through: on Elasticsearch one with the admin (set-up) user,
   * since the collector's writer may only create; on SQLite the collector's own store.
   */
  store: AuditStore;
  /** Between runs. Default: 1 hour. */
  intervalMs?: number;
  /** Told about every retention event recorded, after it is stored. */
  audit?: (event: AuditEvent) => void;
}

export const RETENTION_DEFAULT_INTERVAL_MS = 60 * 60 * 1000;
const DAY_MS = 86_400_000;
const ACTOR = { id: 'otel-audit-collector', type: 'system' } as const;

/** The start of today (UTC) minus `days`: whole days, so every run of a day agrees. */
export function retentionCutoff(days: number, now: Date = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - days * DAY_MS);
}

/**
 * Deletes what is past the retention period, once shortly after start and then every
 * interval, and records each deletion as a system audit event, stored like any other.
 * Nothing here may stop the collector: a failure is logged and the next run tries again.
 */
export class RetentionJob {
  readonly #o: RetentionOptions & { intervalMs: number };
  readonly #record: (event: AuditEvent) => Promise<void>;
  readonly #log: FastifyBaseLogger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  // A deletion whose record could not be stored yet: kept until it is, since the data it
  // describes is already gone and cannot be counted again.
  #unrecorded: AuditEvent | undefined;

  constructor(opts: RetentionOptions, record: (event: AuditEvent) => Promise<void>, log: FastifyBaseLogger) {
    if (!Number.isInteger(opts.days) || opts.days < 1) throw new Error(`retention days must be a positive integer, got ${opts.days}`);
    this.#o = { ...opts, intervalMs: opts.intervalMs ?? RETENTION_DEFAULT_INTERVAL_MS };
    this.#record = record;
    this.#log = log;
  }

  start(): void {
    // Not at once: start-up (template, spool replay) goes first.
    this.#schedule(Math.min(this.#o.intervalMs, 5_000));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    // Lets a deletion in progress finish before the store is closed under it.
    await this.#running;
  }

  /** One pass; resolves when it is over, whatever happened. */
  async runOnce(now: Date = new Date()): Promise<void> {
    const cutoff = retentionCutoff(this.#o.days, now);
    try {
      if (this.#unrecorded) await this.#store(this.#unrecorded);
      const { deleted, units } = await this.#o.store.deleteOlderThan(cutoff);
      this.#log.info({ cutoff: cutoff.toISOString(), deleted, units: units.length }, 'retention run');
      if (deleted > 0 || units.length > 0) await this.#store(this.#event(cutoff, deleted, units, now));
    } catch (err) {
      this.#log.error({ err, cutoff: cutoff.toISOString() }, 'retention run failed; retrying next interval');
    }
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.runOnce().finally(() => {
        this.#running = undefined;
        this.#schedule(this.#o.intervalMs);
      });
    }, delayMs);
    // A pending run must not keep the process alive on its own.
    this.#timer.unref();
  }

  async #store(event: AuditEvent): Promise<void> {
    this.#unrecorded = event;
    await this.#record(event);
    this.#unrecorded = undefined;
    this.#o.audit?.(event);
  }

  #event(cutoff: Date, deleted: number, units: string[], now: Date): AuditEvent {
    const candidate = {
      id: uuidv7({ msecs: now.getTime() }),
      time: now.toISOString(),
      action: 'retention.delete',
      category: 'system',
      outcome: 'success',
      actor: { ...ACTOR },
      message: `Deleted ${deleted} events older than ${cutoff.toISOString()}`,
      metadata: { days: this.#o.days, deleted, units: units.join(',').slice(0, 500) },
      service: { name: ACTOR.id },
    };
    const result = validateAuditEvent(candidate);
    // Only a bug here could fail this: better loud in the log than a malformed record.
    if (!result.ok) throw new Error(`retention event is invalid: ${result.problems.join(', ')}`);
    return result.event;
  }
}

export interface RetentionSetup {
  /** For `buildCollector`; undefined when retention is off. */
  options: RetentionOptions | undefined;
  /** One line to log at start when retention is off for lack of credentials. */
  warning: string | undefined;
  /** Closes the deletion store when it is not the collector's own. */
  close(): Promise<void>;
}

/**
 * The retention options the configuration asks for. On Elasticsearch deletions need a
 * user the collector's create-only writer is not, so without the retention credentials
 * retention is off (with a warning), never attempted with a user that must fail.
 */
export function retentionFromConfig(config: Pick<CollectorConfig, 'retention' | 'store'>, store: AuditStore): RetentionSetup {
  const off = (warning?: string): RetentionSetup => ({ options: undefined, warning, close: async () => {} });
  const { days } = config.retention;
  if (days === 0) return off();
  const es = config.store.elasticsearch;
  if (!es) return { options: { days, store }, warning: undefined, close: async () => {} };
  const credentials = config.retention.elasticsearch;
  if (!credentials) {
    return off(
      `retention is off: AUDIT_RETENTION_DAYS=${days}, but deleting indices needs the admin user in AUDIT_RETENTION_ELASTICSEARCH_USERNAME / _PASSWORD`,
    );
  }
  const admin = new ElasticsearchStore({ url: es.url, ...credentials, installTemplate: false });
  return { options: { days, store: admin }, warning: undefined, close: () => admin.close() };
}
