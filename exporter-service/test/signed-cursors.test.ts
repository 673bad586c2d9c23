import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@otel-audit/contract';
import { DirectoryFileStorage, buildExportService, signToken } from '@otel-audit/exporter-service';
import { SqliteExportJobStore } from '@otel-audit/store';
import { EventCursorCodec, cursorKey, queryBinding } from '../src/internal/event-cursor.js';
import { parseEventQuery } from '../src/internal/event-query.js';
import { elasticsearch } from '../../test/support/elasticsearch.js';
import { validEvent } from '../../test/support/otlp-json.js';
import { elasticsearchStores, eventually, isolatedDay, sqliteStores, type StorePair } from '../../test/support/services.js';

const SECRET = 'signed-cursor-test-secret-of-32-chars';
const CURSOR_SECRET = 'signed-cursor-test-cursor-secret-32-chars';
const LINK_SECRET = 'signed-cursor-test-link-secret-of-32-chars';
const es = elasticsearch();

const kinds = [
  { name: 'SQLite', open: sqliteStores, enabled: true },
  { name: 'Elasticsearch', open: () => elasticsearchStores(es!), enabled: es !== null },
];

type Page = { events: AuditEvent[]; nextCursor: string | null };

for (const kind of kinds) {
  describe.skipIf(!kind.enabled)(`signed /v1/events cursors on ${kind.name}`, () => {
    let stores: StorePair;
    let app: ReturnType<typeof buildExportService>;
    let root: string;
    let alice: string;
    let bob: string;
    let inRange: AuditEvent[];
    let after: AuditEvent[];
    let day: Date;
    let range: string;
    // Unique per run: the default-window test reads "now" on a node other suites share.
    const recentActor = `u-recent-${randomUUID()}`;

    beforeAll(async () => {
      stores = await kind.open();
      day = isolatedDay();
      const at = (ms: number, actor = 'u-alice') => validEvent({ time: new Date(day.getTime() + ms).toISOString(), actor: { id: actor, type: 'user' } });
      inRange = Array.from({ length: 5 }, (_, i) => at(3_600_000 * (i + 1)));
      // The next day: outside every range the tests ask for.
      after = Array.from({ length: 3 }, (_, i) => at(86_400_000 + 3_600_000 * (i + 1)));
      const recent = Array.from({ length: 5 }, (_, i) => validEvent({ time: new Date(Date.now() - 60_000 * (i + 1)).toISOString(), actor: { id: recentActor, type: 'user' } }));
      await stores.writer.insert([...inRange, ...after, ...recent]);
      await eventually(() => stores.reader.count({ from: day, to: new Date(day.getTime() + 2 * 86_400_000) }), (n) => n === 8);
      await eventually(() => stores.reader.count({ from: new Date(Date.now() - 3_600_000), to: new Date(), filter: { actorIds: [recentActor] } }), (n) => n === 5);
      app = buildExportService({ store: stores.reader, auth: { secret: SECRET }, cursorSecret: CURSOR_SECRET });
      root = await signToken(SECRET, { sub: 'root', superAdmin: true });
      alice = await signToken(SECRET, { sub: 'u-alice' });
      bob = await signToken(SECRET, { sub: 'u-bob' });
      range = `from=${day.toISOString()}&to=${new Date(day.getTime() + 86_400_000).toISOString()}`;
    });
    afterAll(async () => {
      await app?.close();
      await stores?.close();
    });

    const get = (query: string, token = root) => app.inject({ url: `/v1/events?${query}`, headers: { authorization: `Bearer ${token}` } });
    const pageAll = async (query: string, token = root) => {
      const seen: AuditEvent[] = [];
      let cursor: string | null = null;
      do {
        const res = await get(`${query}&limit=2${cursor ? `&cursor=${cursor}` : ''}`, token);
        expect(res.statusCode, res.body).toBe(200);
        const body = res.json() as Page;
        seen.push(...body.events);
        cursor = body.nextCursor;
      } while (cursor);
      return seen.map((e) => e.id);
    };
    const expectRefused = (res: { statusCode: number; body: string }, message = /cursor/) => {
      expect(res.statusCode, res.body).toBe(400);
      const { error } = JSON.parse(res.body) as { error: { code: string; message: string } };
      expect(error.code).toBe('AUDIT_ERR_INVALID_QUERY');
      expect(error.message).toMatch(message);
    };
    const firstCursor = async (query: string, token = root) => {
      const cursor = ((await get(`${query}&limit=2`, token)).json() as Page).nextCursor;
      expect(cursor).toBeTruthy();
      return cursor!;
    };

    it('pages through the range, both orders, within the route schema length', async () => {
      expect(await pageAll(`scope=all&${range}`)).toEqual(inRange.map((e) => e.id).reverse());
      expect(await pageAll(`scope=all&${range}&sort=asc`)).toEqual(inRange.map((e) => e.id));
      expect((await firstCursor(`scope=all&${range}`)).length).toBeLessThanOrEqual(400);
    });

    it('pages through a default window that slides between pages (the web viewer may omit from and to)', async () => {
      const seen = await pageAll(`scope=user&user=${recentActor}`);
      expect(seen).toHaveLength(5);
    });

    it('refuses an unsigned cursor that would leave the range (the old format), naming cursor', async () => {
      const forged = Buffer.from(JSON.stringify([new Date(day.getTime() + 2 * 86_400_000).toISOString(), 'ffffffff-ffff-7fff-bfff-ffffffffffff'])).toString('base64url');
      const res = await get(`scope=all&${range}&cursor=${forged}`);
      expectRefused(res);
      expect(res.body).not.toContain(after[0]!.id);
    });

    it('refuses a cursor whose position or signature was altered', async () => {
      const cursor = await firstCursor(`scope=all&${range}`);
      const [body, mac] = cursor.split('.');
      const moved = Buffer.from(JSON.stringify([new Date(day.getTime() + 2 * 86_400_000).toISOString(), after[0]!.id])).toString('base64url');
      const flipped = `${mac!.slice(0, -2)}${mac!.endsWith('AA') ? 'BB' : 'AA'}`;
      for (const bad of [`${moved}.${mac}`, `${body}.${flipped}`, `${body}`, `${body}.${mac}.x`, 'not-a-cursor']) expectRefused(await get(`scope=all&${range}&cursor=${bad}`));
    });

    it('refuses a cursor issued for another query: other filters, range, sort, scope or caller', async () => {
      const cursor = await firstCursor(`scope=all&${range}`);
      const to2 = new Date(day.getTime() + 2 * 86_400_000).toISOString();
      for (const other of [
        `scope=all&${range}&action=auth.login`,
        `scope=all&from=${day.toISOString()}&to=${to2}`,
        `scope=all&${range}&sort=desc&actor=u-alice`,
        `scope=user&user=u-alice&${range}`,
      ]) {
        expectRefused(await get(`${other}&cursor=${cursor}`));
      }
      // The same parameters from another caller: `self` is another query.
      const mine = await firstCursor(`scope=self&${range}`, alice);
      expectRefused(await get(`scope=self&${range}&cursor=${mine}`, bob));
      expect((await get(`scope=self&${range}&cursor=${mine}`, alice)).statusCode).toBe(200);
    });

    it('refuses a correctly signed cursor whose position lies past the end of the range (insider with the key)', async () => {
      const caller = { id: 'root', workspaces: [], permissions: [], superAdmin: true };
      const params = { scope: 'all', from: day.toISOString(), to: new Date(day.getTime() + 86_400_000).toISOString() };
      const codec = new EventCursorCodec(cursorKey(CURSOR_SECRET));
      const limits = { defaultWindowMs: 30 * 86_400_000, maxRangeMs: 366 * 86_400_000 };
      const past = { time: new Date(day.getTime() + 2 * 86_400_000).toISOString(), id: after[0]!.id };
      const desc = codec.encode(past, queryBinding(parseEventQuery(caller, params, limits, 'desc'), params));
      expectRefused(await get(`scope=all&${range}&cursor=${desc}`), /^cursor lies outside the from–to range/);
      const before = { time: new Date(day.getTime() - 86_400_000).toISOString(), id: inRange[0]!.id };
      const asc = codec.encode(before, queryBinding(parseEventQuery(caller, { ...params, sort: 'asc' }, limits, 'desc'), params));
      expectRefused(await get(`scope=all&${range}&sort=asc&cursor=${asc}`), /^cursor lies outside the from–to range/);
    });

    it('keeps cursors valid across replicas that share the download-link secret (the default key), and only those', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'otel-audit-cursor-replicas-'));
      const jobs = new SqliteExportJobStore({ path: join(dir, 'jobs.sqlite') });
      const replica = (linkSecret?: string) =>
        buildExportService({
          store: stores.reader,
          auth: { secret: SECRET },
          ...(linkSecret ? { jobs: { store: jobs, files: new DirectoryFileStorage(join(dir, 'exports')), linkSecret } } : {}),
        });
      const [a, b, other, none] = [replica(LINK_SECRET), replica(LINK_SECRET), replica(`${LINK_SECRET}-other`), replica()];
      try {
        const url = `/v1/events?scope=all&${range}&limit=2`;
        const headers = { authorization: `Bearer ${root}` };
        const cursor = ((await a.inject({ url, headers })).json() as Page).nextCursor!;
        expect((await b.inject({ url: `${url}&cursor=${cursor}`, headers })).statusCode).toBe(200);
        expectRefused(await other.inject({ url: `${url}&cursor=${cursor}`, headers }));
        expectRefused(await none.inject({ url: `${url}&cursor=${cursor}`, headers }));
      } finally {
        await Promise.all([a.close(), b.close(), other.close(), none.close()]);
        await jobs.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
