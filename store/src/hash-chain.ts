import { createHash } from 'node:crypto';
import type { AuditEvent } from '@otel-audit/contract';
import { canonicalJson } from './internal/canonical-json.js';

/**
 * Tamper evidence, the CloudTrail way (issue 8): every collector instance keeps a hash
 * chain over the events it stores, `hash_n = SHA-256(canonical(event_n) ‖ hash_(n-1))`,
 * and signs digests of it with a key that never enters the store. The chain alone proves
 * nothing against someone who can rewrite rows (they can recompute it); the signed digests
 * pin it, and `otel-audit verify` checks both.
 */

/** Where an event sits in its chain; stored as `audit.chain.{id,seq,hash}` (ES) or chain_* columns (SQLite). */
export interface ChainPosition {
  id: string;
  /** 1, 2, 3 … without gaps. */
  seq: number;
  /** Lower-case hex SHA-256. */
  hash: string;
}

/** An event as `queryChain` returns it: the contract event and its position, if it has one. */
export interface ChainedEvent {
  event: AuditEvent;
  chain: ChainPosition | undefined;
}

/** The previous hash of seq 1. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * RFC 8785 canonical JSON of an event exactly as the store returns it: sorted keys,
 * shortest round-trip numbers, no whitespace. The bytes are those of the `canonicalize`
 * package (the reference implementation's); numbers are formatted by the engine, never by
 * hand, which is where such schemes break. See internal/canonical-json.ts for why it is
 * not that package itself on this path.
 */
export function canonicalEvent(event: AuditEvent): string {
  return canonicalJson(event);
}

export function chainHash(canonical: string, previousHash: string): string {
  return createHash('sha256').update(canonical).update(previousHash).digest('hex');
}

/** What a digest covers, accumulated between two digests. */
export interface ChainSpan {
  chainId: string;
  firstSeq: number;
  lastSeq: number;
  lastHash: string;
  /** Positions in the span, voided ones included: lastSeq - firstSeq + 1. */
  count: number;
  /** Earliest and latest event time in the span (ISO 8601). */
  eventTimeFrom: string;
  eventTimeTo: string;
  /**
   * Positions the collector assigned but the store did not keep (an item failed, or another
   * replica stored the same event first). Their hashes are known, so the chain continues
   * verifiably across them, and the signed digest says they were never there.
   */
  voided: { seq: number; id: string; hash: string; reason: string }[];
}

/** The highest position of a chain in the store, and what is not yet covered by a digest. */
export interface ChainTail {
  lastSeq: number;
  lastHash: string;
  /** Events after `afterSeq`; undefined times when there are none. */
  count: number;
  eventTimeFrom: string | undefined;
  eventTimeTo: string | undefined;
}

/**
 * One chain's head, held in process. Stores call `append` from inside their own write
 * critical section (`exclusive`), so positions are handed out in the order writes are
 * committed and two concurrent batches never interleave. Nothing moves until the store
 * says the write is durable: a failed write leaves the head where it was.
 */
export class HashChain {
  readonly id: string;
  #seq: number;
  #hash: string;
  #span: ChainSpan | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(id: string, head: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH }, pending?: ChainSpan) {
    this.id = id;
    this.#seq = head.seq;
    this.#hash = head.hash;
    this.#span = pending;
  }

  get head(): { seq: number; hash: string } {
    return { seq: this.#seq, hash: this.#hash };
  }

  /** Positions not yet covered by a digest. */
  get pending(): number {
    return this.#span?.count ?? 0;
  }

  /** Runs `fn` alone: one write of this chain at a time, in call order. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Positions for `events` after the head, without moving it: the store writes them, then
   * calls `commit` with what it kept. Each item's hash links to the one before it.
   */
  propose(events: readonly { event: AuditEvent; canonical: string }[]): ChainPosition[] {
    let hash = this.#hash;
    return events.map(({ canonical }, i) => {
      hash = chainHash(canonical, hash);
      return { id: this.id, seq: this.#seq + i + 1, hash };
    });
  }

  /**
   * Moves the head past proposed positions the store has made durable. Positions that were
   * proposed but not kept are voided (recorded in the next digest) so that later ones,
   * already written with hashes that link through them, still verify.
   */
  commit(
    proposed: readonly { event: AuditEvent; position: ChainPosition; kept: boolean; reason?: string }[],
  ): void {
    for (const p of proposed) {
      if (p.position.seq !== this.#seq + 1) throw new Error(`chain ${this.id}: seq ${p.position.seq} committed after ${this.#seq}`);
      this.#seq = p.position.seq;
      this.#hash = p.position.hash;
      const span = (this.#span ??= {
        chainId: this.id,
        firstSeq: p.position.seq,
        lastSeq: p.position.seq,
        lastHash: p.position.hash,
        count: 0,
        eventTimeFrom: new Date(p.event.time).toISOString(),
        eventTimeTo: new Date(p.event.time).toISOString(),
        voided: [],
      });
      span.lastSeq = p.position.seq;
      span.lastHash = p.position.hash;
      span.count += 1;
      if (!p.kept) span.voided.push({ seq: p.position.seq, id: p.event.id, hash: p.position.hash, reason: p.reason ?? 'not stored' });
      else {
        // Instants, not strings: the contract allows offsets and any number of fraction digits.
        const t = new Date(p.event.time).toISOString();
        if (t < span.eventTimeFrom) span.eventTimeFrom = t;
        if (t > span.eventTimeTo) span.eventTimeTo = t;
      }
    }
  }

  /** Takes what the next digest covers; `restore` puts it back when the digest could not be written. */
  takeSpan(): ChainSpan | undefined {
    const span = this.#span;
    this.#span = undefined;
    return span;
  }

  restoreSpan(span: ChainSpan): void {
    const later = this.#span;
    if (!later) {
      this.#span = span;
      return;
    }
    // Positions committed while the digest write was failing: one span from the older start.
    const times = [span.eventTimeFrom, span.eventTimeTo, later.eventTimeFrom, later.eventTimeTo].sort();
    this.#span = {
      ...later,
      firstSeq: span.firstSeq,
      count: span.count + later.count,
      eventTimeFrom: times[0]!,
      eventTimeTo: times.at(-1)!,
      voided: [...span.voided, ...later.voided],
    };
  }
}
