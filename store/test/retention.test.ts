import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@otel-audit/contract';
import { ElasticsearchStore, INDEX_PREFIX, SqliteStore, indexFor, type RejectedRecord } from '@otel-audit/store';
import { REJECTED_PREFIX } from '../src/internal/ecs-document.js';
import { elasticsearch } from '../../test/support/elasticsearch.js';
import { validEvent } from '../../test/support/otlp-json.js';

const es = elasticsearch();

async function collect(iterable: AsyncIterable<AuditEvent>): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

const at = (iso: string, n = 1) => Array.from({ length: n }, (_, i) => validEvent({ time: new Date(Date.parse(iso) + i * 1000).toISOString() }));
const deadLetter = (iso: string, id: string): RejectedRecord => ({ id, receivedAt: iso, reason: 'test', record: { id } });

// 1989: isolatedDay() spans 1990–2089, so no other suite writes to these daily indices.
describe.skipIf(es === null)('Elasticsearch retention (the admin user deletes whole daily indices)', () => {
  let admin: ElasticsearchStore;
  let writer: ElasticsearchStore;
  const oldDays = ['1989-01-01', '1989-01-02', '1989-01-03', '1989-01-04', '1989-01-05'];
  // The cutoff falls inside this day: it is not over before the cutoff, so it stays whole.
  const cutoffDay = '1989-06-01';
  const youngDay = '1989-07-01';
  // Names that look like daily indices but are not: never touched.
  const strays = [`${INDEX_PREFIX}1989.02.30`, `${INDEX_PREFIX}1989.01.01-copy`];

  beforeAll(async () => {
    admin = new ElasticsearchStore({ url: es!.url, ...es!.admin });
    await admin.init();
    writer = new ElasticsearchStore({ url: es!.url, ...es!.writer, installTemplate: false });
  });
  afterAll(async () => {
    await admin?.client.indices.delete({ index: strays, ignore_unavailable: true }).catch(() => undefined);
    await admin?.client.indices.delete({ index: [indexFor(`${cutoffDay}T00:00:00Z`), indexFor(`${youngDay}T00:00:00Z`)], ignore_unavailable: true }).catch(() => undefined);
    await admin?.close();
    await writer?.close();
  });

  it('deletes the indices of days before the cutoff, events and dead letters, and keeps the rest', async () => {
    const old = oldDays.flatMap((d) => at(`${d}T10:00:00Z`, 3));
    const kept = [...at(`${cutoffDay}T01:00:00Z`, 2), ...at(`${youngDay}T10:00:00Z`, 4)];
    expect((await writer.insert([...old, ...kept])).created).toBe(old.length + kept.length);
    await writer.insertRejected([deadLetter('1989-01-02T00:00:00.000Z', 'dl-old-1989'), deadLetter(`${youngDay}T00:00:00.000Z`, 'dl-young-1989')]);
    for (const name of strays) await admin.client.indices.create({ index: name });
    const oldIndices = [...oldDays.map((d) => indexFor(`${d}T00:00:00Z`)), indexFor('1989-01-02T00:00:00Z', REJECTED_PREFIX)];
    const keptIndices = [indexFor(`${cutoffDay}T00:00:00Z`), indexFor(`${youngDay}T00:00:00Z`), indexFor(`${youngDay}T00:00:00Z`, REJECTED_PREFIX)];
    // docs.count counts what a refresh has made visible.
    await admin.client.indices.refresh({ index: [...oldIndices, ...keptIndices] });

    const result = await admin.deleteOlderThan(new Date(`${cutoffDay}T12:00:00Z`));

    expect(result.units).toEqual(expect.arrayContaining(oldIndices));
    for (const unit of keptIndices.concat(strays)) expect(result.units).not.toContain(unit);
    expect(result.deleted).toBeGreaterThanOrEqual(old.length + 1);
    for (const index of oldIndices) expect(await admin.client.indices.exists({ index })).toBe(false);
    for (const index of keptIndices.concat(strays)) expect(await admin.client.indices.exists({ index })).toBe(true);
    const left = await collect(admin.query({ from: new Date('1989-01-01T00:00:00Z'), to: new Date('1990-01-01T00:00:00Z') }));
    expect(left.map((e) => e.id).sort()).toEqual(kept.map((e) => e.id).sort());

    // Nothing older is left: a second run deletes nothing.
    const again = await admin.deleteOlderThan(new Date(`${cutoffDay}T12:00:00Z`));
    expect(again.units.filter((u) => u.includes('1989'))).toEqual([]);
  });

  it('is refused for the create-only writer', async () => {
    await writer.insert(at('1989-01-10T10:00:00Z'));
    await expect(writer.deleteOlderThan(new Date('1989-02-01T00:00:00Z'))).rejects.toThrow();
    expect(await admin.client.indices.exists({ index: indexFor('1989-01-10T00:00:00Z') })).toBe(true);
    await admin.deleteOlderThan(new Date('1989-02-01T00:00:00Z'));
    expect(await admin.client.indices.exists({ index: indexFor('1989-01-10T00:00:00Z') })).toBe(false);
  });
});

describe('SQLite retention', () => {
  let dir: string;
  let store: SqliteStore;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-retention-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite'), deleteBatchSize: 7 });
  });
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deletes events and dead letters before the cutoff in batches, and keeps the rest', async () => {
    const cutoff = new Date('2020-06-01T00:00:00.000Z');
    const old = at('2020-05-31T23:00:00Z', 40);
    // Exactly at the cutoff is not older than it.
    const kept = [validEvent({ time: cutoff.toISOString() }), ...at('2020-06-02T00:00:00Z', 5)];
    await store.insert([...old, ...kept]);
    await store.insertRejected([deadLetter('2020-01-01T00:00:00.000Z', 'dl-old'), deadLetter('2020-07-01T00:00:00.000Z', 'dl-young')]);

    // Batches of 7: 40 rows take six of them.
    const result = await store.deleteOlderThan(cutoff);

    expect(result).toEqual({ deleted: 41, units: ['audit_events < 2020-06-01T00:00:00.000Z', 'audit_rejected < 2020-06-01T00:00:00.000Z'] });
    const left = await collect(store.query({ from: new Date(0), to: new Date('2100-01-01T00:00:00Z') }));
    expect(left.map((e) => e.id)).toEqual(kept.map((e) => e.id));
    expect(store.rejected().map((r) => r.id)).toEqual(['dl-young']);
    expect(await store.deleteOlderThan(cutoff)).toEqual({ deleted: 0, units: [] });
  });

  it('lets inserts in between the batches', async () => {
    // Before everything the previous test kept.
    const cutoff = new Date('2020-01-01T00:00:00.000Z');
    await store.insert(at('2019-12-01T00:00:00Z', 50));
    const late = validEvent();
    const deletion = store.deleteOlderThan(cutoff);
    // Issued while the deletion is under way: taken between two batches, not after all of them.
    const insert = new Promise<void>((resolve) => setImmediate(() => void store.insert([late]).then(() => resolve())));
    const order: string[] = [];
    await Promise.all([deletion.then(() => order.push('delete')), insert.then(() => order.push('insert'))]);
    expect(order).toEqual(['insert', 'delete']);
    expect((await deletion).deleted).toBe(50);
  });
});
