import type Database from 'better-sqlite3';
import type { AuditEvent } from '@otel-audit/contract';
import type { InsertResult } from '../audit-store.js';
import { chainHash, type ChainPosition, type HashChain } from '../hash-chain.js';
import { canonicalJson } from './canonical-json.js';

/** One caller's insert: its events, and the chain they join, if any. */
export interface InsertRequest {
  events: readonly AuditEvent[];
  chain: HashChain | undefined;
}

/** An event as its `audit_events` row: the columns SQLite filters on, and the document itself. */
export function eventRow(event: AuditEvent, doc: string, position: ChainPosition | undefined): unknown[] {
  return [
    event.id,
    Date.parse(event.time),
    event.action,
    event.category,
    event.outcome,
    event.actor.id,
    event.workspace?.id ?? null,
    event.service?.name ?? null,
    doc,
    position?.id ?? null,
    position?.seq ?? null,
    position?.hash ?? null,
    event.traceId ?? null,
  ];
}

/** The row's inverse: `doc` is the contract event as it was stored, and hashed. */
export function eventFromRow(row: { doc: string }): AuditEvent {
  return eventFromDoc(row.doc);
}

/** The event a row's `doc` holds: the parse is the whole mapping, nothing is rebuilt. */
export function eventFromDoc(doc: string): AuditEvent {
  return JSON.parse(doc) as AuditEvent;
}

/**
 * The bytes the chain hashes for an event stored as `doc`: the canonical form of the event
 * as `query` returns it (`JSON.parse(doc)`). For a validated event that is the canonical
 * form of the event itself, so the parse is skipped; only a value JSON cannot hold (a
 * non-finite number, which validation refuses anyway) takes the long way and is hashed as
 * it is stored (null).
 */
export function canonicalOfStored(event: AuditEvent, doc: string): string {
  try {
    return canonicalJson(event);
  } catch {
    return canonicalJson(JSON.parse(doc));
  }
}

/**
 * Writes the inserts of several callers in one transaction, one result per caller. The
 * next chain position is tried with each row; a duplicate (no change) does not take it, so
 * re-sent events leave no gap. The transaction is synchronous: nothing else runs between
 * the head being read and moved, so no lock is needed; the head moves only after COMMIT,
 * and a write that throws rolls back and leaves it where it was.
 */
export function eventWriter(db: Database.Database): (requests: readonly InsertRequest[]) => InsertResult[] {
  // ON CONFLICT DO NOTHING: create-only; an existing id is a duplicate, never replaced.
  const insert = db.prepare(
    `INSERT INTO audit_events (id, time_ms, action, category, outcome, actor_id, workspace_id, service_name, doc, chain_id, chain_seq, chain_hash, trace_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
  );
  type Kept = { event: AuditEvent; position: ChainPosition; kept: true };
  const write = db.transaction((requests: readonly InsertRequest[]) => {
    const heads = new Map<HashChain, { seq: number; hash: string }>();
    const kept = new Map<HashChain, Kept[]>();
    const results = requests.map(({ events, chain }) => {
      const result: InsertResult = { created: 0, duplicates: 0, failed: [] };
      let head = chain && (heads.get(chain) ?? chain.head);
      for (const e of events) {
        const doc = JSON.stringify(e);
        const position = chain && head ? { id: chain.id, seq: head.seq + 1, hash: chainHash(canonicalOfStored(e, doc), head.hash) } : undefined;
        if (insert.run(eventRow(e, doc, position)).changes === 1) {
          result.created += 1;
          if (position) {
            let list = kept.get(chain!);
            if (!list) kept.set(chain!, (list = []));
            list.push({ event: e, position, kept: true });
            head = position;
          }
        } else result.duplicates += 1;
      }
      if (chain && head) heads.set(chain, head);
      return result;
    });
    return { results, kept };
  });
  return (requests) => {
    const { results, kept } = write(requests);
    for (const [chain, positions] of kept) chain.commit(positions);
    return results;
  };
}
