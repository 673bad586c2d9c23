import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildCollector, type CollectorOptions } from '@otel-audit/collector';
import { SqliteStore } from '@otel-audit/store';
import { listen } from './services.js';

export interface SqliteCollector {
  /** A fresh temporary folder holding the store's `audit.sqlite`; the test may add files (a spool); close() removes it. */
  dir: string;
  store: SqliteStore;
  app: FastifyInstance;
  /** The collector's base URL on loopback. */
  url: string;
  close(): Promise<void>;
}

/** A real collector on a real SQLite file, listening on a loopback port the OS picks. */
export async function startSqliteCollector(options: Omit<CollectorOptions, 'store'> = {}): Promise<SqliteCollector> {
  const dir = mkdtempSync(join(tmpdir(), 'otel-audit-collector-'));
  const store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
  await store.init();
  const app = buildCollector({ store, ...options });
  const close = async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    return { dir, store, app, url: await listen(app), close };
  } catch (err) {
    await close();
    throw err;
  }
}
