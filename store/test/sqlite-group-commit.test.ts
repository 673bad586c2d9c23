import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@otel-audit/contract';
import { HashChain, GENESIS_HASH, SqliteStore, canonicalEvent, chainHash, type ChainedEvent } from '@otel-audit/store';
import { GroupCommit } from '../src/internal/group-commit.js';
import { validEvent } from '../../test/support/otlp-json.js';

const dirs: string[] = [];
function openStore(): SqliteStore {
  const dir = mkdtempSync(join(tmpdir(), 'group-commit-'));
  dirs.push(dir);
  return new SqliteStore({ path: join(dir, 'audit.db') });
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Walks the stored chain and recomputes every hash from the stored event. */
function expectChainVerifies(chained: ChainedEvent[], length: number): void {
  expect(chained.map((c) => c.chain?.seq)).toEqual(Array.from({ length }, (_, i) => i + 1));
  let previous = GENESIS_HASH;
  for (const { event, chain } of chained) {
    expect(chain!.hash).toBe(chainHash(canonicalEvent(event), previous));
    previous = chain!.hash;
  }
}

describe('GroupCommit', () => {
  it('commits what is submitted in one turn as one group, and settles each caller with its own result', async () => {
    const groups: number[][] = [];
    const commit = new GroupCommit<number, number>((inputs) => {
      groups.push([...inputs]);
      return inputs.map((n) => n * 2);
    });
    const first = await Promise.all(Array.from({ length: 50 }, (_, i) => commit.submit(i)));
    expect(first).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
    expect(await commit.submit(7)).toBe(14);
    expect(groups.map((g) => g.length)).toEqual([50, 1]);
  });

  it('when a group\'s commit throws, commits each caller alone, so only the failing caller is rejected', async () => {
    const groups: number[][] = [];
    const commit = new GroupCommit<number, number>((inputs) => {
      groups.push([...inputs]);
      if (inputs.includes(-1)) throw new Error('disk I/O error');
      return [...inputs];
    });
    const outcomes = [commit.submit(1), commit.submit(-1), commit.submit(2)].map((p) => p.then((v) => v, (err: Error) => err.message));
    expect(await Promise.all(outcomes)).toEqual([1, 'disk I/O error', 2]);
    expect(groups).toEqual([[1, -1, 2], [1], [-1], [2]]);
    // A lone caller's failure is final (no second attempt).
    await expect(commit.submit(-1)).rejects.toThrow('disk I/O error');
    expect(groups.at(-1)).toEqual([-1]);
    expect(await Promise.all([commit.submit(3), commit.submit(4)])).toEqual([3, 4]);
  });
});

describe('SQLite store, concurrent inserts (group commit, real file)', () => {
  it('stores every event of many concurrent callers once, with duplicates across callers counted once, and a chain that verifies', async () => {
    const store = openStore();
    const chain = new HashChain('group-commit-chain');
    const base = Date.parse('2026-03-01T10:00:00Z');
    const events = Array.from({ length: 600 }, (_, i) => validEvent({ time: new Date(base + i).toISOString() }));
    // 30 callers of 20 events, and 8 more that re-send 5 events of another caller and 2 of the last one.
    const batches = Array.from({ length: 30 }, (_, c) => events.slice(c * 20, c * 20 + 20));
    const resent = batches.filter((_, c) => c % 4 === 1).map((b, i) => [...b.slice(0, 5), ...events.slice(600 - (i + 1) * 2, 600 - i * 2)]);
    const results = await Promise.all([...batches, ...resent].map((b) => store.insert(b, chain)));
    const created = results.reduce((n, r) => n + r.created, 0);
    const duplicates = results.reduce((n, r) => n + r.duplicates, 0);
    expect(created).toBe(600);
    expect(created + duplicates).toBe(600 + resent.reduce((n, b) => n + b.length, 0));
    expect(results.every((r) => r.failed.length === 0)).toBe(true);
    const stored = await collect(store.query({ from: new Date(base), to: new Date(base + 600) }));
    expect(stored.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
    const chained = await collect(store.queryChain(chain.id, 1));
    expectChainVerifies(chained, 600);
    expect(chain.head).toEqual({ seq: 600, hash: chained.at(-1)!.chain!.hash });
    await store.close();
  });

  it('fails only the caller whose events break the transaction, stores the others of its group, and leaves the chain without a gap', async () => {
    const store = openStore();
    const chain = new HashChain('group-commit-failure');
    const before = validEvent({ time: '2026-03-02T10:00:00.000Z' });
    await store.insert([before], chain);
    const head = chain.head;
    const good = validEvent({ time: '2026-03-02T10:00:01.000Z' });
    // Unparseable time: NULL for time_ms, refused by the NOT NULL constraint inside the transaction.
    const bad = { ...validEvent(), time: 'not a time' } as AuditEvent;
    const outcomes = await Promise.all(
      [store.insert([good], chain), store.insert([bad], chain)].map((p) => p.then(() => 'stored', (err: Error) => err.message)),
    );
    expect(outcomes).toEqual(['stored', expect.stringMatching(/NOT NULL/)]);
    const range = { from: new Date('2026-03-02T00:00:00Z'), to: new Date('2026-03-03T00:00:00Z') };
    expect((await collect(store.query(range))).map((e) => e.id)).toEqual([before.id, good.id]);
    expectChainVerifies(await collect(store.queryChain(chain.id, 1)), 2);
    // A lone failing caller: nothing stored, the chain head where it was.
    const afterGood = chain.head;
    expect(afterGood).not.toEqual(head);
    await expect(store.insert([bad], chain)).rejects.toThrow(/NOT NULL/);
    expect(chain.head).toEqual(afterGood);
    expect(await store.insert([good], chain)).toEqual({ created: 0, duplicates: 1, failed: [] });
    expectChainVerifies(await collect(store.queryChain(chain.id, 1)), 2);
    await store.close();
  });
});
