import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { HashChain, SqliteStore, canonicalEvent, chainHash, GENESIS_HASH } from '@otel-audit/store';
import { validEvent } from '../../test/support/otlp-json.js';

describe('SQLite schema migration (a file written before chaining)', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('adds the chain columns and the digest table, keeps the old rows unchained, and chains new ones', async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-migrate-'));
    const path = join(dir, 'audit.sqlite');
    // The version-0 layout, as the first release wrote it.
    const old = new Database(path);
    old.exec(`CREATE TABLE audit_events (id TEXT PRIMARY KEY, time_ms INTEGER NOT NULL, action TEXT NOT NULL, category TEXT NOT NULL,
      outcome TEXT NOT NULL, actor_id TEXT NOT NULL, workspace_id TEXT, service_name TEXT, doc TEXT NOT NULL) WITHOUT ROWID`);
    const before = validEvent();
    old.prepare('INSERT INTO audit_events (id, time_ms, action, category, outcome, actor_id, doc) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      before.id, Date.parse(before.time), before.action, before.category, before.outcome, before.actor.id, JSON.stringify(before),
    );
    old.close();

    const store = new SqliteStore({ path });
    const chain = new HashChain('c-1');
    const after = validEvent({ metadata: { n: 1.5, zero: 0, ok: false }, traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' });
    expect(await store.insert([after, after], chain)).toEqual({ created: 1, duplicates: 1, failed: [] });
    const range = { from: new Date(0), to: new Date(Date.now() + 60_000) };
    const unchained = [];
    for await (const e of store.unchained(range)) unchained.push(e.id);
    expect(unchained).toEqual([before.id]);
    const chained = [];
    for await (const item of store.queryChain('c-1', 1)) chained.push(item);
    expect(chained).toEqual([{ event: after, chain: { id: 'c-1', seq: 1, hash: chainHash(canonicalEvent(after), GENESIS_HASH) } }]);
    expect(chain.head).toEqual({ seq: 1, hash: chained[0]!.chain!.hash });
    // Migration 3's trace_id column serves the trace filter on the migrated file.
    const traced = [];
    for await (const e of store.query({ ...range, filter: { traceId: after.traceId! } })) traced.push(e.id);
    expect(traced).toEqual([after.id]);
    await store.close();
    // Opening again is a no-op: the version is recorded.
    const again = new SqliteStore({ path });
    expect(again.database.pragma('user_version', { simple: true })).toBe(3);
    await again.close();
  });
});
