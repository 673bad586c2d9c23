import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { AuditEvent } from '@otel-audit/contract';
import type { AuditStore, DeadLetterQuery, DeadLetterReader, EventQuery, InsertResult, RejectedRecord } from './audit-store.js';
import type { SignedDigest } from './digest-signing.js';
import type { ChainTail, ChainedEvent, HashChain } from './hash-chain.js';
import { GroupCommit } from './internal/group-commit.js';
import { makePrivateDatabaseFile, makePrivateDir } from './internal/private-files.js';
import { eventFromDoc, eventFromRow, eventWriter, type InsertRequest } from './internal/sqlite-event-writer.js';
import { prepareSchema } from './internal/sqlite-schema.js';
import { ipMatcher, whereClause } from './internal/sqlite-where.js';
import { SqliteDeadLetters } from './sqlite-dead-letters.js';

/** Bytes per database page of a new file. */
const PAGE_SIZE = 16_384;

export interface SqliteStoreOptions {
  /** Database file; its folder is created. */
  path: string;
  /** Rows per retention transaction. Default: 5000. */
  deleteBatchSize?: number;
  /** Rows per keyset page when reading. Default: 1000. */
  pageSize?: number;
}

/** The embedded default: one file, WAL, create-only rows. */
export class SqliteStore implements AuditStore, DeadLetterReader {
  readonly kind = 'sqlite' as const;
  readonly description: string;
  readonly #db: Database.Database;
  readonly #pageSize: number;
  readonly #deleteBatchSize: number;
  readonly #writes: GroupCommit<InsertRequest, InsertResult>;
  readonly #deadLetters: SqliteDeadLetters;

  constructor(opts: SqliteStoreOptions) {
    makePrivateDir(dirname(opts.path));
    makePrivateDatabaseFile(opts.path);
    this.description = `sqlite ${opts.path}`;
    this.#pageSize = opts.pageSize ?? 1000;
    this.#deleteBatchSize = opts.deleteBatchSize ?? 5000;
    this.#db = new Database(opts.path);
    // Before WAL, which fixes it; a file that already has tables keeps its own. At the 4 KiB
    // default a row of ~1 KiB (the document) overflows its b-tree cell into pages of its own
    // and an export reads each row through two pages; 16 KiB pages hold it whole, and a
    // time-ordered read of the same rows ran about twice as fast (bench/RESULTS.md, issue 15).
    this.#db.pragma(`page_size = ${PAGE_SIZE}`);
    this.#db.pragma('journal_mode = WAL');
    // FULL, not NORMAL: the collector acknowledges a batch once it is committed, and an
    // acknowledged audit record must survive a power cut, not only a process crash. Group
    // commit (insert) is what keeps that affordable: one fsync per group, not per request.
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('busy_timeout = 5000');
    prepareSchema(this.#db);
    this.#writes = new GroupCommit(eventWriter(this.#db));
    this.#deadLetters = new SqliteDeadLetters(this.#db);
  }

  /**
   * The open connection, for other tables that live in the same file (export jobs): one
   * connection per process, so their writes never wait on each other's locks.
   */
  get database(): Database.Database {
    return this.#db;
  }

  async init(): Promise<void> {}

  async insertRejected(records: readonly RejectedRecord[]): Promise<void> {
    this.#deadLetters.insert(records);
  }

  /** Dead letters, oldest first: for tests. */
  rejected(): RejectedRecord[] {
    return this.#deadLetters.all();
  }

  listRejected(q: DeadLetterQuery): Promise<RejectedRecord[]> {
    return this.#deadLetters.listRejected(q);
  }

  getRejected(id: string): Promise<RejectedRecord | undefined> {
    return this.#deadLetters.getRejected(id);
  }

  /**
   * Concurrent calls share one transaction and one fsync (GroupCommit); each resolves only
   * once the commit holding its events returned. A group whose commit fails is committed
   * again call by call, so only a call whose own events fail is rejected.
   */
  insert(events: readonly AuditEvent[], chain?: HashChain): Promise<InsertResult> {
    return this.#writes.submit({ events, chain });
  }

  async chainTail(chainId: string, afterSeq: number): Promise<ChainTail | undefined> {
    const last = this.#db
      .prepare('SELECT chain_seq AS seq, chain_hash AS hash FROM audit_events WHERE chain_id = ? ORDER BY chain_seq DESC LIMIT 1')
      .get(chainId) as { seq: number; hash: string } | undefined;
    if (!last) return undefined;
    const after = this.#db
      .prepare('SELECT COUNT(*) AS n, MIN(time_ms) AS lo, MAX(time_ms) AS hi FROM audit_events WHERE chain_id = ? AND chain_seq > ?')
      .get(chainId, afterSeq) as { n: number; lo: number | null; hi: number | null };
    const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());
    return { lastSeq: last.seq, lastHash: last.hash, count: after.n, eventTimeFrom: iso(after.lo), eventTimeTo: iso(after.hi) };
  }

