import { Client, errors } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@otel-audit/contract';
import { ElasticsearchStore, indexFor } from '@otel-audit/store';
import { elasticsearch } from '../../test/support/elasticsearch.js';
import { elasticsearchStores, eventually, isolatedDay, sqliteStores, type StorePair } from '../../test/support/services.js';
import { validEvent } from '../../test/support/otlp-json.js';

const es = elasticsearch();

async function collect(iterable: AsyncIterable<AuditEvent>): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

const kinds = [
  { name: 'SQLite', open: sqliteStores, enabled: true },
  { name: 'Elasticsearch', open: () => elasticsearchStores(es!), enabled: es !== null },
];

for (const kind of kinds) {
  describe.skipIf(!kind.enabled)(`${kind.name} store`, () => {
    let stores: StorePair;
    beforeAll(async () => {
      stores = await kind.open();
    });
    afterAll(async () => {
      await stores?.close();
    });

    it('is create-only: a second insert of the same id is a duplicate and changes nothing', async () => {
      const day = isolatedDay();
      const original = validEvent({ time: day.toISOString(), message: 'original' });
      expect(await stores.writer.insert([original])).toEqual({ created: 1, duplicates: 0, failed: [] });
      const forged = { ...original, message: 'forged' };
      expect(await stores.writer.insert([forged, forged])).toEqual({ created: 0, duplicates: 2, failed: [] });
      const range = { from: day, to: new Date(day.getTime() + 1000) };
      const stored = await eventually(() => collect(stores.reader.query(range)), (e) => e.length > 0);
      expect(stored).toEqual([original]);
    });

    it('pages in (time, id) order both ways, from inclusive, to exclusive, across page boundaries', async () => {
      const day = isolatedDay();
      // Several events share a millisecond so that the id breaks ties.
      const events = Array.from({ length: 25 }, (_, i) => validEvent({ time: new Date(day.getTime() + Math.floor(i / 3)).toISOString() }));
      const outside = validEvent({ time: new Date(day.getTime() + 9).toISOString() });
      expect((await stores.writer.insert([...events, outside])).created).toBe(26);
      const sorted = [...events].sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
      const small = stores.readerWithPageSize(4);
      const range = { from: day, to: new Date(day.getTime() + 9) };
      const asc = await eventually(() => collect(small.query(range)), (e) => e.length >= 25);
      expect(asc.map((e) => e.id)).toEqual(sorted.map((e) => e.id));
      const desc = await collect(small.query({ ...range, order: 'desc' }));
      expect(desc.map((e) => e.id)).toEqual(sorted.map((e) => e.id).reverse());
      const abort = new AbortController();
      const partial: AuditEvent[] = [];
      await expect(
        (async () => {
          for await (const e of small.query(range, abort.signal)) {
            partial.push(e);
            if (partial.length === 5) abort.abort();
          }
        })(),
      ).rejects.toThrow();
      expect(partial.length).toBeLessThan(25);
      await small.close();
    });
  });
}

describe.skipIf(es === null)('Elasticsearch least privilege (real node, security on)', () => {
  let writer: Client;
  let reader: Client;
  let event: AuditEvent;
  beforeAll(async () => {
    const stores = await elasticsearchStores(es!);
    event = validEvent({ time: isolatedDay().toISOString() });
    expect((await stores.writer.insert([event])).created).toBe(1);
    await stores.close();
    writer = new Client({ node: es!.url, auth: es!.writer });
    reader = new Client({ node: es!.url, auth: es!.reader });
  });
  afterAll(async () => {
    await writer.close();
    await reader.close();
  });

  const status = async (p: Promise<unknown>) => {
    try {
      await p;
      return 200;
    } catch (err) {
      if (err instanceof errors.ResponseError) return err.statusCode;
      throw err;
    }
  };

  it('the writer cannot overwrite, update or delete a stored event', async () => {
    const index = indexFor(event.time);
    expect(await status(writer.index({ index, id: event.id, document: { message: 'tampered' } }))).toBe(403);
    expect(await status(writer.update({ index, id: event.id, doc: { message: 'tampered' } }))).toBe(403);
    expect(await status(writer.delete({ index, id: event.id }))).toBe(403);
    expect(await status(writer.indices.delete({ index }))).toBe(403);
  });

  it('the reader cannot write at all', async () => {
    expect(await status(reader.index({ index: indexFor(event.time), document: { message: 'x' } }))).toBe(403);
    expect(await status(reader.create({ index: indexFor(event.time), id: 'new', document: { message: 'x' } }))).toBe(403);
  });
});

describe.skipIf(es === null)('Elasticsearch template installation', () => {
  it('tells a writer without manage_index_templates what to do instead', async () => {
    const store = new ElasticsearchStore({ url: es!.url, ...es!.writer });
    await expect(store.init()).rejects.toThrow(/run `otel-audit setup` once as the admin user.*AUDIT_ES_INSTALL_TEMPLATE=false/);
    await store.close();
  });
});
