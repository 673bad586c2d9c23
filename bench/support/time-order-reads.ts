/**
 * The time-ordered read bench/es-time-order.ts compares with the store's own
 * (`pointInTimeScan`) and is not in the store: the same point in time, sort, page size and
 * `_source` includes, with (b) a `range` lower bound on `@timestamp` from the cursor added to
 * each page's query.
 */
import type { Client } from '@elastic/elasticsearch';

export interface Hit {
  _source?: Record<string, unknown>;
  sort?: unknown[];
}

export interface ReadOptions {
  index: string;
  query: Record<string, unknown>;
  /** `@timestamp`, then a unique tiebreak, both in `order`. */
  sort: Record<string, { order: 'asc' | 'desc' }>[];
  order: 'asc' | 'desc';
  size: number;
  sourceIncludes: readonly string[] | undefined;
  /** (b): each page after the first also asks for `@timestamp` ≥ (desc: ≤) the last hit's. */
  cursorBound: boolean;
}

/** Pages of hits in sort order, through a point in time. */
async function* pages(client: Client, o: ReadOptions): AsyncGenerator<Hit[]> {
  let pit = (await client.openPointInTime({ index: o.index, keep_alive: '1m' })).id;
  try {
    let after: unknown[] | undefined;
    for (;;) {
      // search_after alone already excludes everything before the cursor; the range says the
      // same to the shards, which can then skip segments and documents by their points.
      const bound = o.cursorBound && after ? { range: { '@timestamp': { [o.order === 'asc' ? 'gte' : 'lte']: after[0], format: 'epoch_millis' } } } : undefined;
      const page = await client.search({
        pit: { id: pit, keep_alive: '1m' },
        size: o.size,
        query: bound ? { bool: { filter: [o.query, bound] } } : o.query,
        sort: o.sort as never,
        track_total_hits: false,
        ...(o.sourceIncludes ? { _source: { includes: [...o.sourceIncludes] } } : {}),
        ...(after ? { search_after: after as never } : {}),
        filter_path: ['pit_id', 'hits.hits._source', 'hits.hits.sort'],
      });
      if (page.pit_id) pit = page.pit_id;
      const hits = (page.hits?.hits ?? []) as Hit[];
      if (hits.length > 0) yield hits;
      if (hits.length < o.size) return;
      after = hits.at(-1)!.sort;
    }
  } finally {
    await client.closePointInTime({ id: pit }).catch(() => undefined);
  }
}

/** (b) as hits. */
export async function* orderedHits(client: Client, o: ReadOptions): AsyncGenerator<Hit> {
  for await (const page of pages(client, o)) yield* page;
}
