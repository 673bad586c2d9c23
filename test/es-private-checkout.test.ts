import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ES_VERSION, ensureDistribution, startElasticsearch, stopElasticsearch, unavailableReason } from '../scripts/elasticsearch.js';

/*
 * As root, the launcher runs Elasticsearch as `nobody`, which cannot enter a checkout under
 * a 0700 folder (a `mktemp -d` folder, /root). Here the checkout's Elasticsearch cache and
 * the node's folder both sit under a fresh `mktemp -d` folder, and a node must start anyway
 * (the launcher puts a copy of the distribution and the node's files where nobody reaches).
 * Only as root: any other user runs the node as itself, and reaches its own checkout.
 */
const root = process.getuid?.() === 0;
const reason = unavailableReason();
// CI=true: a missing JDK or Maven fails the run in the global set-up; elsewhere it skips here.
const runnable = root && reason === undefined;

describe.skipIf(!runnable)(`Elasticsearch from a checkout under a 0700 folder, as root${runnable ? '' : ` (skipped: ${root ? reason : 'not root'})`}`, () => {
  it('starts a node, as nobody, with its files out of the private folder', { timeout: 240_000 }, async () => {
    const home = await ensureDistribution();
    const privateDir = mkdtempSync(join(tmpdir(), 'otel-audit-private-'));
    expect(statSync(privateDir).mode & 0o777).toBe(0o700);
    const cache = join(privateDir, 'checkout', '.cache', 'elasticsearch');
    mkdirSync(cache, { recursive: true });
    cpSync(home, join(cache, `elasticsearch-${ES_VERSION}`), { recursive: true });
    let node;
    try {
      node = await startElasticsearch({ runDir: join(cache, 'node'), cacheDir: cache });
      expect(node.runDir.startsWith(privateDir)).toBe(false);
      const auth = `Basic ${Buffer.from(`${node.superuser.username}:${node.superuser.password}`).toString('base64')}`;
      const health = await fetch(`${node.url}/_cluster/health`, { headers: { authorization: auth } });
      expect(health.status).toBe(200);
      // Real uid of the running node: nobody, not root.
      expect(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${node.pid}/status`, 'utf8'))?.[1]).toBe('65534');
    } finally {
      if (node) await stopElasticsearch(node.pid);
      rmSync(privateDir, { recursive: true, force: true });
      if (node) rmSync(node.runDir, { recursive: true, force: true });
    }
  });
});
