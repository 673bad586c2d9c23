import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { AuditEvent } from '@otel-audit/contract';
import type { AuditStore, EventQuery, InsertResult, RejectedRecord } from './audit-store.js';

export interface SqliteStoreOptions {
  /** Database file; its folder is created. */
  path: string;
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
  readonly #insertMany: (events: readonly AuditEvent[]) => InsertResult;
  readonly #insertRejected: (records: readonly RejectedRecord[]) => void;

  constructor(opts: SqliteStoreOptions) {
    mkdirSync(dirname(opts.path), { recursive: true });
    this.description = `sqlite ${opts.path}`;
    this.#pageSize = opts.pageSize ?? 1000;
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
    const first = this.#db.prepare(
      `SELECT time_ms, id, doc FROM audit_events WHERE time_ms >= ? AND time_ms < ?
       ORDER BY time_ms ${dir}, id ${dir} LIMIT ?`,
    );
    const next = this.#db.prepare(
      `SELECT time_ms, id, doc FROM audit_events WHERE time_ms >= ? AND time_ms < ?
       AND (time_ms ${cmp} ? OR (time_ms = ? AND id ${cmp} ?))
       ORDER BY time_ms ${dir}, id ${dir} LIMIT ?`,
    );
    const from = q.from.getTime();
    const to = q.to.getTime();
    let last: { time_ms: number; id: string } | undefined;
    for (;;) {
      signal?.throwIfAborted();
      // Keyset pages, each its own short read: no statement stays open across a slow
      // consumer, so writers are never held up by an export.
      const rows = (
        last
          ? next.all(from, to, last.time_ms, last.time_ms, last.id, this.#pageSize)
          : first.all(from, to, this.#pageSize)
      ) as { time_ms: number; id: string; doc: string }[];
      for (const row of rows) yield JSON.parse(row.doc) as AuditEvent;
      if (rows.length < this.#pageSize) return;
      last = rows.at(-1);
    }
  }

  async ping(): Promise<boolean> {
    return this.#db.open;
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
