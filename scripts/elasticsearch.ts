/**
 * A real Elasticsearch node, or a cluster of them, for development and tests, from Elastic's
 * minimal distribution on Maven Central (org.elasticsearch.distribution.integ-test-zip).
 *
 *   npm run es:start                 # fetch (once), start one node in the background, print the connection
 *   npm run es:start -- --nodes 3    # a three-node cluster on loopback instead
 *   npm run es:stop [-- --nodes 3]
 *
 * The vitest global set-up imports `startElasticsearch` from this file, and the cluster test
 * `startElasticsearchCluster`, so tests and developers run the very same nodes.
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CACHE_DIR, asRoot, ensureDistribution, findJavaHome, nobodyCanEnter, reachableScratch, runnableHome, unavailableReason } from './internal/es-distribution.js';
import {
  alive,
  launchNode,
  nodeVersion,
  provisionUsers,
  stopElasticsearch,
  waitForHealth,
  writeNodeConfig,
  type AuditUsers,
  type NodeFiles,
} from './internal/es-node.js';

export { CACHE_DIR, ES_VERSION, ensureDistribution, findJavaHome, unavailableReason } from './internal/es-distribution.js';
export { stopElasticsearch, type Credentials } from './internal/es-node.js';

export interface RunningElasticsearch extends AuditUsers {
  url: string;
  version: string;
  pid: number;
  /** Where the node's config, data and logs are: `runDir`, or a folder nobody can reach when runDir is out of its reach. */
  runDir: string;
}

export interface StartOptions {
  /**
   * Folder for the node's config, data and logs; emptied first. As root the node runs as
   * `nobody`: when nobody cannot reach this folder (a checkout under /root or under a
   * `mktemp -d` folder), the files go to a fresh folder under the temporary folder instead,
   * and so does a copy of the distribution when the cache is out of its reach too.
   */
  runDir: string;
  cacheDir?: string;
  /** Heap for the JVM. Default: 512m. */
  heap?: string;
}

/** The folder the node's files go into: `runDir` (emptied), or a reachable stand-in. */
function placeFor(runDir: string, prefix: string): string {
  rmSync(runDir, { recursive: true, force: true });
  if (asRoot() && !nobodyCanEnter(dirname(runDir))) {
    const place = reachableScratch(prefix);
    // mkdtemp made it 0700: nobody must pass through it to its own node folders.
    chmodSync(place, 0o711);
    return place;
  }
  mkdirSync(runDir, { recursive: true });
  return runDir;
}

async function prepare(opts: StartOptions, prefix: string): Promise<{ place: string; home: string; javaHome: string }> {
  const javaHome = findJavaHome();
  if (!javaHome) throw new Error(unavailableReason());
  const cached = await ensureDistribution(opts.cacheDir);
  const place = placeFor(resolve(opts.runDir), prefix);
  return { place, home: runnableHome(cached, place), javaHome };
}

export async function startElasticsearch(opts: StartOptions): Promise<RunningElasticsearch> {
  const { place, home, javaHome } = await prepare(opts, 'otel-audit-es-');
  const node: NodeFiles = { name: 'node-1', dir: place, home, javaHome, heap: opts.heap ?? '512m' };
  // Port 0 and a ports file: the OS picks free ports, no race with other tests.
  writeNodeConfig(node, 'otel-audit-dev', ['http.port: 0', 'transport.port: 0', 'discovery.type: single-node']);
  const users = await provisionUsers(node);
  const { pid, httpPort } = await launchNode(node);
  const url = `http://127.0.0.1:${httpPort}`;
  try {
    await waitForHealth(url, users.superuser, 'yellow');
    const running: RunningElasticsearch = { url, version: await nodeVersion(url, users.superuser), pid, ...users, runDir: place };
    writeFileSync(join(place, 'node.json'), JSON.stringify(running, null, 2), { mode: 0o600 });
    return running;
  } catch (err) {
    await stopElasticsearch(pid);
    throw err;
  }
}

