import type { AuditEvent } from '@otel-audit/contract';
import type { SignedDigest } from './digest-signing.js';
import type { ChainedEvent, ChainTail, HashChain } from './hash-chain.js';

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
  /** Every problem in one line (`category: is required, time: …`), as partial_success reports it. */
  reason: string;
  serviceName?: string | undefined;
  /** The record as the collector rebuilt it, before validation. */
  record: unknown;
  /**
   * The record as the sender sent it (the collector's ReceivedRecord.original(): a one-record OTLP/JSON
   * request), so a misspelt attribute stays visible and the record can be replayed.
   * `{ truncated: true, originalBytes, head }` when it was larger than the collector's
   * bound (then it cannot be replayed); undefined in dead letters from before it was kept.
   */
  original?: unknown;
  /** The reason, per field (`{ field: 'category', problem: 'is required' }`); undefined in older dead letters. */
  problems?: DeadLetterProblem[] | undefined;
}

export interface DeadLetterProblem {
  /** The contract field (`actor.id`), or `(event)` / `(store)` / `(sender)` when no one field is at fault. */
  field: string;
  problem: string;
}

/** Which dead letters to read: all given conditions hold. */
export interface DeadLetterQuery {
  /** Received at or after. */
  since?: Date;
  serviceName?: string;
  /** Newest first stops after this many. Default: 1000. */
  limit?: number;
}

/**
 * Reading the dead-letter store, for operators (`otel-audit dead-letters`). Apart from
 * AuditStore because only an operator's tool reads dead letters: on Elasticsearch it
 * takes a user who may read audit-rejected-* (the admin), not the collector's writer
 * or the export service's reader.
 */
export interface DeadLetterReader {
  /** Newest first. */
  listRejected(query: DeadLetterQuery): Promise<RejectedRecord[]>;
  getRejected(id: string): Promise<RejectedRecord | undefined>;
}

/**
 * Conditions on events; all given ones must hold (AND), values within one list are
 * alternatives (OR). The export service puts the caller's scope here as well as the
 * caller's filters, so a filter can only narrow a scope, never widen it.
 */
export interface EventFilter {
  actorIds?: readonly string[];
  workspaceIds?: readonly string[];
  /** Exact actions or prefixes (`api_token.` from the `api_token.*` the user typed); either matches. */
  actions?: readonly string[];
  actionPrefixes?: readonly string[];
  categories?: readonly string[];
  outcomes?: readonly string[];
  resourceType?: string;
  resourceId?: string;
  /** An address, or a CIDR range (`10.0.0.0/8`, `2001:db8::/32`). */
  ip?: string;
  /** Events recorded inside this trace (32 lower-case hex digits, as stored). */
  traceId?: string;
  /** Words that must all appear in the message, the actor's name or the resource's name. Never query syntax. */
  text?: string;
}

/** Where the previous page ended: the last event's time and id. */
export interface EventCursor {
  time: string;
  id: string;
}

export interface EventQuery {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  /** By time, then by id. Default: `asc`. */
  order?: 'asc' | 'desc';
  filter?: EventFilter;
  /** Start after this event (keyset pagination). */
  after?: EventCursor;
  /** Stop after this many events. */
  limit?: number;
  /**
   * The event fields the reader needs (an export's columns: `exportFields`); a store may
   * leave the others out of the events it yields. Default: every field.
   */
  fields?: readonly (keyof AuditEvent)[];
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
  /**
   * Create-only by id. With a `chain`, every newly created event also gets the chain's next
   * position (`audit.chain.*`), in commit order; duplicates get none and the head moves
   * only past what the store kept (see HashChain).
   */
  insert(events: readonly AuditEvent[], chain?: HashChain): Promise<InsertResult>;
  /** Keeps refused records in the dead-letter store; create-only by `id`. Throws when the store cannot take them. */
  insertRejected(records: readonly RejectedRecord[]): Promise<void>;
  /** Streams matching events in (time, id) order; stops early when `signal` aborts. */
  query(query: EventQuery, signal?: AbortSignal): AsyncIterable<AuditEvent>;
  /** How many events match (ignores `after` and `limit`). */
  count(query: EventQuery): Promise<number>;
  /**
   * Retention: removes what is older than `cutoff`, events and dead letters alike.
   * `deleted` counts the documents or rows that went; `units` names what went (indices,
   * or tables with the bound), for the audit record of the deletion. Needs a user that
   * may delete (on Elasticsearch: delete_index on audit-*), not the create-only writer.
   */
  deleteOlderThan(cutoff: Date): Promise<{ deleted: number; units: string[] }>;
  /**
   * The highest stored position of a chain, and how many events (and which times) follow
   * `afterSeq`; undefined for an empty chain. Sees every write acknowledged before the call,
   * like `latestDigest`.
   */
  chainTail(chainId: string, afterSeq: number): Promise<ChainTail | undefined>;
  /** Create-only by (chain, last seq): a digest written twice is stored once. */
  insertDigest(digest: SignedDigest): Promise<void>;
  /**
   * A chain's latest digest, seeing every digest written before the call (on Elasticsearch
   * it refreshes first, which the writer role may do): how a collector recovers on start.
   */
  latestDigest(chainId: string): Promise<SignedDigest | undefined>;
  /** Digests, by chain id then last seq; only `chainId`'s when given. */
  digests(chainId?: string, signal?: AbortSignal): AsyncIterable<SignedDigest>;
  /** A chain's events from `fromSeq` on (to `toSeq`, inclusive, when given), by seq then id: what `verify` walks. */
  queryChain(chainId: string, fromSeq: number, toSeq?: number, signal?: AbortSignal): AsyncIterable<ChainedEvent>;
  /** Events in the range that carry no chain position, in id order: inserted behind the collector's back, or from before chaining. */
  unchained(range: { from: Date; to: Date }, signal?: AbortSignal): AsyncIterable<AuditEvent>;
  /** Chain ids of the events in the range. */
  chainIds(range: { from: Date; to: Date }): Promise<string[]>;
  /** True when the store answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
