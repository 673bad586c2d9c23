import type { Client } from '@elastic/elasticsearch';
import { isResponseError } from './es-client.js';
import type { AuditEvent } from '@otel-audit/contract';
import type { SignedDigest } from '../digest-signing.js';
import type { ChainPosition, ChainTail, ChainedEvent } from '../hash-chain.js';
import { DIGESTS_INDEX, INDEX_PREFIX, READ_ALIAS, fromDocument } from './ecs-document.js';
import { pointInTimeScan } from './point-in-time-scan.js';

/** The Elasticsearch store's reads of the hash chains: recovering a chain's head, its digests, verifying a range. */
export class EsChainReader {
  readonly #client: Client;
  readonly #pageSize: number;

  constructor(client: Client, pageSize: number) {
    this.#client = client;
    this.#pageSize = pageSize;
  }

  /**
   * The collector's recovery reads must see every write acknowledged before them, or a
   * restart within a second of the last write would hand out a position again: searches are
   * near-real-time, so the indices are refreshed first (the writer role has `maintenance`).
   */
  async #refresh(index: string): Promise<void> {
    await this.#client.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  }

  async chainTail(chainId: string, afterSeq: number): Promise<ChainTail | undefined> {
    let page;
    try {
      await this.#refresh(`${INDEX_PREFIX}*`);
      page = await this.#client.search<{ audit?: { chain?: ChainPosition } }>({
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
      if (isResponseError(err, 404)) return undefined;
      throw err;
    }
    const last = page.hits.hits[0]?._source?.audit?.chain;
    if (!last) return undefined;
    const after = page.aggregations!.after as { doc_count: number; from: { value_as_string?: string }; to: { value_as_string?: string } };
    return { lastSeq: last.seq, lastHash: last.hash, count: after.doc_count, eventTimeFrom: after.from.value_as_string, eventTimeTo: after.to.value_as_string };
  }

  async latestDigest(chainId: string): Promise<SignedDigest | undefined> {
    try {
      await this.#refresh(`${DIGESTS_INDEX}*`);
      const page = await this.#client.search<SignedDigest>({ index: DIGESTS_INDEX, size: 1, query: { term: { chainId } }, sort: [{ lastSeq: 'desc' }] });
      return page.hits.hits[0]?._source;
    } catch (err) {
      if (isResponseError(err, 404)) return undefined;
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
      last = await this.#client.search<{ audit?: { chain?: ChainPosition } }>({
        index: READ_ALIAS,
        size: 1,
        query: { term: { 'audit.chain.id': chainId } },
        sort: [{ 'audit.chain.seq': { order: 'desc' } }],
        _source: ['audit.chain.seq'],
      });
    } catch (err) {
      if (isResponseError(err, 404)) return;
      throw err;
    }
    const end = Math.min(toSeq ?? Number.MAX_SAFE_INTEGER, last.hits.hits[0]?._source?.audit?.chain?.seq ?? 0);
    const window = this.#pageSize;
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
      const response = await this.#client.search({
        index: READ_ALIAS,
        size: 0,
        query: { range: { '@timestamp': { gte: range.from.toISOString(), lt: range.to.toISOString() } } },
        aggs: { chains: { terms: { field: 'audit.chain.id', size: 10_000 } } },
      });
      return (response.aggregations!.chains as { buckets: { key: string }[] }).buckets.map((b) => b.key).sort();
    } catch (err) {
      if (isResponseError(err, 404)) return [];
      throw err;
    }
  }

  /** Every hit of `query` in `sort` order: a point in time and search_after, constant memory. */
  #scan<T>(index: string, query: Record<string, unknown>, sort: Record<string, 'asc' | 'desc'>[], signal?: AbortSignal, size = this.#pageSize) {
    return pointInTimeScan<T>(this.#client, { index, query, sort, size, signal });
  }
}
