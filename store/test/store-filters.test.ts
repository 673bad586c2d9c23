import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@otel-audit/contract';
import type { EventFilter, EventQuery } from '@otel-audit/store';
import { elasticsearch } from '../../test/support/elasticsearch.js';
import { validEvent } from '../../test/support/otlp-json.js';
import { elasticsearchStores, eventually, isolatedDay, sqliteStores, type StorePair } from '../../test/support/services.js';

const es = elasticsearch();

/** A fixed, varied day of events; the expected answers are computed from it by hand-written rules below. */
function dataset(day: Date): AuditEvent[] {
  const users = ['u-ann', 'u-bob', 'u-cid'];
  const actions = ['auth.login', 'auth.logout', 'api_token.create', 'api_token.delete', 'user.update', 'platform.search'] as const;
  return Array.from({ length: 60 }, (_, i) =>
    validEvent({
      time: new Date(day.getTime() + Math.floor(i / 2) * 1000).toISOString(),
      action: actions[i % actions.length]!,
      category: (['authentication', 'session', 'iam', 'iam', 'iam', 'search'] as const)[i % actions.length]!,
      outcome: i % 7 === 0 ? 'failure' : 'success',
      actor: { id: users[i % 3]!, name: ['Ann Archer', 'Bob Baker', 'Cid Cooper'][i % 3]!, type: 'user' },
      client: { ip: i % 4 === 0 ? `10.1.${i}.7` : `2001:db8::${i.toString(16)}` },
      workspace: { id: i % 5 === 0 ? 'ws-blue' : 'ws-red' },
      resource: { type: i % 2 ? 'api_token' : 'report', id: `r-${i % 10}`, name: i % 3 ? `Quarterly report ${i}` : `Deploy token ${i}` },
      message: i % 6 === 0 ? 'Rotated credentials after incident' : `Routine event ${i}`,
      // Three traces and untraced events; each traced event its own span.
      ...(i % 4 === 3 ? {} : { traceId: TRACE_IDS[i % 3]!, spanId: (i + 1).toString(16).padStart(16, '0') }),
    }),
  );
}

const TRACE_IDS = ['4bf92f3577b34da6a3ce929d0e0e4736', '0af7651916cd43dd8448eb211c80319c', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'];

const inCidr10 = (ip: string | undefined) => Boolean(ip?.startsWith('10.'));
const cases: { name: string; filter: EventFilter; match: (e: AuditEvent) => boolean }[] = [
  { name: 'actor', filter: { actorIds: ['u-bob'] }, match: (e) => e.actor.id === 'u-bob' },
  { name: 'empty scope matches nothing', filter: { actorIds: [] }, match: () => false },
  { name: 'workspace and outcome', filter: { workspaceIds: ['ws-blue'], outcomes: ['success'] }, match: (e) => e.workspace?.id === 'ws-blue' && e.outcome === 'success' },
  { name: 'action prefix', filter: { actionPrefixes: ['api_token.'] }, match: (e) => e.action.startsWith('api_token.') },
  { name: 'exact action or prefix', filter: { actions: ['auth.login'], actionPrefixes: ['user.'] }, match: (e) => e.action === 'auth.login' || e.action.startsWith('user.') },
  { name: 'category', filter: { categories: ['iam', 'search'] }, match: (e) => ['iam', 'search'].includes(e.category) },
  { name: 'resource', filter: { resourceType: 'api_token', resourceId: 'r-3' }, match: (e) => e.resource?.type === 'api_token' && e.resource.id === 'r-3' },
  { name: 'IPv4 CIDR', filter: { ip: '10.0.0.0/8' }, match: (e) => inCidr10(e.client?.ip) },
  { name: 'exact IPv6 address', filter: { ip: '2001:db8::b' }, match: (e) => e.client?.ip === '2001:db8::b' },
  { name: 'free text, all words', filter: { text: 'rotated credentials' }, match: (e) => e.message === 'Rotated credentials after incident' },
  { name: 'free text over names', filter: { text: 'Cooper' }, match: (e) => e.actor.name === 'Cid Cooper' },
  { name: 'query syntax is just text', filter: { text: 'user.id:* OR *' }, match: () => false },
  { name: 'trace', filter: { traceId: TRACE_IDS[1]! }, match: (e) => e.traceId === TRACE_IDS[1] },
  { name: 'trace in a scope', filter: { traceId: TRACE_IDS[0]!, actorIds: ['u-ann'] }, match: (e) => e.traceId === TRACE_IDS[0] && e.actor.id === 'u-ann' },
  { name: 'unknown trace', filter: { traceId: 'f'.repeat(32) }, match: () => false },
  { name: 'narrowing a scope', filter: { actorIds: ['u-ann'], text: 'deploy' }, match: (e) => e.actor.id === 'u-ann' && Boolean(e.resource?.name?.startsWith('Deploy')) },
];

const kinds = [
  { name: 'SQLite', open: sqliteStores, enabled: true },
  { name: 'Elasticsearch', open: () => elasticsearchStores(es!), enabled: es !== null },
];

for (const kind of kinds) {
  describe.skipIf(!kind.enabled)(`${kind.name} filters, pages and counts (same answers from both stores)`, () => {
    let stores: StorePair;
    let events: AuditEvent[];
    let base: Pick<EventQuery, 'from' | 'to'>;
    beforeAll(async () => {
      stores = await kind.open();
      const day = isolatedDay();
      events = dataset(day);
      base = { from: day, to: new Date(day.getTime() + 86_400_000) };
      await stores.writer.insert(events);
      await eventually(() => stores.reader.count(base), (n) => n === events.length);
    });
    afterAll(async () => stores?.close());

    const sorted = (list: AuditEvent[]) => [...list].sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
    const collect = async (q: EventQuery) => {
      const out: string[] = [];
      for await (const e of stores.reader.query(q)) out.push(e.id);
      return out;
    };

    for (const c of cases) {
      it(`filter: ${c.name}`, async () => {
        const expected = sorted(events.filter(c.match)).map((e) => e.id);
        expect(await collect({ ...base, filter: c.filter })).toEqual(expected);
        expect(await stores.reader.count({ ...base, filter: c.filter })).toBe(expected.length);
      });
    }

    it('reads back the trace and span id as stored (ECS trace.id, span.id on Elasticsearch)', async () => {
      const traced: AuditEvent[] = [];
      for await (const e of stores.reader.query({ ...base, filter: { traceId: TRACE_IDS[2]! } })) traced.push(e);
      expect(traced).toEqual(sorted(events.filter((e) => e.traceId === TRACE_IDS[2])));
      expect(traced.every((e) => e.spanId?.length === 16)).toBe(true);
    });

    it('pages with a cursor and a limit, both orders, without gaps or repeats', async () => {
      for (const order of ['asc', 'desc'] as const) {
        const all = sorted(events).map((e) => e.id);
        const expected = order === 'asc' ? all : [...all].reverse();
        const seen: string[] = [];
        let after: EventQuery['after'];
        for (;;) {
          const page: AuditEvent[] = [];
          for await (const e of stores.reader.query({ ...base, order, after, limit: 7 })) page.push(e);
          seen.push(...page.map((e) => e.id));
          if (page.length < 7) break;
          after = { time: page.at(-1)!.time, id: page.at(-1)!.id };
        }
        expect(seen).toEqual(expected);
      }
    });
  });
}
