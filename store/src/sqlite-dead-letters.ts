import type Database from 'better-sqlite3';
import type { DeadLetterQuery, DeadLetterReader, RejectedRecord } from './audit-store.js';

const COLUMNS = 'id, received_ms, reason, service_name, record, original, problems';

interface RejectedRow {
  id: string;
  received_ms: number;
  reason: string;
  service_name: string | null;
  record: string;
  original: string | null;
  problems: string | null;
}

/** The `audit_rejected` table of the SQLite store: dead letters written and read. */
export class SqliteDeadLetters implements DeadLetterReader {
  readonly #db: Database.Database;
  readonly #insert: (records: readonly RejectedRecord[]) => void;

  constructor(db: Database.Database) {
    this.#db = db;
    const insert = db.prepare(
      `INSERT INTO audit_rejected (id, received_ms, reason, service_name, record, original, problems) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
    );
    this.#insert = db.transaction((records: readonly RejectedRecord[]) => {
      for (const r of records) {
        insert.run(
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

  insert(records: readonly RejectedRecord[]): void {
    this.#insert(records);
  }

  /** Oldest first. */
  all(): RejectedRecord[] {
    return (this.#db.prepare(`SELECT ${COLUMNS} FROM audit_rejected ORDER BY received_ms, id`).all() as RejectedRow[]).map(fromRow);
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
    const sql = `SELECT ${COLUMNS} FROM audit_rejected ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY received_ms DESC, id DESC LIMIT ?`;
    return (this.#db.prepare(sql).all(...params, q.limit ?? 1000) as RejectedRow[]).map(fromRow);
  }

  async getRejected(id: string): Promise<RejectedRecord | undefined> {
    const row = this.#db.prepare(`SELECT ${COLUMNS} FROM audit_rejected WHERE id = ?`).get(id) as RejectedRow | undefined;
    return row ? fromRow(row) : undefined;
  }
}

function fromRow(r: RejectedRow): RejectedRecord {
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
