import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '@otel-audit/store';
import { validEvent } from '../../test/support/otlp-json.js';

const pageSize = (path: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma('page_size', { simple: true });
  } finally {
    db.close();
  }
};

describe('SQLite page size', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives a new file 16 KiB pages, so a row and its document share one b-tree cell', async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-page-size-'));
    const path = join(dir, 'audit.sqlite');
    const store = new SqliteStore({ path });
    await store.insert([validEvent()]);
    await store.close();
    expect(pageSize(path)).toBe(16_384);
  });

  it('leaves a file written with 4 KiB pages as it is, and reads and writes it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-page-size-'));
    const path = join(dir, 'audit.sqlite');
    const first = validEvent();
    const old = new SqliteStore({ path });
    await old.insert([first]);
    await old.close();
    // Rewritten at 4 KiB, as a file of an earlier release is.
    const db = new Database(path);
    db.pragma('journal_mode = DELETE');
    db.pragma('page_size = 4096');
    db.exec('VACUUM');
    db.close();
    expect(pageSize(path)).toBe(4096);

    const store = new SqliteStore({ path });
    const second = validEvent();
    expect(await store.insert([second])).toEqual({ created: 1, duplicates: 0, failed: [] });
    const ids = [];
    for await (const e of store.query({ from: new Date(0), to: new Date(Date.now() + 60_000) })) ids.push(e.id);
    await store.close();
    expect(ids.sort()).toEqual([first.id, second.id].sort());
    expect(pageSize(path)).toBe(4096);
  });
});
