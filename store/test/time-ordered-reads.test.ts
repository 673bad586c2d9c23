import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@otel-audit/contract';
import { READ_ALIAS, type ElasticsearchStore } from '@otel-audit/store';
import { compareSortValues } from '../src/internal/merge-in-order.js';
import { pointInTimeScan } from '../src/internal/point-in-time-scan.js';
import { elasticsearch } from '../../test/support/elasticsearch.js';
import { elasticsearchStores, eventually, isolatedDay, type StorePair } from '../../test/support/services.js';
import { validEvent } from '../../test/support/otlp-json.js';

const es = elasticsearch();

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iterable) out.push(x);
  return out;
}

describe('merging slices: Elasticsearch sort order', () => {
  it('compares keywords by their UTF-8 bytes, as Elasticsearch sorts them, not by UTF-16 units', () => {
    // U+FFFD is EF BF BD in UTF-8, U+1F600 F0 9F 98 80; in UTF-16 the latter's D83D comes first.
    expect('\u{1F600}' < '\uFFFD').toBe(true);
    expect(compareSortValues([1, '\uFFFD'], [1, '\u{1F600}'], ['asc', 'asc'])).toBeLessThan(0);
    expect(compareSortValues([2, 'a'], [10, 'a'], ['asc', 'asc'])).toBeLessThan(0);
    expect(compareSortValues([2, 'a'], [10, 'a'], ['desc', 'desc'])).toBeGreaterThan(0);
    expect(compareSortValues([5, 'b'], [5, 'a'], ['asc', 'desc'])).toBeLessThan(0);
  });
});

describe.skipIf(es === null)('time-ordered reads: a point in time in slices, merged in order (real node)', () => {
  let stores: StorePair;
  /** Two daily indices, read together through the alias. */
  let firstDay: Date;
  let lastDay: Date;
  let events: AuditEvent[];
  let expected: AuditEvent[];
  let range: { from: Date; to: Date; filter: { actorIds: string[] } };

  beforeAll(async () => {
    stores = await elasticsearchStores(es!);
    const [a, b] = [isolatedDay(), isolatedDay()];
    [firstDay, lastDay] = a < b ? [a, b] : [b, a];
    // Three events per millisecond, so that page edges (pages of 4) fall between equal times
    // and only the id decides the order; one actor of its own, so other tests' events on
    // days in between stay out of the reads.
    const actor = { id: `u-order-${process.pid}-${Date.now()}`, type: 'user' as const };
    events = [firstDay, lastDay].flatMap((day) =>
      Array.from({ length: 30 }, (_, i) => validEvent({ actor, time: new Date(day.getTime() + 3_600_000 + Math.floor(i / 3)).toISOString() })),
    );
    expect((await stores.writer.insert(events)).created).toBe(events.length);
    expected = [...events].sort((x, y) => Date.parse(x.time) - Date.parse(y.time) || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    range = { from: firstDay, to: new Date(lastDay.getTime() + 86_400_000), filter: { actorIds: [actor.id] } };
    await eventually(() => stores.reader.count(range), (n) => n === events.length);
  });

  afterAll(async () => {
    await stores?.close();
  });

  it('reads every event once, in (time, id) order, across two daily indices and page edges within a millisecond', async () => {
    const small = stores.readerWithPageSize(4);
    const ids = (xs: AuditEvent[]) => xs.map((e) => e.id);
    expect(ids(await collect(small.query(range)))).toEqual(ids(expected));
    expect(ids(await collect(small.query({ ...range, order: 'desc' })))).toEqual(ids(expected).reverse());
    // Resumed from a cursor whose next two events share its millisecond.
    const at = expected[12]!;
    expect(expected[13]!.time).toBe(at.time);
    const after = { time: at.time, id: at.id };
    expect(ids(await collect(small.query({ ...range, after })))).toEqual(ids(expected.slice(13)));
    expect(ids(await collect(small.query({ ...range, after, order: 'desc' })))).toEqual(ids(expected.slice(0, 12)).reverse());
    // A limit over the page size (slices, merged, cut) and within it (one search).
    expect(ids(await collect(small.query({ ...range, limit: 9 })))).toEqual(ids(expected.slice(0, 9)));
    expect(ids(await collect(small.query({ ...range, after, limit: 3 })))).toEqual(ids(expected.slice(13, 16)));
    await small.close();
  });

  it('any number of slices of one point in time gives what one read gives', async () => {
    const scan = (slices: number) =>
      collect(
        pointInTimeScan<{ event: { id: string } }>((stores.reader as ElasticsearchStore).client, {
          index: READ_ALIAS,
          query: { bool: { filter: [{ range: { '@timestamp': { gte: range.from.toISOString(), lt: range.to.toISOString() } } }, { terms: { 'user.id': range.filter.actorIds } }] } },
          sort: [{ '@timestamp': { order: 'asc' } }, { 'event.id': { order: 'asc' } }],
          size: 5,
          slices,
        }),
      );
    const one = (await scan(1)).map((h) => h._source!.event.id);
    expect(one).toEqual(expected.map((e) => e.id));
    for (const slices of [2, 3, 7]) expect((await scan(slices)).map((h) => h._source!.event.id)).toEqual(one);
  });
});
