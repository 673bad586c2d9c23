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

// The two implementations, re-exported so that this stays the one path to everything about export jobs.
export { SqliteExportJobStore, type SqliteExportJobStoreOptions } from './sqlite-export-job-store.js';
export { ElasticsearchExportJobStore, EXPORT_JOBS_INDEX, EXPORT_JOB_MAPPINGS, type ElasticsearchExportJobStoreOptions } from './elasticsearch-export-job-store.js';
