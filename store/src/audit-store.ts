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

/** A record the collector could not accept, kept with its reason for inspection (never dropped). */
export interface RejectedRecord {
  /** Stable for the same record and reason, so a retried write is a duplicate, not a copy. */
  id: string;
  /** When the collector received it (ISO 8601). */
  receivedAt: string;
  reason: string;
  serviceName?: string | undefined;
  /** The record as the collector rebuilt it, before validation. */
  record: unknown;
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
  /** Keeps refused records in the dead-letter store; create-only by `id`. Throws when the store cannot take them. */
  insertRejected(records: readonly RejectedRecord[]): Promise<void>;
  /** Streams matching events in (time, id) order; stops early when `signal` aborts. */
  query(query: EventQuery, signal?: AbortSignal): AsyncIterable<AuditEvent>;
  /** True when the store answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
