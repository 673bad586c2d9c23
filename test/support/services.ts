import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import {
  ElasticsearchExportJobStore,
  ElasticsearchStore,
  SqliteExportJobStore,
  SqliteStore,
  type AuditStore,
  type ExportJobStore,
} from '@otel-audit/store';
import type { ElasticsearchForTests } from './elasticsearch.js';

/** Listens on a port the OS picks, on loopback; returns the base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}

export interface StorePair {
  kind: 'sqlite' | 'elasticsearch';
  /** What the collector writes with (the writer user on Elasticsearch). */
  writer: AuditStore;
  /** What the export service reads with (the reader user on Elasticsearch). */
  reader: AuditStore;
  /** Another reader of the same data, with a small page size to cross page boundaries. */
  readerWithPageSize(pageSize: number): AuditStore;
  /**
   * A connection to background export jobs, as the export service has it (the reader user
   * on Elasticsearch). The same `space` gives the same jobs (another replica, or the
   * service after a restart); each new space starts empty. The caller closes it.
   */
  exportJobs(space: string): ExportJobStore;
  close(): Promise<void>;
}

/** A real SQLite file in a fresh temporary folder. */
export async function sqliteStores(): Promise<StorePair> {
  const dir = mkdtempSync(join(tmpdir(), 'otel-audit-sqlite-'));
  const path = join(dir, 'audit.sqlite');
  const store = new SqliteStore({ path });
  await store.init();
  return {
    kind: 'sqlite',
    writer: store,
    reader: store,
    readerWithPageSize: (pageSize) => new SqliteStore({ path, pageSize }),
    // Each space its own file, so tests on one pair never run each other's jobs.
    exportJobs: (space) => new SqliteExportJobStore({ path: join(dir, `jobs-${space}.sqlite`) }),
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The run's Elasticsearch node, template installed by the admin user, least privilege after that. */
export async function elasticsearchStores(es: ElasticsearchForTests): Promise<StorePair> {
  const admin = new ElasticsearchStore({ url: es.url, ...es.admin });
  await admin.init();
  await admin.close();
  const writer = new ElasticsearchStore({ url: es.url, ...es.writer, installTemplate: false });
  const reader = new ElasticsearchStore({ url: es.url, ...es.reader, installTemplate: false });
  return {
    kind: 'elasticsearch',
    writer,
    reader,
    readerWithPageSize: (pageSize) => new ElasticsearchStore({ url: es.url, ...es.reader, installTemplate: false, pageSize }),
    // Per process and space: forks share the node, and must not run each other's jobs.
    exportJobs: (space) => new ElasticsearchExportJobStore({ url: es.url, ...es.reader, index: `audit-export-jobs-test-${process.pid}-${space}` }),
    async close() {
      await writer.close();
      await reader.close();
    },
  };
}

/**
 * Tests share one node and one set of daily indices; each test records events on a day
 * of its own (per process and call, so parallel forks differ too) and queries that day
 * only, so tests cannot see each other's data.
 */
let dayCounter = 0;
export function isolatedDay(): Date {
  dayCounter += 1;
  const day = (process.pid * 101 + dayCounter * 7) % 36_500;
  return new Date(Date.UTC(1990, 0, 1) + day * 86_400_000);
}

export async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
}
