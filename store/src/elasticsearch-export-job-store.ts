import type { Client } from '@elastic/elasticsearch';
import { createElasticsearchClient, isResponseError } from './internal/es-client.js';
import type { ElasticsearchStoreOptions } from './elasticsearch-store.js';
import type { ExportJob, ExportJobStatus, ExportJobStore } from './export-jobs.js';

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
      if (isResponseError(err) && err.body && JSON.stringify(err.body).includes('resource_already_exists_exception')) return;
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
      if (isResponseError(err, 404)) return undefined;
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
        if (isResponseError(err, 409)) continue;
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
      if (isResponseError(err, 404)) return [];
      throw err;
    }
  }
}

function withoutId<T extends Partial<ExportJob>>(job: T): Omit<T, 'id'> {
  const doc: Partial<ExportJob> = { ...job };
  delete doc.id;
  return doc as Omit<T, 'id'>;
}
