/**
 * The Elasticsearch node of a benchmark: one started for the run (scripts/elasticsearch.ts,
 * temporary folder, stopped at the end or on Ctrl-C), or yours from ELASTICSEARCH_URL /
 * ELASTICSEARCH_USERNAME / ELASTICSEARCH_PASSWORD (the admin), with
 * ELASTICSEARCH_WRITER_USERNAME / _PASSWORD and ELASTICSEARCH_READER_USERNAME / _PASSWORD for
 * the least-privilege users (default: the admin).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { ES_VERSION, startElasticsearch, stopElasticsearch, unavailableReason, type Credentials } from '../../scripts/elasticsearch.js';

export interface BenchElasticsearch {
  url: string;
  version: string;
  /** Undefined for a node of yours. */
  pid: number | undefined;
  /** For what only it may do (e.g. write outside the audit indices); a node of yours: the admin. */
  superuser: Credentials;
  admin: Credentials;
  writer: Credentials;
  reader: Credentials;
  /** Stops the node the benchmark started; idempotent. */
  stop(): Promise<void>;
}

export async function benchElasticsearch(heap = '512m'): Promise<BenchElasticsearch> {
  const external = process.env.ELASTICSEARCH_URL;
  if (external) {
    const admin = { username: process.env.ELASTICSEARCH_USERNAME ?? '', password: process.env.ELASTICSEARCH_PASSWORD ?? '' };
    const user = (role: string) => ({
      username: process.env[`ELASTICSEARCH_${role}_USERNAME`] ?? admin.username,
      password: process.env[`ELASTICSEARCH_${role}_PASSWORD`] ?? admin.password,
    });
    return { url: external, version: 'external', pid: undefined, superuser: admin, admin, writer: user('WRITER'), reader: user('READER'), stop: async () => {} };
  }
  const reason = unavailableReason();
  if (reason) throw new Error(`cannot start Elasticsearch: ${reason} (or set ELASTICSEARCH_URL)`);
  // Its own temporary folder: as root the node runs as `nobody`, who cannot enter a 0700 folder below one.
  const runDir = mkdtempSync(join(os.tmpdir(), 'otel-audit-bench-es-'));
  console.error(`starting Elasticsearch ${ES_VERSION} in ${runDir} (heap ${heap}) …`);
  const node = await startElasticsearch({ runDir, heap });
  console.error(`Elasticsearch ${node.version} at ${node.url} (pid ${node.pid})`);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopElasticsearch(node.pid);
    rmSync(runDir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
  return { url: node.url, version: node.version, pid: node.pid, superuser: node.superuser, admin: node.admin, writer: node.writer, reader: node.reader, stop };
}

export async function esHeapMiB(client: Client): Promise<number | undefined> {
  try {
    const stats = await client.nodes.stats({ metric: 'jvm', filter_path: 'nodes.*.jvm.mem.heap_max_in_bytes' });
    const node = Object.values(stats.nodes ?? {})[0];
    const bytes = node?.jvm?.mem?.heap_max_in_bytes;
    return bytes ? Math.round(bytes / 2 ** 20) : undefined;
  } catch {
    return undefined;
  }
}
