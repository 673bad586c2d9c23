import { dirname } from 'node:path';
import { BlockList, isIP } from 'node:net';
import Database from 'better-sqlite3';
import type { AuditEvent } from '@otel-audit/contract';
import { searchWords } from './internal/search-words.js';
import type { AuditStore, DeadLetterQuery, DeadLetterReader, EventQuery, InsertResult, RejectedRecord } from './audit-store.js';
import type { SignedDigest } from './digest-signing.js';
import { canonicalEvent, chainHash, type ChainPosition, type ChainTail, type ChainedEvent, type HashChain } from './hash-chain.js';
import { makePrivateDatabaseFile, makePrivateDir } from './internal/private-files.js';

export interface SqliteStoreOptions {
  /** Database file; its folder is created. */
  path: string;
  /** Rows per retention transaction. Default: 5000. */
  deleteBatchSize?: number;
  /** Rows per keyset page when reading. Default: 1000. */
  pageSize?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_events (
  id           TEXT PRIMARY KEY,
  time_ms      INTEGER NOT NULL,
  action       TEXT NOT NULL,
  category     TEXT NOT NULL,
  outcome      TEXT NOT NULL,
  actor_id     TEXT NOT NULL,
  workspace_id TEXT,
  service_name TEXT,
  doc          TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events (time_ms, id);
CREATE INDEX IF NOT EXISTS audit_events_workspace_time ON audit_events (workspace_id, time_ms, id);
CREATE INDEX IF NOT EXISTS audit_events_actor_time ON audit_events (actor_id, time_ms, id);
CREATE INDEX IF NOT EXISTS audit_events_action_time ON audit_events (action, time_ms, id);
CREATE TABLE IF NOT EXISTS audit_rejected (
  id           TEXT PRIMARY KEY,
  received_ms  INTEGER NOT NULL,
  reason       TEXT NOT NULL,
  service_name TEXT,
  record       TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS audit_rejected_time ON audit_rejected (received_ms);
`;

/**
 * Schema changes after the first release, by `PRAGMA user_version`: a file written by an
 * older version is brought forward on open, in one transaction each.
 */
const MIGRATIONS = [
  // 1: tamper evidence (issue 8). The chain position lives in columns, not in `doc`, so
  // `doc` stays the contract event exactly as it was hashed.
  `ALTER TABLE audit_events ADD COLUMN chain_id TEXT;
   ALTER TABLE audit_events ADD COLUMN chain_seq INTEGER;
   ALTER TABLE audit_events ADD COLUMN chain_hash TEXT;
   -- Not UNIQUE: a forged duplicate position is for verify to name, not for the schema to hide.
   CREATE INDEX audit_events_chain ON audit_events (chain_id, chain_seq, id);
   CREATE TABLE audit_digests (
     chain_id TEXT NOT NULL,
     last_seq INTEGER NOT NULL,
     doc      TEXT NOT NULL,
     PRIMARY KEY (chain_id, last_seq)
   ) WITHOUT ROWID;`,
  // 2: dead letters you can see and replay (issue 14): the record as sent and the problems
  // per field, as JSON; NULL in rows from before, which stay readable.
  `ALTER TABLE audit_rejected ADD COLUMN original TEXT;
   ALTER TABLE audit_rejected ADD COLUMN problems TEXT;
   CREATE INDEX audit_rejected_service_time ON audit_rejected (service_name, received_ms);`,
  // 3: trace context (issue 14). A column, so "the events of this trace" is an index
  // lookup rather than a scan of every document in the time range; partial, since most
  // events carry none. Earlier rows have no trace id (the contract had none), so nothing
  // to fill in.
  `ALTER TABLE audit_events ADD COLUMN trace_id TEXT;
   CREATE INDEX audit_events_trace ON audit_events (trace_id, time_ms, id) WHERE trace_id IS NOT NULL;`,
];

/** The embedded default: one file, WAL, create-only rows. */
export class SqliteStore implements AuditStore, DeadLetterReader {
  readonly kind = 'sqlite' as const;
  readonly description: string;
  readonly #db: Database.Database;
  readonly #pageSize: number;
  readonly #deleteBatchSize: number;
  readonly #insertMany: (events: readonly AuditEvent[], chain: HashChain | undefined) => InsertResult;
  readonly #insertRejected: (records: readonly RejectedRecord[]) => void;

  constructor(opts: SqliteStoreOptions) {
    makePrivateDir(dirname(opts.path));
    makePrivateDatabaseFile(opts.path);
    this.description = `sqlite ${opts.path}`;
    this.#pageSize = opts.pageSize ?? 1000;
    this.#deleteBatchSize = opts.deleteBatchSize ?? 5000;
    this.#db = new Database(opts.path);
    this.#db.pragma('journal_mode = WAL');
    // FULL, not NORMAL: the collector acknowledges a batch once it is committed, and an
    // acknowledged audit record must survive a power cut, not only a process crash.
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.exec(SCHEMA);
    this.#migrate();
    // ON CONFLICT DO NOTHING: create-only; an existing id is a duplicate, never replaced.
    const insert = this.#db.prepare(
      `INSERT INTO audit_events (id, time_ms, action, category, outcome, actor_id, workspace_id, service_name, doc, chain_id, chain_seq, chain_hash, trace_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
    );
    const insertMany = this.#db.transaction((events: readonly AuditEvent[], chain: HashChain | undefined) => {
      const result: InsertResult = { created: 0, duplicates: 0, failed: [] };
      const kept: { event: AuditEvent; position: ChainPosition; kept: true }[] = [];
      let head = chain?.head;
      for (const e of events) {
        const doc = JSON.stringify(e);
        // The next position is tried with each row; a duplicate (no change) does not take
        // it, so re-sent events leave no gap. The hash is of the row as `query` returns it.
        const position = chain && head ? { id: chain.id, seq: head.seq + 1, hash: chainHash(canonicalEvent(JSON.parse(doc) as AuditEvent), head.hash) } : undefined;
        const info = insert.run(
          e.id,
          Date.parse(e.time),
          e.action,
          e.category,
          e.outcome,
          e.actor.id,
          e.workspace?.id ?? null,
          e.service?.name ?? null,
          doc,
          position?.id ?? null,
          position?.seq ?? null,
          position?.hash ?? null,
          e.traceId ?? null,
        );
        if (info.changes === 1) {
          result.created += 1;
          if (position) {
            kept.push({ event: e, position, kept: true });
            head = position;
          }
        } else result.duplicates += 1;
      }
      return { result, kept };
    });
    // The transaction is synchronous: nothing else runs between the positions being read
    // and the head moving, so no lock is needed. The head moves only after COMMIT: a write
    // that throws rolls back and leaves it where it was.
    this.#insertMany = (events, chain) => {
      const { result, kept } = insertMany(events, chain);
      chain?.commit(kept);
      return result;
    };
    const insertRejected = this.#db.prepare(
      `INSERT INTO audit_rejected (id, received_ms, reason, service_name, record, original, problems) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
    );
    this.#insertRejected = this.#db.transaction((records: readonly RejectedRecord[]) => {
      for (const r of records) {
        insertRejected.run(
          r.id,
          Date.parse(r.receivedAt),
          r.reason,
          r.serviceName ?? null,
          JSON.stringify(r.record ?? null),
          r.original === undefined ? null : JSON.stringify(r.original),
          r.problems === undefined ? null : JSON.stringify(r.problems),
        );
      }
    });
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
    this.#insertRejected(records);
  }

  /** Dead letters, oldest first: for tests. */
  rejected(): RejectedRecord[] {
    return (this.#db.prepare(`SELECT ${REJECTED_COLUMNS} FROM audit_rejected ORDER BY received_ms, id`).all() as RejectedRow[]).map(rejectedFromRow);
  }

  async listRejected(q: DeadLetterQuery): Promise<RejectedRecord[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (q.since) {
      where.push('received_ms >= ?');
      params.push(q.since.getTime());
    }
    if (q.serviceName !== undefined) {
      where.push('service_name = ?');
      params.push(q.serviceName);
    }
    const sql = `SELECT ${REJECTED_COLUMNS} FROM audit_rejected ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY received_ms DESC, id DESC LIMIT ?`;
    return (this.#db.prepare(sql).all(...params, q.limit ?? 1000) as RejectedRow[]).map(rejectedFromRow);
  }

  async getRejected(id: string): Promise<RejectedRecord | undefined> {
    const row = this.#db.prepare(`SELECT ${REJECTED_COLUMNS} FROM audit_rejected WHERE id = ?`).get(id) as RejectedRow | undefined;
    return row ? rejectedFromRow(row) : undefined;
  }

  async insert(events: readonly AuditEvent[], chain?: HashChain): Promise<InsertResult> {
    return this.#insertMany(events, chain);
  }

  #migrate(): void {
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    MIGRATIONS.slice(version).forEach((sql, i) => {
      this.#db.transaction(() => {
        this.#db.exec(sql);
        this.#db.pragma(`user_version = ${version + i + 1}`);
      })();
    });
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
        yield { event: JSON.parse(row.doc) as AuditEvent, chain: { id: chainId, seq: row.chain_seq, hash: row.chain_hash } };
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
      for (const row of rows) yield JSON.parse(row.doc) as AuditEvent;
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
    const first = this.#db.prepare(sql(''));
    const next = this.#db.prepare(sql(` AND (time_ms ${cmp} ? OR id ${cmp} ?)`));
    // whereClause puts the range first: [from, to, …].
    const boundedAt = (t: number) => (desc ? [where.params[0], t + 1] : [t, where.params[1]]).concat(where.params.slice(2));
    const inRange = ipMatcher(q.filter?.ip);
    let last: { time_ms: number; id: string } | undefined = q.after ? { time_ms: Date.parse(q.after.time), id: q.after.id } : undefined;
    let remaining = q.limit ?? Number.POSITIVE_INFINITY;
    for (;;) {
      signal?.throwIfAborted();
      // Keyset pages, each its own short read: no statement stays open across a slow
      // consumer, so writers are never held up by an export.
      const rows = (
        last ? next.all(...boundedAt(last.time_ms), last.time_ms, last.id, this.#pageSize) : first.all(...where.params, this.#pageSize)
      ) as { time_ms: number; id: string; doc: string }[];
      for (const row of rows) {
        const event = JSON.parse(row.doc) as AuditEvent;
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

/** The filter as SQL over indexed columns where there are some, the JSON document otherwise. */
function whereClause(q: EventQuery): { sql: string; params: unknown[] } {
  const parts = ['time_ms >= ?', 'time_ms < ?'];
  const params: unknown[] = [q.from.getTime(), q.to.getTime()];
  const f = q.filter ?? {};
  const anyOf = (column: string, values: readonly string[] | undefined) => {
    if (!values) return;
    // An empty list matches nothing: a scope with no members must not mean "no condition".
    if (values.length === 0) return void parts.push('0');
    parts.push(`${column} IN (${values.map(() => '?').join(', ')})`);
    params.push(...values);
  };
  anyOf('actor_id', f.actorIds);
  anyOf('workspace_id', f.workspaceIds);
  anyOf('category', f.categories);
  anyOf('outcome', f.outcomes);
  if (f.traceId !== undefined) anyOf('trace_id', [f.traceId]);
  if (f.actions || f.actionPrefixes) {
    const alternatives = [
      ...(f.actions ?? []).map((a) => (params.push(a), 'action = ?')),
      ...(f.actionPrefixes ?? []).map((p) => (params.push(`${escapeLike(p)}%`), "action LIKE ? ESCAPE '\\'")),
    ];
    parts.push(alternatives.length > 0 ? `(${alternatives.join(' OR ')})` : '0');
  }
  const equals = (path: string, value: string | undefined) => {
    if (value === undefined) return;
    parts.push(`json_extract(doc, '${path}') = ?`);
    params.push(value);
  };
  equals('$.resource.type', f.resourceType);
  equals('$.resource.id', f.resourceId);
  if (!f.ip?.includes('/')) equals('$.client.ip', f.ip);
  for (const word of searchWords(f.text)) {
    // Bound parameters and escaped wildcards: user text is data, never SQL or a pattern.
    const like = `%${escapeLike(word)}%`;
    parts.push(
      "(json_extract(doc, '$.message') LIKE ? ESCAPE '\\' OR json_extract(doc, '$.actor.name') LIKE ? ESCAPE '\\' OR json_extract(doc, '$.resource.name') LIKE ? ESCAPE '\\')",
    );
    params.push(like, like, like);
  }
  return { sql: parts.join(' AND '), params };
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function ipMatcher(ip: string | undefined): ((candidate: string | undefined) => boolean) | undefined {
  if (!ip?.includes('/')) return undefined;
  const [addr, bits] = ip.split('/');
  const family = isIP(addr!) === 6 ? 'ipv6' : 'ipv4';
  const list = new BlockList();
  list.addSubnet(addr!, Number(bits), family);
  return (candidate) => {
    const kind = isIP(candidate ?? '');
    return kind !== 0 && list.check(candidate!, kind === 6 ? 'ipv6' : 'ipv4');
  };
}

const REJECTED_COLUMNS = 'id, received_ms, reason, service_name, record, original, problems';

interface RejectedRow {
  id: string;
  received_ms: number;
  reason: string;
  service_name: string | null;
  record: string;
  original: string | null;
  problems: string | null;
}

function rejectedFromRow(r: RejectedRow): RejectedRecord {
  return {
    id: r.id,
    receivedAt: new Date(r.received_ms).toISOString(),
    reason: r.reason,
    serviceName: r.service_name ?? undefined,
    record: JSON.parse(r.record),
    // NULL in rows from before migration 2: left out, not null, so old and new read alike.
    ...(r.original === null ? {} : { original: JSON.parse(r.original) }),
    ...(r.problems === null ? {} : { problems: JSON.parse(r.problems) }),
  };
}
