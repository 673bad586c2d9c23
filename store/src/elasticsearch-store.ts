import type { Client } from '@elastic/elasticsearch';
import { createElasticsearchClient, isResponseError } from './internal/es-client.js';
import { EsBulkWriter } from './internal/es-bulk-writer.js';
import { EsChainReader } from './internal/es-chain-reader.js';
import { EsDeadLetters } from './internal/es-dead-letters.js';
import { deleteDailyIndices } from './internal/delete-daily-indices.js';
import { esQuery } from './internal/es-query.js';
import { installIndexTemplates } from './internal/install-index-templates.js';
import { documentPaths } from './internal/document-fields.js';
import { pointInTimeScan } from './internal/point-in-time-scan.js';
import type { AuditEvent } from '@otel-audit/contract';
import type { AuditStore, DeadLetterQuery, DeadLetterReader, EventQuery, InsertResult, RejectedRecord } from './audit-store.js';
import type { SignedDigest } from './digest-signing.js';
import type { ChainTail, ChainedEvent, HashChain } from './hash-chain.js';
import { DIGESTS_INDEX, READ_ALIAS, fromDocument } from './internal/ecs-document.js';
import { checkedLayout, type IndexLayout } from './internal/index-settings.js';

/** Slices of an event query's point in time (`pointInTimeScan`): one per core of the two-core machine it was measured on. */
const QUERY_SLICES = 2;

// Kept importable from here, where it was first defined.
export { dayEndOf } from './internal/delete-daily-indices.js';

/** With IndexLayout: shards, replicas, refresh interval and `wait_for_active_shards` (defaults for one node). */
export interface ElasticsearchStoreOptions extends IndexLayout {
  url: string;
  username?: string;
  password?: string;
  apiKey?: string;
  /** Install the index template in `init()`. Needs `manage_index_templates`. Default: true. */
  installTemplate?: boolean;
  /** Page size of export reads. Default: 1000. */
  pageSize?: number;
  /**
   * Retention period in days. When set (> 0), `init()` installs the `otel-audit-retention`
   * ILM delete policy and the templates attach it, where the cluster has ILM (needs
   * `manage_ilm`); a cluster without ILM (the minimal distribution the tests run) gets the
   * templates without it, and the collector's retention job deletes alone. Default: unset,
   * no policy.
   */
  retentionDays?: number;
  /** Tries of a chained item Elasticsearch refused with 429 / 5xx, at the same position, before it is voided. Default: 3. */
  chainItemTries?: number;
}

/**
 * The Elasticsearch store: a coordinator over its parts in internal/ (templates, bulk
 * writer, chain reads, dead letters, retention, query DSL), each of which says why it works
 * the way it does.
 */
export class ElasticsearchStore implements AuditStore, DeadLetterReader {
  readonly kind = 'elasticsearch' as const;
  readonly description: string;
  readonly client: Client;
  readonly #opts: ElasticsearchStoreOptions;
  /**
   * After `init()` installed the templates: `ilm` when they attach the retention policy,
   * `none` when they do not (no retention asked, or no ILM on the cluster).
   */
  lifecycle: 'ilm' | 'none' | undefined;
  readonly #writer: EsBulkWriter;
  readonly #chains: EsChainReader;
  readonly #deadLetters: EsDeadLetters;

  constructor(opts: ElasticsearchStoreOptions) {
    checkedLayout(opts);
    this.#opts = opts;
    const url = new URL(opts.url);
    url.username = '';
    url.password = '';
    this.description = `elasticsearch ${url.origin}`;
    this.client = createElasticsearchClient(opts);
    this.#writer = new EsBulkWriter(this.client, opts.chainItemTries ?? 3, opts.waitForActiveShards);
    this.#chains = new EsChainReader(this.client, opts.pageSize ?? 1000);
    this.#deadLetters = new EsDeadLetters(this.client, opts.waitForActiveShards);
  }

