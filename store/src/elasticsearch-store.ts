import { errors, type Client } from '@elastic/elasticsearch';
import { createElasticsearchClient } from './internal/es-client.js';
import { EsBulkWriter } from './internal/es-bulk-writer.js';
import { searchWords } from './internal/search-words.js';
import { documentPaths } from './internal/document-fields.js';
import { pointInTimeScan } from './internal/point-in-time-scan.js';
import type { AuditEvent } from '@otel-audit/contract';
import type { AuditStore, DeadLetterProblem, DeadLetterQuery, DeadLetterReader, EventQuery, InsertResult, RejectedRecord } from './audit-store.js';
import type { SignedDigest } from './digest-signing.js';
import type { ChainPosition, ChainTail, ChainedEvent, HashChain } from './hash-chain.js';
import {
  DIGESTS_INDEX,
  DIGEST_MAPPINGS,
  EVENT_MAPPINGS,
  INDEX_PREFIX,
  REJECTED_MAPPINGS,
  REJECTED_PREFIX,
  REJECTED_TEMPLATE_NAME,
  READ_ALIAS,
  TEMPLATE_NAME,
  fromDocument,
  indexFor,
} from './internal/ecs-document.js';
import { RETENTION_POLICY_NAME, lifecycleSettings, retentionPolicy } from './internal/retention-policy.js';
import { checkedLayout, eventIndexSettings, replicaSettings, type IndexLayout } from './internal/index-settings.js';

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

  constructor(opts: ElasticsearchStoreOptions) {
    checkedLayout(opts);
    this.#opts = opts;
    const url = new URL(opts.url);
    url.username = '';
    url.password = '';
    this.description = `elasticsearch ${url.origin}`;
    this.client = createElasticsearchClient(opts);
    this.#writer = new EsBulkWriter(this.client, opts.chainItemTries ?? 3, opts.waitForActiveShards);
  }

  async init(): Promise<void> {
    if (this.#opts.installTemplate === false) return;
    try {
      const days = this.#opts.retentionDays ?? 0;
      const ilm = days > 0 && (await this.#hasIlm());
      if (ilm) await this.client.ilm.putLifecycle({ name: RETENTION_POLICY_NAME, ...retentionPolicy(days) });
      const lifecycle = ilm ? lifecycleSettings() : {};
      await this.client.indices.putIndexTemplate({
        name: TEMPLATE_NAME,
        index_patterns: [`${INDEX_PREFIX}*`],
        priority: 200,
        template: {
          // One replica where the cluster has room for it, none on a single node.
          settings: { ...eventIndexSettings(this.#opts), ...lifecycle },
          mappings: EVENT_MAPPINGS as never,
          aliases: { [READ_ALIAS]: {} },
        },
        _meta: { description: 'otel-audit events: one index per UTC day of event time' },
      });
      await this.client.indices.putIndexTemplate({
        name: REJECTED_TEMPLATE_NAME,
        index_patterns: [`${REJECTED_PREFIX}*`],
        priority: 200,
        template: { settings: { number_of_shards: 1, ...replicaSettings(this.#opts), ...lifecycle }, mappings: REJECTED_MAPPINGS as never },
        _meta: { description: 'otel-audit dead letters: records the collector refused, with the reason' },
      });
      await this.client.indices.putIndexTemplate({
        name: DIGESTS_INDEX,
        index_patterns: [`${DIGESTS_INDEX}*`],
        priority: 200,
        template: { settings: { number_of_shards: 1, ...replicaSettings(this.#opts) }, mappings: DIGEST_MAPPINGS as never },
        _meta: { description: 'otel-audit signed digests of the collectors\' hash chains' },
      });
      // Daily indices created before chaining (or before trace context) have a strict
      // mapping without audit.chain (or trace.id, span.id): today's would refuse every
      // such write until midnight.
      const { audit, trace, span } = EVENT_MAPPINGS.properties;
      await this.client.indices
        .putMapping({ index: `${INDEX_PREFIX}*`, allow_no_indices: true, properties: { audit, trace, span } as never })
        .catch((err: unknown) => {
          if (!(err instanceof errors.ResponseError && err.statusCode === 404)) throw err;
        });
      // Likewise today's dead-letter index from before issue 14 would refuse `audit.*`.
      await this.client.indices
        .putMapping({ index: `${REJECTED_PREFIX}*`, allow_no_indices: true, properties: { audit: REJECTED_MAPPINGS.properties.audit } as never })
        .catch((err: unknown) => {
          if (!(err instanceof errors.ResponseError && err.statusCode === 404)) throw err;
        });
      this.lifecycle = ilm ? 'ilm' : 'none';
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 403) {
        // Least privilege: the collector's user may only create documents.
        throw new Error(
          'this Elasticsearch user may not install the index template (it needs manage_index_templates, and manage_ilm for the retention policy): ' +
            'run `otel-audit setup` once as the admin user, then start with AUDIT_ES_INSTALL_TEMPLATE=false',
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** `wait_for_active_shards` of every write, when set; Elasticsearch's default (the primary alone) otherwise. */
  #waitForShards(): { wait_for_active_shards?: number | 'all' } {
    const wait = this.#opts.waitForActiveShards;
    return wait === undefined ? {} : { wait_for_active_shards: wait };
  }

  /**
   * ILM is a module, not part of the core: the minimal distribution answers its routes with
   * 404 or 405, a full one with its status. Anything but an answer naming the operation
   * mode counts as no ILM, so a template never names a setting the cluster cannot parse.
   */
  async #hasIlm(): Promise<boolean> {
    try {
      const status = await this.client.ilm.getStatus();
      return typeof status.operation_mode === 'string';
    } catch (err) {
      if (err instanceof errors.ResponseError && [400, 404, 405].includes(err.statusCode ?? 0)) return false;
      throw err;
    }
  }

  /** Create-only bulk writes, chained or not: internal/es-bulk-writer.ts. */
  insert(events: readonly AuditEvent[], chain?: HashChain): Promise<InsertResult> {
    return this.#writer.insert(events, chain);
  }

  /**
   * The collector's recovery reads must see every write acknowledged before them, or a
   * restart within a second of the last write would hand out a position again: searches are
   * near-real-time, so the indices are refreshed first (the writer role has `maintenance`).
   */
  async #refresh(index: string): Promise<void> {
    await this.client.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  }

  async chainTail(chainId: string, afterSeq: number): Promise<ChainTail | undefined> {
    let page;
    try {
      await this.#refresh(`${INDEX_PREFIX}*`);
      page = await this.client.search<{ audit?: { chain?: ChainPosition } }>({
        index: READ_ALIAS,
        size: 1,
        query: { term: { 'audit.chain.id': chainId } },
        sort: [{ 'audit.chain.seq': { order: 'desc' } }],
        _source: ['audit.chain'],
        aggs: {
          after: {
            filter: { range: { 'audit.chain.seq': { gt: afterSeq } } },
            aggs: { from: { min: { field: '@timestamp' } }, to: { max: { field: '@timestamp' } } },
          },
        },
      });
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return undefined;
      throw err;
    }
    const last = page.hits.hits[0]?._source?.audit?.chain;
    if (!last) return undefined;
    const after = page.aggregations!.after as { doc_count: number; from: { value_as_string?: string }; to: { value_as_string?: string } };
    return { lastSeq: last.seq, lastHash: last.hash, count: after.doc_count, eventTimeFrom: after.from.value_as_string, eventTimeTo: after.to.value_as_string };
  }

  async insertDigest(digest: SignedDigest): Promise<void> {
    try {
      await this.client.create({ index: DIGESTS_INDEX, id: `${digest.chainId}:${digest.lastSeq}`, document: digest, ...this.#waitForShards() });
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 409) return;
      throw err;
    }
  }

  async latestDigest(chainId: string): Promise<SignedDigest | undefined> {
    try {
      await this.#refresh(`${DIGESTS_INDEX}*`);
      const page = await this.client.search<SignedDigest>({ index: DIGESTS_INDEX, size: 1, query: { term: { chainId } }, sort: [{ lastSeq: 'desc' }] });
      return page.hits.hits[0]?._source;
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  async *digests(chainId?: string, signal?: AbortSignal): AsyncIterable<SignedDigest> {
    const query = chainId === undefined ? { match_all: {} } : { term: { chainId } };
    for await (const hit of this.#scan<SignedDigest>(DIGESTS_INDEX, query, [{ chainId: 'asc' }, { lastSeq: 'asc' }], signal)) yield hit._source!;
  }

  /**
   * In windows of `pageSize` positions, each its own range query: a sort on seq with only
   * `search_after` made every page rank all the chain's remaining events (quadratic: 1,900
   * events/s at 200,000), while a range on the `long` field visits only the window's.
   */
  async *queryChain(chainId: string, fromSeq: number, toSeq?: number, signal?: AbortSignal): AsyncIterable<ChainedEvent> {
    let last;
    try {
      last = await this.client.search<{ audit?: { chain?: ChainPosition } }>({
        index: READ_ALIAS,
        size: 1,
        query: { term: { 'audit.chain.id': chainId } },
        sort: [{ 'audit.chain.seq': { order: 'desc' } }],
        _source: ['audit.chain.seq'],
      });
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return;
      throw err;
    }
    const end = Math.min(toSeq ?? Number.MAX_SAFE_INTEGER, last.hits.hits[0]?._source?.audit?.chain?.seq ?? 0);
    const window = this.#opts.pageSize ?? 1000;
    for (let from = fromSeq; from <= end; from += window) {
      const query = {
        bool: { filter: [{ term: { 'audit.chain.id': chainId } }, { range: { 'audit.chain.seq': { gte: from, lte: Math.min(end, from + window - 1) } } }] },
      };
      // One more than a window holds: a window without forged duplicates is one request.
      for await (const hit of this.#scan<Record<string, unknown>>(READ_ALIAS, query, [{ 'audit.chain.seq': 'asc' }, { 'event.id': 'asc' }], signal, window + 1)) {
        const doc = hit._source!;
        yield { event: fromDocument(doc), chain: (doc.audit as { chain?: ChainPosition } | undefined)?.chain };
      }
    }
  }

  async *unchained(range: { from: Date; to: Date }, signal?: AbortSignal): AsyncIterable<AuditEvent> {
    const query = {
      bool: {
        filter: [{ range: { '@timestamp': { gte: range.from.toISOString(), lt: range.to.toISOString() } } }],
        must_not: [{ exists: { field: 'audit.chain.seq' } }],
      },
    };
    for await (const hit of this.#scan<Record<string, unknown>>(READ_ALIAS, query, [{ 'event.id': 'asc' }], signal)) yield fromDocument(hit._source!);
  }

  async chainIds(range: { from: Date; to: Date }): Promise<string[]> {
    try {
      const response = await this.client.search({
        index: READ_ALIAS,
        size: 0,
        query: { range: { '@timestamp': { gte: range.from.toISOString(), lt: range.to.toISOString() } } },
        aggs: { chains: { terms: { field: 'audit.chain.id', size: 10_000 } } },
      });
      return (response.aggregations!.chains as { buckets: { key: string }[] }).buckets.map((b) => b.key).sort();
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return [];
      throw err;
    }
  }

  /** Every hit of `query` in `sort` order: a point in time and search_after, constant memory. */
  #scan<T>(index: string, query: Record<string, unknown>, sort: Record<string, 'asc' | 'desc'>[], signal?: AbortSignal, size = this.#opts.pageSize ?? 1000) {
    return pointInTimeScan<T>(this.client, { index, query, sort, size, signal });
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
    const response = await this.client.bulk({ operations, ...this.#waitForShards() });
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
    await this.client.indices.refresh({ index: `${REJECTED_PREFIX}*`, ignore_unavailable: true, allow_no_indices: true });
    try {
      const page = await this.client.search<RejectedDocument>({
        index: `${REJECTED_PREFIX}*`,
        size,
        query: query as never,
        sort: [{ '@timestamp': 'desc' }],
      });
      return page.hits.hits.map((hit) => rejectedFromDocument(hit._id!, hit._source!));
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return [];
      throw err;
    }
  }

  async *query(q: EventQuery, signal?: AbortSignal): AsyncIterable<AuditEvent> {
    const order = q.order ?? 'asc';
    const hits = pointInTimeScan<Record<string, unknown>>(this.client, {
      index: READ_ALIAS,
      query: esQuery(q),
      sort: [{ '@timestamp': { order } }, { 'event.id': { order } }],
      size: this.#opts.pageSize ?? 1000,
      signal,
      searchAfter: q.after ? [Date.parse(q.after.time), q.after.id] : undefined,
      limit: q.limit,
      sourceIncludes: documentPaths(q.fields),
    });
    for await (const hit of hits) yield fromDocument(hit._source!);
  }

  async count(q: EventQuery): Promise<number> {
    try {
      return (await this.client.count({ index: READ_ALIAS, query: esQuery(q) })).count;
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return 0;
      throw err;
    }
  }

  /**
   * Whole daily indices, never documents: deleting an index is cheap and leaves no
   * half-deleted day behind. A day goes only when all of it is before the cutoff, and an
   * index whose name is not exactly `<prefix>YYYY.MM.DD` is never touched.
   */
  async deleteOlderThan(cutoff: Date): Promise<{ deleted: number; units: string[] }> {
    let listed: { index?: string; 'docs.count'?: string | null }[];
    try {
      listed = (await this.client.cat.indices({
        index: [`${INDEX_PREFIX}*`, `${REJECTED_PREFIX}*`],
        format: 'json',
        h: ['index', 'docs.count'],
        expand_wildcards: ['open', 'closed'],
      })) as typeof listed;
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return { deleted: 0, units: [] };
      throw err;
    }
    const old = listed
      .filter((row): row is { index: string; 'docs.count'?: string | null } => typeof row.index === 'string')
      .filter((row) => {
        const end = dayEndOf(row.index);
        return end !== undefined && end <= cutoff.getTime();
      })
      .sort((a, b) => a.index.localeCompare(b.index));
    const units: string[] = [];
    let deleted = 0;
    // In slices: a few years of daily indices in one request would outgrow a URL line.
    for (let i = 0; i < old.length; i += 50) {
      const slice = old.slice(i, i + 50);
      await this.client.indices.delete({ index: slice.map((row) => row.index), ignore_unavailable: true });
      for (const row of slice) {
        units.push(row.index);
        deleted += Number(row['docs.count'] ?? 0) || 0;
      }
    }
    return { deleted, units };
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

const DAILY_INDEX = new RegExp(`^(?:${INDEX_PREFIX}|${REJECTED_PREFIX})(\\d{4})\\.(\\d{2})\\.(\\d{2})$`);

/** When the day of a daily index ends (ms), or undefined for a name that is not one. */
export function dayEndOf(index: string): number | undefined {
  const m = DAILY_INDEX.exec(index);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const start = new Date(Date.UTC(y, mo - 1, d));
  // 2023.02.30 would roll over to March: such a name was not written by indexFor.
  if (start.getUTCFullYear() !== y || start.getUTCMonth() !== mo - 1 || start.getUTCDate() !== d) return undefined;
  return start.getTime() + 86_400_000;
}

/**
 * The filter as an Elasticsearch bool query, in filter context. User text goes into a
 * `multi_match` (analysed words, no syntax), never `query_string`: it cannot reach
 * outside the scope's conditions or run query syntax.
 */
function esQuery(q: EventQuery): Record<string, unknown> {
  const f = q.filter ?? {};
  const must: Record<string, unknown>[] = [{ range: { '@timestamp': { gte: q.from.toISOString(), lt: q.to.toISOString() } } }];
  // An empty list matches nothing (`terms` with no values would match nothing too, but say it).
  const terms = (field: string, values: readonly string[] | undefined) => {
    if (values) must.push(values.length > 0 ? { terms: { [field]: values } } : { bool: { must_not: { match_all: {} } } });
  };
  terms('user.id', f.actorIds);
  terms('organization.id', f.workspaceIds);
  terms('audit.category', f.categories);
  terms('event.outcome', f.outcomes);
  if (f.actions || f.actionPrefixes) {
    must.push({
      bool: {
        should: [
          ...(f.actions && f.actions.length > 0 ? [{ terms: { 'event.action': f.actions } }] : []),
          ...(f.actionPrefixes ?? []).map((p) => ({ prefix: { 'event.action': p } })),
        ],
        minimum_should_match: 1,
      },
    });
  }
  if (f.resourceType !== undefined) must.push({ term: { 'audit.resource.type': f.resourceType } });
  if (f.resourceId !== undefined) must.push({ term: { 'audit.resource.id': f.resourceId } });
  if (f.traceId !== undefined) must.push({ term: { 'trace.id': f.traceId } });
  // A term query on an `ip` field takes an address or a CIDR range.
  if (f.ip !== undefined) must.push({ term: { 'source.ip': f.ip } });
  const words = searchWords(f.text);
  if (words.length > 0) {
    must.push({
      multi_match: {
        query: words.join(' '),
        fields: ['message', 'user.name.text', 'audit.resource.name.text'],
        type: 'cross_fields',
        operator: 'and',
        lenient: true,
      },
    });
  }
  return { bool: { filter: must } };
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
