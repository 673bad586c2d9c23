import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { BlockList, isIP } from 'node:net';
import Database from 'better-sqlite3';
import type { AuditEvent } from '@otel-audit/contract';
import { searchWords } from './internal/search-words.js';
import type { AuditStore, EventQuery, InsertResult, RejectedRecord } from './audit-store.js';

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

/** The embedded default (DESIGN.md decision 9): one file, WAL, create-only rows. */
export class SqliteStore implements AuditStore {
  readonly kind = 'sqlite' as const;
  readonly description: string;
  readonly #db: Database.Database;
  readonly #pageSize: number;
  readonly #deleteBatchSize: number;
  readonly #insertMany: (events: readonly AuditEvent[]) => InsertResult;
  readonly #insertRejected: (records: readonly RejectedRecord[]) => void;

  constructor(opts: SqliteStoreOptions) {
    mkdirSync(dirname(opts.path), { recursive: true });
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
    // ON CONFLICT DO NOTHING: create-only; an existing id is a duplicate, never replaced.
    const insert = this.#db.prepare(
      `INSERT INTO audit_events (id, time_ms, action, category, outcome, actor_id, workspace_id, service_name, doc)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
    );
    this.#insertMany = this.#db.transaction((events: readonly AuditEvent[]) => {
      const result: InsertResult = { created: 0, duplicates: 0, failed: [] };
      for (const e of events) {
        const info = insert.run(
          e.id,
          Date.parse(e.time),
          e.action,
          e.category,
          e.outcome,
          e.actor.id,
          e.workspace?.id ?? null,
          e.service?.name ?? null,
          JSON.stringify(e),
        );
        if (info.changes === 1) result.created += 1;
        else result.duplicates += 1;
      }
      return result;
    });
    const insertRejected = this.#db.prepare(
      `INSERT INTO audit_rejected (id, received_ms, reason, service_name, record) VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
    );
    this.#insertRejected = this.#db.transaction((records: readonly RejectedRecord[]) => {
      for (const r of records) {
        insertRejected.run(r.id, Date.parse(r.receivedAt), r.reason, r.serviceName ?? null, JSON.stringify(r.record ?? null));
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

  /** Dead letters, oldest first: for operators and tests. */
  rejected(): RejectedRecord[] {
    return (
      this.#db.prepare('SELECT id, received_ms, reason, service_name, record FROM audit_rejected ORDER BY received_ms, id').all() as {
        id: string;
        received_ms: number;
        reason: string;
        service_name: string | null;
        record: string;
      }[]
    ).map((r) => ({
      id: r.id,
      receivedAt: new Date(r.received_ms).toISOString(),
      reason: r.reason,
      serviceName: r.service_name ?? undefined,
      record: JSON.parse(r.record),
    }));
  }

  async insert(events: readonly AuditEvent[]): Promise<InsertResult> {
    return this.#insertMany(events);
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