  /** Templates, ILM policy and mapping additions: internal/install-index-templates.ts. */
  async init(): Promise<void> {
    if (this.#opts.installTemplate === false) return;
    this.lifecycle = await installIndexTemplates(this.client, this.#opts);
  }

  /** `wait_for_active_shards` of every write, when set; Elasticsearch's default (the primary alone) otherwise. */
  #waitForShards(): { wait_for_active_shards?: number | 'all' } {
    const wait = this.#opts.waitForActiveShards;
    return wait === undefined ? {} : { wait_for_active_shards: wait };
  }

  /** Create-only bulk writes, chained or not: internal/es-bulk-writer.ts. */
  insert(events: readonly AuditEvent[], chain?: HashChain): Promise<InsertResult> {
    return this.#writer.insert(events, chain);
  }

  /** Chain recovery and verification reads: internal/es-chain-reader.ts. */
  chainTail(chainId: string, afterSeq: number): Promise<ChainTail | undefined> {
    return this.#chains.chainTail(chainId, afterSeq);
  }

  async insertDigest(digest: SignedDigest): Promise<void> {
    try {
      await this.client.create({ index: DIGESTS_INDEX, id: `${digest.chainId}:${digest.lastSeq}`, document: digest, ...this.#waitForShards() });
    } catch (err) {
      if (isResponseError(err, 409)) return;
      throw err;
    }
  }

  latestDigest(chainId: string): Promise<SignedDigest | undefined> {
    return this.#chains.latestDigest(chainId);
  }

  digests(chainId?: string, signal?: AbortSignal): AsyncIterable<SignedDigest> {
    return this.#chains.digests(chainId, signal);
  }

  queryChain(chainId: string, fromSeq: number, toSeq?: number, signal?: AbortSignal): AsyncIterable<ChainedEvent> {
    return this.#chains.queryChain(chainId, fromSeq, toSeq, signal);
  }

  unchained(range: { from: Date; to: Date }, signal?: AbortSignal): AsyncIterable<AuditEvent> {
    return this.#chains.unchained(range, signal);
  }

  chainIds(range: { from: Date; to: Date }): Promise<string[]> {
    return this.#chains.chainIds(range);
  }

  /** Dead letters: internal/es-dead-letters.ts. */
  insertRejected(records: readonly RejectedRecord[]): Promise<void> {
    return this.#deadLetters.insertRejected(records);
  }

  listRejected(q: DeadLetterQuery): Promise<RejectedRecord[]> {
    return this.#deadLetters.listRejected(q);
  }

  getRejected(id: string): Promise<RejectedRecord | undefined> {
    return this.#deadLetters.getRejected(id);
  }

  async *query(q: EventQuery, signal?: AbortSignal): AsyncIterable<AuditEvent> {
    const order = q.order ?? 'asc';
    const pageSize = this.#opts.pageSize ?? 1000;
    const hits = pointInTimeScan<Record<string, unknown>>(this.client, {
      index: READ_ALIAS,
      query: esQuery(q),
      sort: [{ '@timestamp': { order } }, { 'event.id': { order } }],
      size: pageSize,
      signal,
      searchAfter: q.after ? [Date.parse(q.after.time), q.after.id] : undefined,
      limit: q.limit,
      sourceIncludes: documentPaths(q.fields),
      // Two slices, read at once and merged in order, for reads longer than a page (exports):
      // 1.18× (100k rows) and 1.20× (300k) the one-slice read on a quiet machine (bench/es-time-order.ts,
      // variant d); the soak test keeps its 1,000 events/s of ingest beside it. A viewer's page of a few
      // events stays one search.
      slices: q.limit !== undefined && q.limit <= pageSize ? 1 : QUERY_SLICES,
    });
    for await (const hit of hits) yield fromDocument(hit._source!);
  }

  async count(q: EventQuery): Promise<number> {
    try {
      return (await this.client.count({ index: READ_ALIAS, query: esQuery(q) })).count;
    } catch (err) {
      if (isResponseError(err, 404)) return 0;
      throw err;
    }
  }

  /** Whole daily indices before the cutoff: internal/delete-daily-indices.ts. */
  deleteOlderThan(cutoff: Date): Promise<{ deleted: number; units: string[] }> {
    return deleteDailyIndices(this.client, cutoff);
  }

  async ping(): Promise<boolean> {
    try {
      await this.client.cluster.health({ timeout: '5s' });
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
