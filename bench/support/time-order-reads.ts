/**
 * The time-ordered reads bench/es-time-order.ts compares with the store's own
 * (`pointInTimeScan`): the same point in time, sort, page size and `_source` includes, with
 * (b) a `range` lower bound on `@timestamp` from the cursor added to each page's query, and
 * (d) a point in time cut into slices, read concurrently and merged back into sort order.
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
  sort: Record<string, unknown>[];
  order: 'asc' | 'desc';
  size: number;
  sourceIncludes: readonly string[] | undefined;
  /** (b): each page after the first also asks for `@timestamp` ≥ (desc: ≤) the last hit's. */
  cursorBound: boolean;
  slice?: { id: number; max: number } | undefined;
}

/** One point in time, pages of hits in sort order. */
export async function* pages(client: Client, o: ReadOptions): AsyncGenerator<Hit[]> {
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
        ...(o.slice ? { slice: o.slice } : {}),
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

/** Keyword sort order is UTF-8 byte order; JavaScript's `<` is UTF-16 order, which differs above U+FFFF. */
function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** (time, id) of two hits in the read's order. */
export function compareHits(a: Hit, b: Hit, order: 'asc' | 'desc'): number {
  const [ta, ia] = a.sort as [number, string];
  const [tb, ib] = b.sort as [number, string];
  const c = ta - tb || utf8Compare(ia, ib);
  return order === 'asc' ? c : -c;
}

/** An async iterator with its next item always requested: the next page is fetched while this one is used. */
function ahead<T>(it: AsyncGenerator<T>): { next(): Promise<IteratorResult<T>>; close(): Promise<unknown> } {
  let pending = it.next();
  return {
    async next() {
      const r = await pending;
      if (!r.done) pending = it.next();
      return r;
    },
    close: () => pending.then(() => it.return(undefined)).catch(() => undefined),
  };
}

/** (d): `slices` points in time (one per slice) read at once, merged back into sort order. */
export async function* slicedHits(client: Client, o: ReadOptions, slices: number): AsyncGenerator<Hit> {
  const streams = Array.from({ length: slices }, (_, id) => ahead(pages(client, { ...o, slice: { id, max: slices } })));
  try {
    const heads: { page: Hit[]; i: number; s: number }[] = [];
    const first = await Promise.all(streams.map((s) => s.next()));
    first.forEach((r, s) => r.done || heads.push({ page: r.value, i: 0, s }));
    while (heads.length > 0) {
      // Two or a few streams: a linear pick beats a heap.
      let best = 0;
      for (let k = 1; k < heads.length; k++) {
        if (compareHits(heads[k]!.page[heads[k]!.i]!, heads[best]!.page[heads[best]!.i]!, o.order) < 0) best = k;
      }
      const head = heads[best]!;
      yield head.page[head.i]!;
      head.i += 1;
      if (head.i === head.page.length) {
        const r = await streams[head.s]!.next();
        if (r.done) heads.splice(best, 1);
        else Object.assign(head, { page: r.value, i: 0 });
      }
    }
  } finally {
    await Promise.all(streams.map((s) => s.close()));
  }
}

/** (a) and (b) as hits, one point in time. */
export async function* orderedHits(client: Client, o: ReadOptions): AsyncGenerator<Hit> {
  for await (const page of pages(client, o)) yield* page;
}