  async insertDigest(digest: SignedDigest): Promise<void> {
    this.#db
      .prepare('INSERT INTO audit_digests (chain_id, last_seq, doc) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
      .run(digest.chainId, digest.lastSeq, JSON.stringify(digest));
  }

  async latestDigest(chainId: string): Promise<SignedDigest | undefined> {
    const row = this.#db.prepare('SELECT doc FROM audit_digests WHERE chain_id = ? ORDER BY last_seq DESC LIMIT 1').get(chainId) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as SignedDigest) : undefined;
  }

  async *digests(chainId?: string): AsyncIterable<SignedDigest> {
    // Keyset pages, like query(): no statement stays open while the caller works.
    const page = this.#db.prepare(
      `SELECT chain_id, last_seq, doc FROM audit_digests WHERE (chain_id > ? OR (chain_id = ? AND last_seq > ?))${chainId === undefined ? '' : ' AND chain_id = ?'}
       ORDER BY chain_id, last_seq LIMIT ?`,
    );
    let last = { chain_id: '', last_seq: -1 };
    for (;;) {
      const params = [last.chain_id, last.chain_id, last.last_seq, ...(chainId === undefined ? [] : [chainId]), this.#pageSize];
      const rows = page.all(...params) as { chain_id: string; last_seq: number; doc: string }[];
      for (const row of rows) yield JSON.parse(row.doc) as SignedDigest;
      if (rows.length < this.#pageSize) return;
      last = rows.at(-1)!;
    }
  }

  async *queryChain(chainId: string, fromSeq: number, toSeq = Number.MAX_SAFE_INTEGER): AsyncIterable<ChainedEvent> {
    // The position goes into the range bound (see query()), so each page seeks the index.
    const page = this.#db.prepare(
      `SELECT id, doc, chain_seq, chain_hash FROM audit_events
       WHERE chain_id = ? AND chain_seq >= ? AND chain_seq <= ? AND (chain_seq > ? OR id > ?)
       ORDER BY chain_seq, id LIMIT ?`,
    );
    let last = { chain_seq: fromSeq, id: '' };
    for (;;) {
      const rows = page.all(chainId, last.chain_seq, toSeq, last.chain_seq, last.id, this.#pageSize) as {
        id: string;
        doc: string;
        chain_seq: number;
        chain_hash: string;
      }[];
      for (const row of rows) {
        yield { event: eventFromRow(row), chain: { id: chainId, seq: row.chain_seq, hash: row.chain_hash } };
      }
      if (rows.length < this.#pageSize) return;
      last = rows.at(-1)!;
    }
  }

  async *unchained(range: { from: Date; to: Date }): AsyncIterable<AuditEvent> {
    // Through the chain index (its NULL prefix), by id: a range of a million chained rows
    // costs nothing here, where the time index would visit every one of them.
    const page = this.#db.prepare(
      `SELECT id, doc FROM audit_events WHERE chain_id IS NULL AND chain_seq IS NULL AND id > ? AND time_ms >= ? AND time_ms < ?
       ORDER BY id LIMIT ?`,
    );
    let last = '';
    for (;;) {
      const rows = page.all(last, range.from.getTime(), range.to.getTime(), this.#pageSize) as { id: string; doc: string }[];
      for (const row of rows) yield eventFromRow(row);
      if (rows.length < this.#pageSize) return;
      last = rows.at(-1)!.id;
    }
  }

  async chainIds(range: { from: Date; to: Date }): Promise<string[]> {
    return (
      this.#db
        .prepare('SELECT DISTINCT chain_id FROM audit_events WHERE time_ms >= ? AND time_ms < ? AND chain_id IS NOT NULL ORDER BY chain_id')
        .all(range.from.getTime(), range.to.getTime()) as { chain_id: string }[]
    ).map((r) => r.chain_id);
  }

  async *query(q: EventQuery, signal?: AbortSignal): AsyncIterable<AuditEvent> {
    const desc = q.order === 'desc';
    const cmp = desc ? '<' : '>';
    const dir = desc ? 'DESC' : 'ASC';
    const where = whereClause(q);
    // Where the last page ended goes into the range bound itself (`time_ms >= last`, not
    // `time_ms >= from AND … > last`): SQLite seeks the (time_ms, id) index with one lower
    // bound only, and with `from` it walked from the range start on every page. That was
    // quadratic, minutes at a million rows (found by bench/export-throughput.ts).
    const sql = (keyset: string) =>
      `SELECT time_ms, id, doc FROM audit_events WHERE ${where.sql}${keyset} ORDER BY time_ms ${dir}, id ${dir} LIMIT ?`;
    // Rows as arrays, not objects keyed by column name: one object fewer per row read
    // (the raw read of an export's rows ran about a tenth faster).
    const first = this.#db.prepare(sql('')).raw(true);
    const next = this.#db.prepare(sql(` AND (time_ms ${cmp} ? OR id ${cmp} ?)`)).raw(true);
    // whereClause puts the range first: [from, to, …].
    const boundedAt = (t: number) => (desc ? [where.params[0], t + 1] : [t, where.params[1]]).concat(where.params.slice(2));
    const inRange = ipMatcher(q.filter?.ip);
    let last: [timeMs: number, id: string, doc: string] | undefined = q.after ? [Date.parse(q.after.time), q.after.id, ''] : undefined;
    let remaining = q.limit ?? Number.POSITIVE_INFINITY;
    for (;;) {
      signal?.throwIfAborted();
      // Keyset pages, each its own short read: no statement stays open across a slow
      // consumer, so writers are never held up by an export.
      const rows = (last ? next.all(...boundedAt(last[0]), last[0], last[1], this.#pageSize) : first.all(...where.params, this.#pageSize)) as [
        timeMs: number,
        id: string,
        doc: string,
      ][];
      for (const row of rows) {
        const event = eventFromDoc(row[2]);
        if (inRange && !inRange(event.client?.ip)) continue;
        yield event;
        if (--remaining <= 0) return;
      }
      if (rows.length < this.#pageSize) return;
      last = rows.at(-1);
    }
  }

  async count(q: EventQuery): Promise<number> {
    if (q.filter?.ip?.includes('/')) {
      // A CIDR range is matched in code (SQLite has no address type): count by reading.
      let n = 0;
      for await (const event of this.query({ ...q, after: undefined, limit: undefined })) if (event) n += 1;
      return n;
    }
    const where = whereClause(q);
    return (this.#db.prepare(`SELECT COUNT(*) AS n FROM audit_events WHERE ${where.sql}`).get(...where.params) as { n: number }).n;
  }

  /**
   * In batches, each its own short transaction with a turn of the event loop between
   * them: one DELETE over years of rows would hold the write lock, and the collector's
   * inserts, for as long as it ran.
   */
  async deleteOlderThan(cutoff: Date): Promise<{ deleted: number; units: string[] }> {
    const bound = cutoff.getTime();
    const iso = cutoff.toISOString();
    const units: string[] = [];
    let deleted = 0;
    for (const [table, column] of [
      ['audit_events', 'time_ms'],
      ['audit_rejected', 'received_ms'],
    ] as const) {
      const batch = this.#db.prepare(
        `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE ${column} < ? ORDER BY ${column} LIMIT ?)`,
      );
      let fromTable = 0;
      for (;;) {
        const { changes } = batch.run(bound, this.#deleteBatchSize);
        fromTable += changes;
        if (changes < this.#deleteBatchSize) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (fromTable > 0) units.push(`${table} < ${iso}`);
      deleted += fromTable;
    }
    return { deleted, units };
  }

  async ping(): Promise<boolean> {
    return this.#db.open;
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}

