import type { Client } from '@elastic/elasticsearch';
import { isResponseError } from './es-client.js';
import { mergeInOrder, type SortOrder } from './merge-in-order.js';

export interface ScanHit<T> {
  _source?: T;
  sort?: unknown[];
}

export interface ScanOptions {
  index: string;
  query: Record<string, unknown>;
  /** Must end in a unique field (an id), or search_after can skip or repeat hits. */
  sort: Record<string, SortOrder | { order: SortOrder }>[];
  size: number;
  signal?: AbortSignal | undefined;
  /** Start after this sort value (keyset pagination across calls). */
  searchAfter?: unknown[] | undefined;
  /** Stop after this many hits. */
  limit?: number | undefined;
  /** `_source` paths to fetch; all of it when undefined. */
  sourceIncludes?: readonly string[] | undefined;
  /**
   * Read the point in time in this many slices at once, merged back into sort order. Default:
   * 1. Costs a second search in flight per read, so it is for long reads (bench/es-time-order.ts).
   */
  slices?: number | undefined;
}

/**
 * Every hit of `query` in `sort` order, through a point in time and search_after, in
 * constant memory; the one scan of the store (events, chains, digests). Nothing when the
 * index does not exist yet. Each page's answer is cut to what the loop reads
 * (`filter_path`: no shard counts, scores or ids to parse), and `_source` to the paths
 * asked for: an export of a few columns does not parse, or move, the rest of a document.
 */
export async function* pointInTimeScan<T>(client: Client, o: ScanOptions): AsyncGenerator<ScanHit<T>> {
  // The id a page answers with is the one to use (and close) next; slices share the holder.
  const pit = { id: '' };
  try {
    pit.id = await openPointInTime(client, o.index, o.signal);
  } catch (err) {
    if (isResponseError(err, 404)) return;
    throw err;
  }
  try {
    const slices = o.slices ?? 1;
    if (slices <= 1) {
      for await (const page of scanPages<T>(client, pit, o)) yield* page;
      return;
    }
    // One point in time for every slice: together they are the snapshot a single read sees.
    const streams = Array.from({ length: slices }, (_, id) => scanPages<T>(client, pit, o, { id, max: slices }));
    const orders = o.sort.map((field) => {
      const spec = Object.values(field)[0]!;
      return typeof spec === 'string' ? spec : spec.order;
    });
    let remaining = o.limit ?? Number.POSITIVE_INFINITY;
    for await (const hit of mergeInOrder(streams, orders)) {
      yield hit;
      if (--remaining <= 0) return;
    }
  } finally {
    await client.closePointInTime({ id: pit.id }).catch(() => undefined);
  }
}

/** The pages of one point in time, or of one slice of it, in sort order; never an empty page. */
async function* scanPages<T>(client: Client, pit: { id: string }, o: ScanOptions, slice?: { id: number; max: number }): AsyncGenerator<ScanHit<T>[]> {
  let searchAfter = o.searchAfter;
  let remaining = o.limit ?? Number.POSITIVE_INFINITY;
  for (;;) {
    const size = Math.min(o.size, remaining);
    const page = await client.search<T>(
      {
        pit: { id: pit.id, keep_alive: '1m' },
        size,
        query: o.query,
        sort: o.sort as never,
        track_total_hits: false,
        ...(slice ? { slice } : {}),
        ...(o.sourceIncludes ? { _source: { includes: [...o.sourceIncludes] } } : {}),
        ...(searchAfter ? { search_after: searchAfter as never } : {}),
        filter_path: ['pit_id', 'hits.hits._source', 'hits.hits.sort'],
      },
      { signal: o.signal },
    );
    if (page.pit_id) pit.id = page.pit_id;
    // filter_path drops `hits` altogether from a page without any.
    const hits = (page.hits?.hits ?? []) as ScanHit<T>[];
    if (hits.length > 0) yield hits;
    remaining -= hits.length;
    if (hits.length < size || remaining <= 0) return;
    searchAfter = hits.at(-1)!.sort;
  }
}

/**
 * A daily index the collector has just created joins the alias before its shard has
 * started, and a point in time over the alias fails (503, no shard available) for those
 * few milliseconds. Retried briefly rather than opened with partial results, which could
 * silently leave events of a shard that is really down out of an audit export.
 */
async function openPointInTime(client: Client, index: string, signal: AbortSignal | undefined): Promise<string> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return (await client.openPointInTime({ index, keep_alive: '1m' }, { signal })).id;
    } catch (err) {
      // 503 "no shard available" / "missing shards": a shard still starting, or really down.
      const unavailable = isResponseError(err, 503);
      if (!unavailable || attempt === 5) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      signal?.throwIfAborted();
    }
  }
}
