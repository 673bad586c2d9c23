/**
 * Merging the pages of a point in time's slices back into one stream in sort order: each
 * slice is itself in order, so a pick of the smallest head suffices (two or a few slices: a
 * linear pick, no heap). Sort values are compared the way Elasticsearch sorts them: numbers
 * (dates are epoch milliseconds) by value, keywords by their UTF-8 bytes.
 */

export type SortOrder = 'asc' | 'desc';

/** Sort values of two hits in the orders of their sort fields. */
export function compareSortValues(a: readonly unknown[], b: readonly unknown[], orders: readonly SortOrder[]): number {
  for (let k = 0; k < orders.length; k++) {
    const x = a[k];
    const y = b[k];
    let c: number;
    if (typeof x === 'number' && typeof y === 'number') c = x - y;
    // UTF-16 order (`<` on strings) differs from UTF-8 byte order above U+FFFF.
    else c = Buffer.compare(Buffer.from(String(x)), Buffer.from(String(y)));
    if (c !== 0) return orders[k] === 'desc' ? -c : c;
  }
  return 0;
}

/** The next item of an async iterator is always asked for: the next page is on its way while this one is used. */
export function readAhead<T>(it: AsyncGenerator<T>): { next(): Promise<IteratorResult<T>>; close(): Promise<void> } {
  let pending = it.next();
  // Held until the merge asks for it; a failure is seen then, not as an unhandled rejection now.
  pending.catch(() => undefined);
  return {
    async next() {
      const r = await pending;
      if (!r.done) {
        pending = it.next();
        pending.catch(() => undefined);
      }
      return r;
    },
    async close() {
      await pending.catch(() => undefined);
      await it.return(undefined).catch(() => undefined);
    },
  };
}

/** Items of page streams that are each in order, as one stream in order; all streams read at once. */
export async function* mergeInOrder<T extends { sort?: unknown[] }>(streams: AsyncGenerator<T[]>[], orders: readonly SortOrder[]): AsyncGenerator<T> {
  const ahead = streams.map(readAhead);
  try {
    const heads: { page: T[]; i: number; s: number }[] = [];
    const first = await Promise.all(ahead.map((s) => s.next()));
    first.forEach((r, s) => {
      if (!r.done && r.value.length > 0) heads.push({ page: r.value, i: 0, s });
    });
    while (heads.length > 0) {
      let best = 0;
      for (let k = 1; k < heads.length; k++) {
        const h = heads[k]!;
        const b = heads[best]!;
        if (compareSortValues(h.page[h.i]!.sort ?? [], b.page[b.i]!.sort ?? [], orders) < 0) best = k;
      }
      const head = heads[best]!;
      yield head.page[head.i]!;
      head.i += 1;
      if (head.i === head.page.length) {
        const r = await ahead[head.s]!.next();
        if (r.done || r.value.length === 0) heads.splice(best, 1);
        else {
          head.page = r.value;
          head.i = 0;
        }
      }
    }
  } finally {
    await Promise.all(ahead.map((s) => s.close()));
  }
}
