/**
 * One Elasticsearch process: its config folder, its users, its launch as the right user,
 * and the HTTP calls that tell when it is ready.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { chown } from 'node:fs/promises';
import { join } from 'node:path';
import { AUDIT_ROLES } from '../../store/src/security-roles.js';
import { UNPRIVILEGED_ID, asRoot, run } from './es-distribution.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface AuditUsers {
  /** The built-in superuser, for what only it may do. */
  superuser: Credentials;
  /** Sets up templates and owns the audit indices (`audit_admin`). */
  admin: Credentials;
  /** The collector's user: create documents in the audit indices, nothing else. */
  writer: Credentials;
  /** The export service's user: read the audit events, and keep its background export jobs. */
  reader: Credentials;
}

/** Where one node keeps its config (`config/`), data (`data/`) and logs (`logs/`). */
export interface NodeFiles {
  name: string;
  dir: string;
  home: string;
  javaHome: string;
  heap: string;
}

/** The settings every node of ours has; `extra` adds the discovery and port lines. */
export function writeNodeConfig(node: NodeFiles, clusterName: string, extra: string[]): void {
  const conf = join(node.dir, 'config');
  mkdirSync(node.dir, { recursive: true });
  cpSync(join(node.home, 'config'), conf, { recursive: true });
  writeFileSync(
    join(conf, 'elasticsearch.yml'),
    [
      `cluster.name: ${clusterName}`,
      `node.name: ${node.name}`,
      `path.data: ${join(node.dir, 'data')}`,
      `path.logs: ${join(node.dir, 'logs')}`,
      'network.host: 127.0.0.1',
      'node.portsfile: true',
      ...extra,
      'xpack.security.enabled: true',
      // Plain HTTP and transport are acceptable only because the nodes listen on loopback alone.
      'xpack.security.http.ssl.enabled: false',
      'xpack.security.transport.ssl.enabled: false',
      // Developer laptops and CI disks run full; a test node must not go read-only.
      'cluster.routing.allocation.disk.threshold_enabled: false',
      '',
    ].join('\n'),
  );
}

function nodeEnv(node: NodeFiles): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ES_PATH_CONF: join(node.dir, 'config'),
    ES_JAVA_HOME: node.javaHome,
    ES_JAVA_OPTS: `-Xms${node.heap} -Xmx${node.heap}`,
    HOME: node.dir,
  };
}

/**
 * The keystore (the `elastic` user's bootstrap password) and the file realm (`roles.yml`,
 * `elasticsearch-users`), made in the first node's config and copied to the others: the
 * file realm is per node, and every node must know the same users. Not the security API:
 * the minimal distribution lacks the analysis module the `.security` index needs, so the
 * native realm cannot store anything there.
 */
export async function provisionUsers(first: NodeFiles, others: readonly NodeFiles[] = []): Promise<AuditUsers> {
  const env = nodeEnv(first);
  const conf = join(first.dir, 'config');
  const superuser: Credentials = { username: 'elastic', password: secret() };
  const keystore = join(first.home, 'bin', 'elasticsearch-keystore');
  await run(keystore, ['create'], { env });
  const added = spawnSync(keystore, ['add', '-x', 'bootstrap.password'], { input: superuser.password, env, encoding: 'utf8' });
  if (added.status !== 0) throw new Error(`elasticsearch-keystore add bootstrap.password: ${added.stderr}`);
  // JSON is YAML: one serializer, no hand-written YAML.
  writeFileSync(
    join(conf, 'roles.yml'),
    Object.entries(AUDIT_ROLES)
      .map(([name, body]) => `${name}: ${JSON.stringify(body)}`)
      .join('\n') + '\n',
  );
  const users = {
    admin: { username: 'audit-admin', password: secret(), role: 'audit_admin' },
    writer: { username: 'audit-writer', password: secret(), role: 'audit_writer' },
    reader: { username: 'audit-reader', password: secret(), role: 'audit_reader' },
  };
  for (const u of Object.values(users)) {
    await run(join(first.home, 'bin', 'elasticsearch-users'), ['useradd', u.username, '-p', u.password, '-r', u.role], { env });
  }
  for (const other of others) {
    for (const file of ['elasticsearch.keystore', 'roles.yml', 'users', 'users_roles']) {
      copyFileSync(join(conf, file), join(other.dir, 'config', file));
    }
  }
  const strip = ({ username, password }: Credentials) => ({ username, password });
  return { superuser, admin: strip(users.admin), writer: strip(users.writer), reader: strip(users.reader) };
}

