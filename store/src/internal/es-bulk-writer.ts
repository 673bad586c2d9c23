import type { Client } from '@elastic/elasticsearch';
import type { AuditEvent } from '@otel-audit/contract';
import type { InsertResult } from '../audit-store.js';
import type { ChainPosition, HashChain } from '../hash-chain.js';
import { createLine, documentCanonical, documentLine } from './ecs-document-line.js';
import { indexFor } from './ecs-document.js';

/** A chained write whose outcome is not known yet (the bulk request threw). */
type Proposed = { event: AuditEvent; position: ChainPosition; kept?: boolean; reason?: string };

type BulkItem = { create?: { status: number; error?: { type?: string; reason?: string } } };

const retryable = (status: number) => status === 429 || status >= 500;
const failure = (op: { status: number; error?: { type?: string; reason?: string } }) =>
  `${op.error?.type ?? op.status}: ${op.error?.reason ?? 'bulk item failed'}`;

/**
 * The write side of the Elasticsearch store: create-only bulk writes, chained or not. The
 * bulk body is the events' own lines (documentLine), joined once; the answer is asked for
 * with only what is read from it (each item's status and error), so neither side builds or
 * parses what nobody uses.
 */
export class EsBulkWriter {
  readonly #client: Client;
  readonly #chainItemTries: number;
  /** Per chain: positions written by a bulk request that threw; settled before the next chained write. */
  readonly #unsettled = new Map<string, Proposed[]>();

  /** Copies of a shard that must be up before a bulk write goes ahead (IndexLayout); unset: Elasticsearch's default. */
  readonly #waitForActiveShards: number | 'all' | undefined;

  constructor(client: Client, chainItemTries: number, waitForActiveShards?: number | 'all') {
    this.#client = client;
    this.#chainItemTries = chainItemTries;
    this.#waitForActiveShards = waitForActiveShards;
  }

  async insert(events: readonly AuditEvent[], chain?: HashChain): Promise<InsertResult> {
    if (chain) {
      // Canonical forms do not depend on the position: made before the lock, so they overlap
      // the locked write's round trips instead of lengthening them (the chain's writes are one
      // at a time, and that lock was the bottleneck in the profile).
      const unique = [...new Map(events.map((e) => [e.id, e])).values()];
      const prepared = unique.map((event) => ({ event, canonical: documentCanonical(event) }));
      return chain.exclusive(() => this.#insertChained(prepared, events.length - unique.length, chain));
    }
    const result: InsertResult = { created: 0, duplicates: 0, failed: [] };
    if (events.length === 0) return result;
    const items = await this.#bulk(events.map((e) => `${createLine(indexFor(e.time), e.id)}\n${documentLine(e)}`));
    items.forEach((item, i) => {
      const op = item.create;
      if (!op) return;
      if (op.status === 201) result.created += 1;
      else if (op.status === 409) result.duplicates += 1;
      else result.failed.push({ id: events[i]!.id, reason: failure(op), retryable: retryable(op.status) });
    });
    return result;
  }

  /** `items`: one `action\ndocument` pair per event, without the final newline. */
  async #bulk(items: string[]): Promise<BulkItem[]> {
    // String items go out as they are: the client's ndjson serialiser only joins them.
    const response = await this.#client.bulk<string>({
      operations: items,
      filter_path: ['items.*.status', 'items.*.error.type', 'items.*.error.reason'],
      ...(this.#waitForActiveShards !== undefined ? { wait_for_active_shards: this.#waitForActiveShards } : {}),
    });
    return response.items as BulkItem[];
  }

  /**
   * A bulk request cannot be rolled back, so a duplicate must be known before it takes a
   * position: the ids are looked up first (mget on the event's own daily index), and only
   * new events are chained. Runs under the chain's lock: one chained write at a time, so
   * positions follow commit order. An item that still fails after `chainItemTries` at the
   * same position, or that another replica stored in between (409), is voided: the later
   * items already link through its hash, and the next signed digest lists it as never kept.
   */
  async #insertChained(unique: readonly { event: AuditEvent; canonical: string }[], repeated: number, chain: HashChain): Promise<InsertResult> {
    await this.#settle(chain);
    const result: InsertResult = { created: 0, duplicates: repeated, failed: [] };
    if (unique.length === 0) return result;
    const found = await this.#stored(unique.map((u) => u.event));
    const fresh = unique.filter((u) => !found.has(u.event.id));
    result.duplicates += unique.length - fresh.length;
    if (fresh.length === 0) return result;
    const positions = chain.propose(fresh);
    const proposed: (Proposed & { line: string })[] = fresh.map(({ event }, i) => ({
      event,
      position: positions[i]!,
      line: `${createLine(indexFor(event.time), event.id)}\n${documentLine(event, positions[i]!)}`,
    }));
    this.#unsettled.set(chain.id, proposed);
    let pending = proposed;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const items = await this.#bulk(pending.map((p) => p.line));
      const retry: typeof pending = [];
      items.forEach((item, i) => {
        const p = pending[i]!;
        const op = item.create!;
        if (op.status === 201) p.kept = true;
        else if (op.status === 409) {
          p.kept = false;
          p.reason = 'stored by another writer first';
          result.duplicates += 1;
        } else if (retryable(op.status) && attempt < this.#chainItemTries) retry.push(p);
        else {
          p.kept = false;
          p.reason = failure(op);
          result.failed.push({ id: p.event.id, reason: p.reason, retryable: retryable(op.status) });
        }
      });
      pending = retry;
      if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 100 * 4 ** (attempt - 1)));
    }
    result.created += proposed.filter((p) => p.kept).length;
    this.#unsettled.delete(chain.id);
    chain.commit(proposed.map((p) => ({ event: p.event, position: p.position, kept: p.kept === true, ...(p.reason ? { reason: p.reason } : {}) })));
    return result;
  }

  /** Ids of these events already stored (each looked up in its own daily index). */
  async #stored(events: readonly AuditEvent[]): Promise<Map<string, number | undefined>> {
    const response = await this.#client.mget<{ audit?: { chain?: { seq?: number } } }>({
      docs: events.map((e) => ({ _index: indexFor(e.time), _id: e.id })),
      _source_includes: ['audit.chain.seq', 'audit.chain.id'],
    });
    const found = new Map<string, number | undefined>();
    for (const doc of response.docs) {
      if ('found' in doc && doc.found) found.set(doc._id, doc._source?.audit?.chain?.seq);
      // A missing daily index is an error entry: not stored. Any other error is not knowable.
      else if ('error' in doc && doc.error.type !== 'index_not_found_exception') throw new Error(`mget ${doc._id}: ${doc.error.reason ?? doc.error.type}`);
    }
    return found;
  }

  /**
   * After a bulk request that threw, some of its items may be stored and some not. Before
   * the chain moves on, each is looked up: kept when stored at its position, voided when not.
   * Throws (and the write is spooled) while Elasticsearch cannot say.
   */
  async #settle(chain: HashChain): Promise<void> {
    const proposed = this.#unsettled.get(chain.id);
    if (!proposed) return;
    const found = await this.#stored(proposed.map((p) => p.event));
    this.#unsettled.delete(chain.id);
    chain.commit(
      proposed.map((p) => {
        const kept = p.kept ?? found.get(p.event.id) === p.position.seq;
        return { event: p.event, position: p.position, kept, ...(kept ? {} : { reason: p.reason ?? 'the write failed' }) };
      }),
    );
  }
}
