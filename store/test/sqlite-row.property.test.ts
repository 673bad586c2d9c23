import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@otel-audit/contract';
import { HashChain, SqliteStore, canonicalEvent, chainHash, type ChainedEvent } from '@otel-audit/store';
import { auditEventArbitrary } from '../../test/support/audit-event-arbitrary.js';

// Event → SQLite row → event, through a real file: what `query` and `verify` read back is the
// event as written (as JSON holds it), and the hash stored with it is of exactly that.
const dir = mkdtempSync(join(tmpdir(), 'sqlite-row-property-'));
const store = new SqliteStore({ path: join(dir, 'audit.db') });
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('event ↔ SQLite row (property, real file)', () => {
  it('reads back every event as written, and its chain hash is of the event read back', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(auditEventArbitrary, { minLength: 1, maxLength: 5 }), async (generated) => {
        const events = [...new Map(generated.map((e) => [e.id, e])).values()];
        const chain = new HashChain(`row-property-${n++}`);
        expect(await store.insert(events, chain)).toEqual({ created: events.length, duplicates: 0, failed: [] });
        const chained: ChainedEvent[] = await collect(store.queryChain(chain.id, 1));
        // JSON has no -0 and no undefined: the row holds the event as JSON.stringify writes it.
        expect(chained.map((c) => c.event)).toEqual(events.map((e) => JSON.parse(JSON.stringify(e)) as AuditEvent));
        let previous = '0'.repeat(64);
        for (const { event, chain: position } of chained) {
          expect(position!.hash).toBe(chainHash(canonicalEvent(event), previous));
          previous = position!.hash;
        }
      }),
      { numRuns: 100 },
    );
  });
});