/**
 * Starts the node in the background and resolves with its pid once it has bound its HTTP
 * port (not yet joined a cluster: see waitForHealth). As root, as `nobody`: the node's
 * files are handed to it first, every time, since a restart may find files root made in
 * between. Not `elasticsearch -d`: its launcher waits for the server's ready signal, and
 * under load two of three launchers of a cluster never saw it (the nodes had started).
 */
export async function launchNode(node: NodeFiles, timeoutMs = 600_000): Promise<{ pid: number; httpPort: number }> {
  if (asRoot()) await chownTree(node.dir);
  const pidFile = join(node.dir, 'elasticsearch.pid');
  const portsFile = join(node.dir, 'logs', 'http.ports');
  // A restart finds the last run's files: only fresh ones tell that this run got there.
  for (const stale of [pidFile, portsFile]) rmSync(stale, { force: true });
  const bin = join(node.home, 'bin', 'elasticsearch');
  const [cmd, ...args] = asRoot()
    ? ['setpriv', `--reuid=${UNPRIVILEGED_ID}`, `--regid=${UNPRIVILEGED_ID}`, '--clear-groups', '--', bin, '-p', pidFile]
    : [bin, '-p', pidFile];
  const consoleLog = join(node.dir, 'console.log');
  const out = openSync(consoleLog, 'a');
  const child = spawn(cmd!, args, { env: nodeEnv(node), detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  let exit: number | string | undefined;
  child.once('exit', (code, signal) => (exit = code ?? signal ?? 'unknown'));
  child.unref();
  const deadline = Date.now() + timeoutMs;
  while (!(existsSync(pidFile) && existsSync(portsFile))) {
    if (exit !== undefined || Date.now() > deadline) {
      const tail = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-30).join('\n') : '');
      // The whole process group: the launcher and the server it started (detached made it the group's leader).
      if (exit === undefined && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      throw new Error(
        `Elasticsearch ${node.name} did not start (${exit === undefined ? `not listening after ${timeoutMs} ms` : `exit ${exit}`}):\n${tail(consoleLog)}\n${tail(join(node.dir, 'logs', `${clusterNameOf(node)}.log`))}`,
      );
    }
    await sleep(250);
  }
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const httpPort = Number(readFileSync(portsFile, 'utf8').trim().split('\n')[0]!.split(':').at(-1));
  return { pid, httpPort };
}

function clusterNameOf(node: NodeFiles): string {
  const yml = readFileSync(join(node.dir, 'config', 'elasticsearch.yml'), 'utf8');
  return /^cluster\.name: (.+)$/m.exec(yml)?.[1] ?? 'elasticsearch';
}

export async function stopElasticsearch(pid: number, timeoutMs = 30_000): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < deadline) await sleep(200);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/** Waits for `/_cluster/health` to reach `status` (and `nodes` nodes, when given). */
export async function waitForHealth(url: string, auth: Credentials, status: 'yellow' | 'green', nodes?: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const query = `wait_for_status=${status}${nodes ? `&wait_for_nodes=${nodes}` : ''}&timeout=5s`;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const health = (await es(url, auth, 'GET', `/_cluster/health?${query}`)) as { timed_out: boolean };
      if (!health.timed_out) return;
      last = JSON.stringify(health);
    } catch (err) {
      last = err;
    }
    await sleep(500);
  }
  throw new Error(`Elasticsearch at ${url} did not reach ${status}${nodes ? ` with ${nodes} nodes` : ''}: ${String(last)}`);
}

export async function nodeVersion(url: string, auth: Credentials): Promise<string> {
  // The minimal distribution has no `GET /` handler; the nodes API tells the version.
  const body = (await es(url, auth, 'GET', '/_nodes/_local?filter_path=nodes.*.version')) as {
    nodes: Record<string, { version: string }>;
  };
  return Object.values(body.nodes)[0]!.version;
}

export async function es(url: string, auth: Credentials, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(url + path, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}

async function chownTree(dir: string): Promise<void> {
  await chown(dir, UNPRIVILEGED_ID, UNPRIVILEGED_ID);
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    await chown(join(entry.parentPath, entry.name), UNPRIVILEGED_ID, UNPRIVILEGED_ID);
  }
}

function secret(): string {
  return randomBytes(18).toString('base64url');
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
