import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@otel-audit/contract';
import { ElasticsearchStore, READ_ALIAS, indexFor } from '@otel-audit/store';
import { EVENT_MAPPINGS } from '../src/internal/ecs-document.js';
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

describe.skipIf(es === null)('time-ordered reads: sorted daily indices, sliced points in time (real node)', () => {
  let stores: StorePair;
  let admin: ElasticsearchStore;
  /** A day created before index sorting (without it) and a day from today's template. */
  let oldDay: Date;
  let newDay: Date;
  let events: AuditEvent[];
  let expected: AuditEvent[];
  let range: { from: Date; to: Date; filter: { actorIds: string[] } };

  beforeAll(async () => {
    stores = await elasticsearchStores(es!);
    admin = new ElasticsearchStore({ url: es!.url, ...es!.admin, installTemplate: false });
    const [a, b] = [isolatedDay(), isolatedDay()];
    [oldDay, newDay] = a < b ? [a, b] : [b, a];
    // An index as the template made it before index sorting: a template of higher priority
    // for that one name, without the sort, gone again once the index exists.
    const oldIndex = indexFor(oldDay.toISOString());
    const legacy = `test-unsorted-${process.pid}`;
    await admin.client.indices.putIndexTemplate({
      name: legacy,
      index_patterns: [oldIndex],
      priority: 1000,
      template: { settings: { number_of_shards: 1, auto_expand_replicas: '0-1' }, mappings: EVENT_MAPPINGS as never, aliases: { [READ_ALIAS]: {} } },
    });
    await admin.client.indices.create({ index: oldIndex }).catch((err: unknown) => {
      if (!String(err).includes('resource_already_exists')) throw err;
    });
    await admin.client.indices.deleteIndexTemplate({ name: legacy });
    // Three events per millisecond, so that page edges (pages of 4) fall between equal times
    // and only the id decides the order; one actor of its own, so other tests' events on
    // days in between stay out of the reads.
    const actor = { id: `u-order-${process.pid}-${Date.now()}`, type: 'user' as const };
    events = [oldDay, newDay].flatMap((day) =>
      Array.from({ length: 30 }, (_, i) => validEvent({ actor, time: new Date(day.getTime() + 3_600_000 + Math.floor(i / 3)).toISOString() })),
    );
    expect((await stores.writer.insert(events)).created).toBe(events.length);
    expected = [...events].sort((x, y) => Date.parse(x.time) - Date.parse(y.time) || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    range = { from: oldDay, to: new Date(newDay.getTime() + 86_400_000), filter: { actorIds: [actor.id] } };
    await eventually(() => stores.reader.count(range), (n) => n === events.length);
  });

  afterAll(async () => {
    await admin?.close();
    await stores?.close();
  });

  it('a day the template creates now is sorted by @timestamp, event.id; the one from before is not', async () => {
    const settings = await admin.client.indices.getSettings({ index: [indexFor(oldDay.toISOString()), indexFor(newDay.toISOString())] });
    expect(settings[indexFor(newDay.toISOString())]!.settings?.index?.sort).toMatchObject({ field: ['@timestamp', 'event.id'], order: ['asc', 'asc'] });
    expect(settings[indexFor(oldDay.toISOString())]!.settings?.index?.sort).toBeUndefined();
  });

  it('reads every event once, in (time, id) order, across the unsorted and the sorted day and page edges within a millisecond', async () => {
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
        pointInTimeScan<{ event: { id: string } }>(stores.reader instanceof ElasticsearchStore ? stores.reader.client : admin.client, {
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
