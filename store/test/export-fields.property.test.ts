import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_CATEGORIES, AUDIT_OUTCOMES, EXPORT_COLUMNS, exportFields, type AuditEvent, type ExportColumnKey } from '@otel-audit/contract';
import { documentPaths } from '../src/internal/document-fields.js';
import { fromDocument, toDocument } from '../src/internal/ecs-document.js';
import { elasticsearch } from '../../test/support/elasticsearch.js';
import { elasticsearchStores, eventually, isolatedDay, sqliteStores, type StorePair } from '../../test/support/services.js';

const short = (max: number) => fc.string({ maxLength: max });
const nonEmpty = (max: number) => fc.string({ minLength: 1, maxLength: max });
const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
let serial = 0;

/** Valid stored events, every optional field present or not. */
const storedEvent = (day: Date): fc.Arbitrary<AuditEvent> =>
  fc.record(
    {
      time: fc.integer({ min: 0, max: 86_399_999 }).map((ms) => new Date(day.getTime() + ms).toISOString()),
      action: fc.constantFrom('auth.login', 'user.update', 'api_token.create'),
      category: fc.constantFrom(...AUDIT_CATEGORIES),
      outcome: fc.constantFrom(...AUDIT_OUTCOMES),
      reason: short(20),
      actor: fc.record({ id: nonEmpty(12), name: short(12), type: fc.constantFrom('user', 'service', 'system'), email: short(12), roles: fc.array(nonEmpty(6), { minLength: 1, maxLength: 2 }) }, { requiredKeys: ['id', 'type'] }),
      client: fc.record({ ip: fc.constantFrom('10.0.0.1', '2001:db8::1'), userAgent: nonEmpty(20) }, { requiredKeys: [] }).filter((c) => Object.keys(c).length > 0),
      sessionId: nonEmpty(10),
      workspace: fc.record({ id: nonEmpty(10), name: nonEmpty(10) }, { requiredKeys: ['id'] }),
      resource: fc.record({ type: nonEmpty(10), id: nonEmpty(10), name: nonEmpty(10), href: fc.constantFrom('https://app.example.test/x', 'javascript:alert(1)') }, { requiredKeys: ['type'] }),
      changes: fc.array(fc.record({ field: nonEmpty(10), from: fc.jsonValue({ maxDepth: 1 }), to: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: ['field'] }), { minLength: 1, maxLength: 3 }),
      message: nonEmpty(30),
      metadata: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/), fc.oneof(short(10), fc.integer(), fc.boolean()), { minKeys: 1, maxKeys: 4 }),
      service: fc.record({ name: nonEmpty(10) }),
      traceId: hex(32),
      spanId: hex(16),
    },
    { requiredKeys: ['time', 'action', 'category', 'outcome', 'actor'] },
  ).map((e) => ({ ...e, id: `0190a0b0-0000-7000-8000-${String((serial += 1)).padStart(12, '0')}` }) as AuditEvent);

const columnKeys = fc.shuffledSubarray(EXPORT_COLUMNS.map((c) => c.key) as ExportColumnKey[], { minLength: 1 });
const cells = (e: AuditEvent, keys: readonly ExportColumnKey[]) => keys.map((k) => EXPORT_COLUMNS.find((c) => c.key === k)!.value(e));

/**
 * What `_source: { includes }` returns: the listed paths and everything under them
 * (Elasticsearch's source filtering). The real thing is checked against the store below.
 */
function includeOnly(doc: Record<string, unknown>, paths: readonly string[], prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) {
    const path = prefix + k;
    if (paths.some((p) => p === path || path.startsWith(`${p}.`))) out[k] = v;
    else if (v && typeof v === 'object' && !Array.isArray(v) && paths.some((p) => p.startsWith(`${path}.`))) {
      const inner = includeOnly(v as Record<string, unknown>, paths, `${path}.`);
      if (Object.keys(inner).length > 0) out[k] = inner;
    }
  }
  return out;
}

describe('export fields: a document cut to the columns reads as the event does', () => {
  it('fromDocument of the cut _source gives the same cells as the event, for any columns (property)', () => {
    fc.assert(
      fc.property(storedEvent(new Date('2026-11-22T00:00:00Z')), columnKeys, (event, keys) => {
        const paths = documentPaths(exportFields(keys))!;
        const read = fromDocument(includeOnly(toDocument(event), paths));
        expect(cells(read, keys)).toEqual(cells(event, keys));
      }),
      { numRuns: 500 },
    );
  });
});

const es = elasticsearch();
const kinds = [
  { name: 'SQLite', open: sqliteStores, enabled: true },
  { name: 'Elasticsearch', open: () => elasticsearchStores(es!), enabled: es !== null },
];

for (const kind of kinds) {
  describe.skipIf(!kind.enabled)(`${kind.name}: a query that names its fields`, () => {
    let stores: StorePair;
    let events: AuditEvent[];
    let range: { from: Date; to: Date };
    beforeAll(async () => {
      stores = await kind.open();
      const day = isolatedDay();
      range = { from: day, to: new Date(day.getTime() + 86_400_000) };
      events = fc.sample(storedEvent(day), { numRuns: 120, seed: 15 });
      await stores.writer.insert(events);
      await eventually(() => stores.reader.count(range), (n) => n === events.length);
    }, 60_000);
    afterAll(async () => stores?.close());

    it('yields the same cells as the whole events, in the same order, for generated column sets', async () => {
      const sorted = [...events].sort((a, b) => Date.parse(a.time) - Date.parse(b.time) || (a.id < b.id ? -1 : 1));
      for (const keys of fc.sample(columnKeys, { numRuns: 6, seed: 16 })) {
        const got: unknown[][] = [];
        for await (const e of stores.reader.query({ ...range, fields: exportFields(keys) })) got.push(cells(e, keys));
        expect(got).toEqual(sorted.map((e) => cells(e, keys)));
      }
    });
  });
}
