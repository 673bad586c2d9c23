import type { AuditEvent } from '@otel-audit/contract';

/** Per-item outcome of a create-only write. */
export interface InsertFailure {
  id: string;
  reason: string;
  /** True for 429 / 5xx-style failures worth trying again; false for mapping errors. */
  retryable: boolean;
}

export interface InsertResult {
  created: number;
  /** Events whose id was already stored: a retry or a replay, counted as success. */
  duplicates: number;
  failed: InsertFailure[];
}

export interface EventQuery {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  /** By time, then by id. Default: `asc`. */
  order?: 'asc' | 'desc';
}

/**
 * One interface over Elasticsearch and the embedded SQLite store, so the collector and
 * the export service never know which one they have. Writes are create-only: an
 * event, once stored, is never overwritten.
 */
export interface AuditStore {
  readonly kind: 'elasticsearch' | 'sqlite';
  /** Human-readable location for logs, without credentials. */
  readonly description: string;
  /** Prepares schema or index template; idempotent. */
  init(): Promise<void>;
  insert(events: readonly AuditEvent[]): Promise<InsertResult>;
  /** Streams matching events in (time, id) order; stops early when `signal` aborts. */
  query(query: EventQuery, signal?: AbortSignal): AsyncIterable<AuditEvent>;
  /** True when the store answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