export interface ClusterNode {
  name: string;
  url: string;
  /** 0 while the node is down. */
  pid: number;
  /** The node's folder: `config/`, `data/` (its shards) and `logs/`. */
  dir: string;
  dataDir: string;
  transportPort: number;
}

export interface RunningCluster extends AuditUsers {
  /** Every node's HTTP address; any of them takes requests for the whole cluster. */
  urls: string[];
  nodes: ClusterNode[];
  version: string;
  runDir: string;
  /** Kept for restarts: the same distribution, JDK and heap. */
  home: string;
  javaHome: string;
  heap: string;
}

export interface ClusterOptions extends StartOptions {
  /** Master-eligible data nodes. Default: 3 (two of them keep a quorum when one dies). */
  nodes?: number;
}

/**
 * Several nodes on loopback, each with its own HTTP and transport port (chosen free up
 * front, and kept: a restarted node must be found where the others' seed list says),
 * discovering each other through `discovery.seed_hosts` and bootstrapped once with
 * `cluster.initial_master_nodes`. Same distribution and users as the single node.
 */
export async function startElasticsearchCluster(opts: ClusterOptions): Promise<RunningCluster> {
  const count = opts.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new Error(`a cluster has 1 to 9 nodes, got ${count}`);
  const { place, home, javaHome } = await prepare(opts, 'otel-audit-es-cluster-');
  const heap = opts.heap ?? '512m';
  const ports = await freePorts(count * 2);
  const files: NodeFiles[] = Array.from({ length: count }, (_, i) => ({ name: `node-${i + 1}`, dir: join(place, `node-${i + 1}`), home, javaHome, heap }));
  const transport = files.map((_, i) => ports[count + i]!);
  const clusterName = `otel-audit-cluster-${randomBytes(4).toString('hex')}`;
  files.forEach((node, i) =>
    writeNodeConfig(node, clusterName, [
      `http.port: ${ports[i]}`,
      `transport.port: ${transport[i]}`,
      `discovery.seed_hosts: ${JSON.stringify(transport.map((p) => `127.0.0.1:${p}`))}`,
      `cluster.initial_master_nodes: ${JSON.stringify(files.map((f) => f.name))}`,
    ]),
  );
  const users = await provisionUsers(files[0]!, files.slice(1));
  const launched = await Promise.allSettled(files.map((node) => launchNode(node)));
  const nodes: ClusterNode[] = files.map((node, i) => {
    const result = launched[i]!;
    return {
      name: node.name,
      url: `http://127.0.0.1:${ports[i]}`,
      pid: result.status === 'fulfilled' ? result.value.pid : 0,
      dir: node.dir,
      dataDir: join(node.dir, 'data'),
      transportPort: transport[i]!,
    };
  });
  const cluster: RunningCluster = { urls: nodes.map((n) => n.url), nodes, version: '', runDir: place, home, javaHome, heap, ...users };
  try {
    const failed = launched.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    await waitForHealth(nodes[0]!.url, users.superuser, 'green', count);
    cluster.version = await nodeVersion(nodes[0]!.url, users.superuser);
    writeFileSync(join(place, 'cluster.json'), JSON.stringify(cluster, null, 2), { mode: 0o600 });
    return cluster;
  } catch (err) {
    await stopElasticsearchCluster(cluster);
    throw err;
  }
}

/**
 * Starts a node of the cluster again, on its data and ports (after a SIGKILL, say), and
 * waits until the cluster counts it again. Updates `node.pid`.
 */
export async function restartClusterNode(cluster: RunningCluster, node: ClusterNode): Promise<void> {
  if (node.pid && alive(node.pid)) throw new Error(`${node.name} (pid ${node.pid}) is still running`);
  const { pid } = await launchNode({ name: node.name, dir: node.dir, home: cluster.home, javaHome: cluster.javaHome, heap: cluster.heap });
  node.pid = pid;
  await waitForHealth(node.url, cluster.superuser, 'yellow', cluster.nodes.length);
}

export async function stopElasticsearchCluster(cluster: RunningCluster): Promise<void> {
  await Promise.all(cluster.nodes.map((n) => (n.pid ? stopElasticsearch(n.pid) : undefined)));
}

