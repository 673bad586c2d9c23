import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ExportJob, ExportJobStatus, ExportJobStore } from './export-jobs.js';
import { makePrivateDatabaseFile, makePrivateDir } from './internal/private-files.js';

const JOB_SCHEMA = `
CREATE TABLE IF NOT EXISTS export_jobs (
  id           TEXT PRIMARY KEY,
  owner        TEXT NOT NULL,
  status       TEXT NOT NULL,
  format       TEXT NOT NULL,
  request      TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  rows_written INTEGER NOT NULL,
  total        INTEGER,
  file         TEXT,
  expires_at   TEXT,
  error        TEXT,
  worker       TEXT,
  heartbeat_at TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS export_jobs_status_created ON export_jobs (status, created_at);
`;

/** Job field → column. Times are ISO 8601 in UTC, so text order is time order. */
const COLUMNS: Record<keyof ExportJob, string> = {
  id: 'id',
  owner: 'owner',
  status: 'status',
  format: 'format',
  request: 'request',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  rowsWritten: 'rows_written',
  total: 'total',
  file: 'file',
  expiresAt: 'expires_at',
  error: 'error',
  worker: 'worker',
  heartbeatAt: 'heartbeat_at',
};

type JobRow = Record<string, string | number | null>;

function fromRow(row: JobRow): ExportJob {
  const job = Object.fromEntries(Object.entries(COLUMNS).map(([field, column]) => [field, row[column] ?? null])) as unknown as ExportJob;
  job.request = JSON.parse(row.request as string) as Record<string, string>;
  return job;
}

function toColumnValue(field: keyof ExportJob, value: unknown): unknown {
  return field === 'request' ? JSON.stringify(value) : (value ?? null);
}

export type SqliteExportJobStoreOptions =
  /** Its own connection to this file (WAL lets it share the file with the event store). */
  | { path: string }
  /** A connection someone else owns and closes, e.g. `SqliteStore.database`. */
  | { database: Database.Database };

export class SqliteExportJobStore implements ExportJobStore {
  readonly #db: Database.Database;
  readonly #owned: boolean;
  readonly #claim: (worker: string, staleBefore: string, now: string) => JobRow | undefined;

  constructor(opts: SqliteExportJobStoreOptions) {
    if ('database' in opts) {
      this.#db = opts.database;
      this.#owned = false;
    } else {
      makePrivateDir(dirname(opts.path));
      makePrivateDatabaseFile(opts.path);
      this.#db = new Database(opts.path);
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('busy_timeout = 5000');
      this.#owned = true;
    }
    this.#db.exec(JOB_SCHEMA);
    const claim = this.#db.prepare(
      `UPDATE export_jobs SET status = 'running', worker = ?, heartbeat_at = ?, updated_at = ?
       WHERE id = (
         SELECT id FROM export_jobs
         WHERE status = 'queued' OR (status = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < ?))
         ORDER BY created_at, id LIMIT 1
       )
       RETURNING *`,
    );
    // IMMEDIATE: the write lock is taken before the SELECT, so another connection (another
    // process on the same file) cannot pick the same row between the read and the write.
    const tx = this.#db.transaction((worker: string, staleBefore: string, now: string) => claim.get(worker, now, now, staleBefore) as JobRow | undefined);
    this.#claim = (worker, staleBefore, now) => tx.immediate(worker, staleBefore, now);
  }

  async init(): Promise<void> {}

  async create(job: ExportJob): Promise<void> {
    const fields = Object.keys(COLUMNS) as (keyof ExportJob)[];
    this.#db
      .prepare(`INSERT INTO export_jobs (${fields.map((f) => COLUMNS[f]).join(', ')}) VALUES (${fields.map(() => '?').join(', ')})`)
      .run(...fields.map((f) => toColumnValue(f, job[f])));
  }

  async get(id: string): Promise<ExportJob | undefined> {
    const row = this.#db.prepare('SELECT * FROM export_jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  async update(id: string, patch: Partial<ExportJob>): Promise<void> {
    const fields = (Object.keys(patch) as (keyof ExportJob)[]).filter((f) => f !== 'id' && f in COLUMNS);
    if (!('updatedAt' in patch)) fields.push('updatedAt');
    const values = fields.map((f) => toColumnValue(f, f === 'updatedAt' ? (patch.updatedAt ?? new Date().toISOString()) : patch[f]));
    this.#db.prepare(`UPDATE export_jobs SET ${fields.map((f) => `${COLUMNS[f]} = ?`).join(', ')} WHERE id = ?`).run(...values, id);
  }

  async claimNext(worker: string, staleBeforeIso: string): Promise<ExportJob | undefined> {
    const row = this.#claim(worker, staleBeforeIso, new Date().toISOString());
    return row ? fromRow(row) : undefined;
  }

  async list(filter: { status?: ExportJobStatus[] }): Promise<ExportJob[]> {
    const statuses = filter.status;
    if (statuses?.length === 0) return [];
    const rows = (
      statuses
        ? this.#db.prepare(`SELECT * FROM export_jobs WHERE status IN (${statuses.map(() => '?').join(', ')}) ORDER BY created_at, id`).all(...statuses)
        : this.#db.prepare('SELECT * FROM export_jobs ORDER BY created_at, id').all()
    ) as JobRow[];
    return rows.map(fromRow);
  }

  async close(): Promise<void> {
    if (this.#owned) this.#db.close();
  }
}
