import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@otel-audit/contract';
import { buildExportService, signToken } from '@otel-audit/exporter-service';
import type { TokenClaims } from '../src/auth.js';
import { elasticsearch } from '../../test/support/elasticsearch.js';
import { validEvent } from '../../test/support/otlp-json.js';
import { elasticsearchStores, eventually, isolatedDay, sqliteStores, type StorePair } from '../../test/support/services.js';

const SECRET = 'scope-matrix-test-secret-of-32-characters';
const es = elasticsearch();

const callers: Record<string, TokenClaims> = {
  alice: { sub: 'u-alice', workspaces: ['ws-a'] },
  bob: { sub: 'u-bob', workspaces: ['ws-b'] },
  auditor: { sub: 'u-auditor', permissions: ['users:view', 'security-logs:view'] },
  half: { sub: 'u-half', workspaces: ['ws-a'], permissions: ['users:view'] },
  root: { sub: 'u-root', superAdmin: true },
};

function dataset(day: Date): AuditEvent[] {
  const at = (m: number) => new Date(day.getTime() + m * 60_000).toISOString();
  return [
    validEvent({ time: at(1), actor: { id: 'u-alice', type: 'user' }, workspace: { id: 'ws-a' } }),
    validEvent({ time: at(2), actor: { id: 'u-alice', type: 'user' }, workspace: { id: 'ws-b' } }),
    validEvent({ time: at(3), actor: { id: 'u-bob', type: 'user' }, workspace: { id: 'ws-a' } }),
    validEvent({ time: at(4), actor: { id: 'u-bob', type: 'user' }, workspace: { id: 'ws-b' } }),
    validEvent({ time: at(5), actor: { id: 'u-carol', type: 'user' }, workspace: { id: 'ws-c' } }),
  ];
}

/** Which of the five events (by index) each caller gets for each scope; 403 where refused. */
const matrix: Record<string, Record<string, number[] | 403>> = {
  'scope=self': { alice: [0, 1], bob: [2, 3], auditor: [], half: [], root: [] },
  'scope=workspace&workspace=ws-a': { alice: [0, 2], bob: 403, auditor: 403, half: [0, 2], root: [0, 2] },
  'scope=workspace&workspace=ws-b': { alice: 403, bob: [1, 3], auditor: 403, half: 403, root: [1, 3] },
  'scope=user&user=u-bob': { alice: 403, bob: 403, auditor: [2, 3], half: 403, root: [2, 3] },
  'scope=all': { alice: 403, bob: 403, auditor: [0, 1, 2, 3, 4], half: 403, root: [0, 1, 2, 3, 4] },
  // Filters narrow a scope and never widen it.
  'scope=self&actor=u-bob': { alice: [], bob: [2, 3], auditor: [], half: [], root: [] },
  'scope=workspace&workspace=ws-a&actor=u-bob': { alice: [2], bob: 403, auditor: 403, half: [2], root: [2] },
  'scope=user&user=u-bob&actor=u-alice': { alice: 403, bob: 403, auditor: [], half: 403, root: [] },
};

const kinds = [
  { name: 'SQLite', open: sqliteStores, enabled: true },
  { name: 'Elasticsearch', open: () => elasticsearchStores(es!), enabled: es !== null },
];

for (const kind of kinds) {
  describe.skipIf(!kind.enabled)(`who may see what, on ${kind.name}`, () => {
    let stores: StorePair;
    let app: ReturnType<typeof buildExportService>;
    let events: AuditEvent[];
    let range: string;
    const tokens: Record<string, string> = {};

    beforeAll(async () => {
      stores = await kind.open();
      const day = isolatedDay();
      events = dataset(day);
      await stores.writer.insert(events);
      range = `from=${day.toISOString()}&to=${new Date(day.getTime() + 86_400_000).toISOString()}`;
      await eventually(() => stores.reader.count({ from: day, to: new Date(day.getTime() + 86_400_000) }), (n) => n === events.length);
      app = buildExportService({ store: stores.reader, auth: { secret: SECRET } });
      for (const [name, claims] of Object.entries(callers)) tokens[name] = await signToken(SECRET, claims);
    });
    afterAll(async () => {
      await app?.close();
      await stores?.close();
    });

    for (const [scope, expectations] of Object.entries(matrix)) {
      for (const [caller, expected] of Object.entries(expectations)) {
        it(`${caller} × ${scope} → ${expected === 403 ? '403' : `events ${JSON.stringify(expected)}`}`, async () => {
          for (const url of [`/v1/events?${scope}&${range}&sort=asc`, `/v1/exports/events.csv?${scope}&${range}`, `/v1/events/count?${scope}&${range}`]) {
            const res = await app.inject({ url, headers: { authorization: `Bearer ${tokens[caller]}` } });
            if (expected === 403) {
              expect(res.statusCode).toBe(403);
              expect(res.json()).toEqual({ error: { code: 'AUDIT_ERR_SCOPE_FORBIDDEN', message: 'you are not allowed to see this scope' } });
              continue;
            }
            expect(res.statusCode).toBe(200);
            if (url.startsWith('/v1/events/count')) {
              expect(res.json()).toEqual({ count: expected.length });
              continue;
            }
            const ids = url.startsWith('/v1/events')
              ? (res.json().events as AuditEvent[]).map((e) => e.id)
              : (parse(res.body, { columns: true }) as Record<string, string>[]).map((row) => row['Event ID']);
            expect(ids).toEqual(expected.map((i) => events[i]!.id));
          }
        });
      }
    }

    it('pages through /v1/events with the opaque cursor', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await app.inject({
          url: `/v1/events?scope=all&${range}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
          headers: { authorization: `Bearer ${tokens.root}` },
        });
        const body = res.json() as { events: AuditEvent[]; nextCursor: string | null };
        seen.push(...body.events.map((e) => e.id));
        cursor = body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(events.map((e) => e.id).reverse());
    });
  });
}