/** Ports the OS has just found free on loopback (all held at once, so they differ). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((ok, fail) => {
      const s = createServer();
      s.once('error', fail);
      s.listen(0, '127.0.0.1', () => ok(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  return ports;
}

// ---- command line: npm run es:start / es:stop -------------------------------------
/** Pointers to where the dev node's and dev cluster's files are (maybe outside the checkout: see placeFor). */
const DEV_RUN_DIR = join(CACHE_DIR, 'dev-node');
const DEV_CLUSTER_DIR = join(CACHE_DIR, 'dev-cluster');

function printConnection(urls: string[], users: AuditUsers, version: string, where: string): void {
  const lines = [
    `ELASTICSEARCH_URL=${urls[0]}`,
    `ELASTICSEARCH_USERNAME=${users.admin.username}`,
    `ELASTICSEARCH_PASSWORD=${users.admin.password}`,
    `ELASTICSEARCH_VERSION=${version}`,
    ...(urls.length > 1 ? [`# every node: ${urls.join(' ')}`] : []),
    `# collector (create only): ${users.writer.username} / ${users.writer.password}`,
    `# export service (reads events, writes export jobs): ${users.reader.username} / ${users.reader.password}`,
    `# superuser: ${users.superuser.username} / ${users.superuser.password}`,
    `# ${where}; stop with: npm run es:stop${urls.length > 1 ? ` -- --nodes ${urls.length}` : ''}`,
  ];
  console.log(lines.join('\n'));
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({ args: argv, options: { nodes: { type: 'string' } }, allowPositionals: true, strict: true });
  const command = positionals[0];
  const count = Number(values.nodes ?? 1);
  if (!['start', 'stop'].includes(command ?? '') || !Number.isInteger(count) || count < 1) {
    throw new Error('usage: tsx scripts/elasticsearch.ts start|stop [--nodes <n>]');
  }
  const pointer = join(count > 1 ? DEV_CLUSTER_DIR : DEV_RUN_DIR, count > 1 ? 'cluster.json' : 'node.json');
  if (count > 1) {
    const existing = await readJson<RunningCluster>(pointer);
    const running = existing?.nodes.filter((n) => n.pid && alive(n.pid)) ?? [];
    if (command === 'stop') {
      if (!existing || running.length === 0) return console.log('the Elasticsearch cluster is not running');
      await stopElasticsearchCluster(existing);
      return console.log(`stopped the Elasticsearch cluster (pids ${running.map((n) => n.pid).join(', ')})`);
    }
    if (existing && running.length > 0) return printConnection(existing.urls, existing, existing.version, `pids ${running.map((n) => n.pid).join(', ')}`);
    const reason = unavailableReason();
    if (reason) throw new Error(`cannot start Elasticsearch: ${reason}`);
    const cluster = await startElasticsearchCluster({ runDir: DEV_CLUSTER_DIR, nodes: count });
    writePointer(pointer, cluster);
    return printConnection(cluster.urls, cluster, cluster.version, `pids ${cluster.nodes.map((n) => n.pid).join(', ')}, data in ${cluster.runDir}`);
  }
  const existing = await readJson<RunningElasticsearch>(pointer);
  if (command === 'stop') {
    if (!existing || !alive(existing.pid)) return console.log('Elasticsearch is not running');
    await stopElasticsearch(existing.pid);
    return console.log(`stopped Elasticsearch (pid ${existing.pid})`);
  }
  if (existing && alive(existing.pid)) return printConnection([existing.url], existing, existing.version, `pid ${existing.pid}, data in ${existing.runDir}`);
  const reason = unavailableReason();
  if (reason) throw new Error(`cannot start Elasticsearch: ${reason}`);
  const node = await startElasticsearch({ runDir: DEV_RUN_DIR });
  writePointer(pointer, node);
  printConnection([node.url], node, node.version, `pid ${node.pid}, data in ${node.runDir}`);
}

/** The connection file in the checkout, also when the node's own files had to go elsewhere. */
function writePointer(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(value, null, 2), { mode: 0o600 });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
