import type { Client } from '@elastic/elasticsearch';
import { isResponseError } from './es-client.js';
import type { DeadLetterProblem, DeadLetterQuery, RejectedRecord } from '../audit-store.js';
import { REJECTED_PREFIX, indexFor } from './ecs-document.js';

/** The dead letters of the Elasticsearch store: one daily `REJECTED_PREFIX` index per UTC day received. */
export class EsDeadLetters {
  readonly #client: Client;
  readonly #waitForShards: { wait_for_active_shards?: number | 'all' };

  constructor(client: Client, waitForActiveShards: number | 'all' | undefined) {
    this.#client = client;
    this.#waitForShards = waitForActiveShards === undefined ? {} : { wait_for_active_shards: waitForActiveShards };
  }

  async insertRejected(records: readonly RejectedRecord[]): Promise<void> {
    if (records.length === 0) return;
    const operations = records.flatMap((r) => [
      { create: { _index: indexFor(r.receivedAt, REJECTED_PREFIX), _id: r.id } },
      {
        '@timestamp': r.receivedAt,
        error: { message: r.reason },
        ...(r.serviceName ? { service: { name: r.serviceName } } : {}),
        event: { original: JSON.stringify(r.record) },
        ...(r.original !== undefined || r.problems !== undefined
          ? {
              audit: {
                ...(r.original !== undefined ? { original: JSON.stringify(r.original) } : {}),
                ...(r.problems !== undefined ? { problems: r.problems } : {}),
              },
            }
          : {}),
      },
    ]);
    const response = await this.#client.bulk({ operations, ...this.#waitForShards });
    const failed = response.items.filter((item) => item.create && item.create.status !== 201 && item.create.status !== 409);
    if (failed.length > 0) {
      const first = failed[0]!.create!;
      throw new Error(`dead-letter write failed for ${failed.length} record(s): ${first.error?.type ?? first.status}: ${first.error?.reason ?? ''}`);
    }
  }

  async listRejected(q: DeadLetterQuery): Promise<RejectedRecord[]> {
    const filter: object[] = [];
    if (q.since) filter.push({ range: { '@timestamp': { gte: q.since.toISOString() } } });
    if (q.serviceName !== undefined) filter.push({ term: { 'service.name': q.serviceName } });
    return this.#searchRejected({ bool: { filter } }, q.limit ?? 1000);
  }

  async getRejected(id: string): Promise<RejectedRecord | undefined> {
    // By _id over the daily indices: which day holds it is not known from the id.
    return (await this.#searchRejected({ ids: { values: [id] } }, 1))[0];
  }

  async #searchRejected(query: object, size: number): Promise<RejectedRecord[]> {
    await this.#client.indices.refresh({ index: `${REJECTED_PREFIX}*`, ignore_unavailable: true, allow_no_indices: true });
    try {
      const page = await this.#client.search<RejectedDocument>({
        index: `${REJECTED_PREFIX}*`,
        size,
        query: query as never,
        sort: [{ '@timestamp': 'desc' }],
      });
      return page.hits.hits.map((hit) => rejectedFromDocument(hit._id!, hit._source!));
    } catch (err) {
      if (isResponseError(err, 404)) return [];
      throw err;
    }
  }
}

interface RejectedDocument {
  '@timestamp': string;
  error: { message: string };
  service?: { name: string };
  event: { original: string };
  audit?: { original?: string; problems?: DeadLetterProblem[] };
}

/** Documents from before issue 14 have no `audit`: they read with `original` and `problems` left out. */
function rejectedFromDocument(id: string, doc: RejectedDocument): RejectedRecord {
  return {
    id,
    receivedAt: doc['@timestamp'],
    reason: doc.error.message,
    serviceName: doc.service?.name,
    record: JSON.parse(doc.event.original),
    ...(doc.audit?.original !== undefined ? { original: JSON.parse(doc.audit.original) } : {}),
    ...(doc.audit?.problems !== undefined ? { problems: doc.audit.problems } : {}),
  };
}
