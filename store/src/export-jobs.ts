import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { errors, type Client } from '@elastic/elasticsearch';
import { createElasticsearchClient } from './internal/es-client.js';
import type { ElasticsearchStoreOptions } from './elasticsearch-store.js';
import { makePrivateDatabaseFile, makePrivateDir } from './internal/private-files.js';

export type ExportJobStatus = 'queued' | 'running' | 'done' | 'failed' | 'expired';

/** A background export, kept in the store so that replicas share it and a restart finds it. */
export interface ExportJob {
  id: string;
  /** The caller's user id: only they may see the job. */
  owner: string;
  status: ExportJobStatus;
  format: 'csv' | 'xlsx';
  /** The query and format parameters as given (strings, as HTTP gives them). */
  request: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  rowsWritten: number;
  total: number | null;
  /** Name in the export file storage, once written. */
  file: string | null;
  expiresAt: string | null;
  /** For the owner: never a stack or the store's own error text. */
  error: string | null;
  /** Which runner holds a running job. */
  worker: string | null;
  heartbeatAt: string | null;
}

export interface ExportJobStore {
  /** Prepares the table or index; idempotent. */
  init(): Promise<void>;
  create(job: ExportJob): Promise<void>;
  get(id: string): Promise<ExportJob | undefined>;
  update(id: string, patch: Partial<ExportJob>): Promise<void>;
  /**
   * Atomically takes the oldest queued job, or a running one whose heartbeat is older than
   * `staleBeforeIso` (its worker died), and marks it running for `worker`. Two callers never
   * get the same job.
   */
  claimNext(worker: string, staleBeforeIso: string): Promise<ExportJob | undefined>;
  /** Oldest first. */
  list(filter: { status?: ExportJobStatus[] }): Promise<ExportJob[]>;
  close(): Promise<void>;
}

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

export const EXPORT_JOBS_INDEX = 'audit-export-jobs';

const keyword = { type: 'keyword', ignore_above: 1024 } as const;
export const EXPORT_JOB_MAPPINGS = {
  dynamic: 'strict',
  properties: {
    owner: keyword,
    status: keyword,
    format: keyword,
    // Kept for the runner, never searched: arbitrary parameter names must not grow the mapping.
    request: { type: 'object', enabled: false },
    createdAt: { type: 'date' },
    updatedAt: { type: 'date' },
    rowsWritten: { type: 'long' },
    total: { type: 'long' },
    file: { type: 'keyword', index: false },
    expiresAt: { type: 'date' },
    error: { type: 'keyword', index: false },
    worker: keyword,
    heartbeatAt: { type: 'date' },
  },
} as const;

export interface ElasticsearchExportJobStoreOptions extends Pick<ElasticsearchStoreOptions, 'url' | 'username' | 'password' | 'apiKey'> {
  /** Must match `audit-export-jobs*`, the pattern the export service's role may write. Default: `audit-export-jobs`. */
  index?: string;
}

type JobDocument = Omit<ExportJob, 'id'>;

/**
 * Jobs as documents of one small index. Writes wait for a refresh, so a job is visible to
 * `claimNext` and `list` (which search) as soon as its write returns.
 */
export class ElasticsearchExportJobStore implements ExportJobStore {
  readonly client: Client;
  readonly index: string;

  constructor(opts: ElasticsearchExportJobStoreOptions) {
    this.index = opts.index ?? EXPORT_JOBS_INDEX;
    this.client = createElasticsearchClient(opts);
  }

  async init(): Promise<void> {
    if (await this.client.indices.exists({ index: this.index })) return;
    try {
      await this.client.indices.create({
        index: this.index,
        settings: { number_of_shards: 1, auto_expand_replicas: '0-1' },
        mappings: EXPORT_JOB_MAPPINGS as never,
      });
    } catch (err) {
      // Another replica created it first.
      if (err instanceof errors.ResponseError && err.body && JSON.stringify(err.body).includes('resource_already_exists_exception')) return;
      throw err;
    }
  }

  async create(job: ExportJob): Promise<void> {
    const { id, ...doc } = job;
    await this.client.create({ index: this.index, id, document: doc, refresh: 'wait_for' });
  }

  async get(id: string): Promise<ExportJob | undefined> {
    try {
      const res = await this.client.get<JobDocument>({ index: this.index, id });
      return res._source ? { id, ...res._source } : undefined;
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  async update(id: string, patch: Partial<ExportJob>): Promise<void> {
    const doc = withoutId(patch);
    await this.client.update({
      index: this.index,
      id,
      doc: { ...doc, updatedAt: doc.updatedAt ?? new Date().toISOString() },
      refresh: 'wait_for',
      // A heartbeat and a status change can race; the later write wins field by field.
      retry_on_conflict: 3,
    });
  }

  async claimNext(worker: string, staleBeforeIso: string): Promise<ExportJob | undefined> {
    const candidates = await this.#search(
      {
        bool: {
          should: [
            { term: { status: 'queued' } },
            {
              bool: {
                filter: [{ term: { status: 'running' } }],
                should: [{ range: { heartbeatAt: { lt: staleBeforeIso } } }, { bool: { must_not: { exists: { field: 'heartbeatAt' } } } }],
                minimum_should_match: 1,
              },
            },
          ],
          minimum_should_match: 1,
        },
      },
      10,
    );
    const now = new Date().toISOString();
    for (const hit of candidates) {
      const patch = { status: 'running' as const, worker, heartbeatAt: now, updatedAt: now };
      try {
        // Compare-and-set on the version we read: if another replica claimed (or the owner
        // changed) the job since our search, the write fails with 409 and we try the next one.
        await this.client.index({
          index: this.index,
          id: hit.job.id,
          document: { ...withoutId(hit.job), ...patch },
          if_seq_no: hit.seqNo,
          if_primary_term: hit.primaryTerm,
          refresh: 'wait_for',
        });
        return { ...hit.job, ...patch };
      } catch (err) {
        if (err instanceof errors.ResponseError && err.statusCode === 409) continue;
        throw err;
      }
    }
    return undefined;
  }

  async list(filter: { status?: ExportJobStatus[] }): Promise<ExportJob[]> {
    if (filter.status?.length === 0) return [];
    const hits = await this.#search(filter.status ? { terms: { status: filter.status } } : { match_all: {} }, 10_000);
    return hits.map((h) => h.job);
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  async #search(query: Record<string, unknown>, size: number): Promise<{ job: ExportJob; seqNo: number; primaryTerm: number }[]> {
    try {
      const res = await this.client.search<JobDocument>({
        index: this.index,
        size,
        query,
        seq_no_primary_term: true,
        sort: [{ createdAt: { order: 'asc' } }],
      });
      return res.hits.hits.map((h) => ({ job: { id: h._id!, ...h._source! }, seqNo: h._seq_no!, primaryTerm: h._primary_term! }));
    } catch (err) {
      // Before init() on a fresh cluster: no jobs yet.
      if (err instanceof errors.ResponseError && err.statusCode === 404) return [];
      throw err;
    }
  }
}

function withoutId<T extends Partial<ExportJob>>(job: T): Omit<T, 'id'> {
  const doc: Partial<ExportJob> = { ...job };
  delete doc.id;
  return doc as Omit<T, 'id'>;
}
