/**
 * A real Elasticsearch node for development and tests, from Elastic's minimal
 * distribution on Maven Central (org.elasticsearch.distribution.integ-test-zip).
 *
 *   npm run es:start   # fetch (once), start in the background, print the connection
 *   npm run es:stop
 *
 * The vitest global set-up imports `startElasticsearch` from this file, so tests and
 * developers run the very same node.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { chown, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AUDIT_ROLES } from '../store/src/security-roles.js';

/**
 * Pinned: the newest integ-test-zip on Maven Central (9.x is not published there), and
 * it runs on JDK 17, which every machine of ours has. The @elastic/elasticsearch client
 * is pinned to the same major (8).
 */
export const ES_VERSION = '8.19.21';
const ARTIFACT = `org.elasticsearch.distribution.integ-test-zip:elasticsearch:${ES_VERSION}:zip`;
/** JDK majors this Elasticsearch version supports, in order of preference. */
const SUPPORTED_JDKS = [21, 17, 24];
/** `nobody`: Elasticsearch refuses to run as root, and CI runs as root. */
const UNPRIVILEGED_ID = 65534;

const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CACHE_DIR = process.env.AUDIT_ES_CACHE_DIR ?? join(repoRoot, '.cache', 'elasticsearch');

export interface Credentials {
  username: string;
  password: string;
}

export interface RunningElasticsearch {
  url: string;
  version: string;
  pid: number;
  /** The built-in superuser, for what only it may do. */
  superuser: Credentials;
  /** Sets up templates and owns the audit indices (`audit_admin`). */
  admin: Credentials;
  /** The collector's user: create documents in the audit indices, nothing else. */
  writer: Credentials;
  /** The export service's user: read the audit events, and keep its background export jobs. */
  reader: Credentials;
  runDir: string;
}

/** Why Elasticsearch cannot run here, or undefined when it can. */
export function unavailableReason(cacheDir = CACHE_DIR): string | undefined {
  if (!findJavaHome()) return `no JDK ${SUPPORTED_JDKS.join('/')} found (set ES_JAVA_HOME, or install one under /usr/lib/jvm)`;
  // Maven only fetches; once the distribution is unpacked it is not needed.
  const unpacked = existsSync(join(cacheDir, `elasticsearch-${ES_VERSION}`, 'bin', 'elasticsearch'));
  if (!unpacked && spawnSync('mvn', ['-v'], { stdio: 'ignore' }).status !== 0) return 'Maven (mvn) is not on the PATH';
  return undefined;
}

export function findJavaHome(): string | undefined {
  const explicit = process.env.ES_JAVA_HOME;
  if (explicit) return existsSync(join(explicit, 'bin', 'java')) ? explicit : undefined;
  const candidates: { home: string; major: number }[] = [];
  const roots = process.env.JAVA_HOME ? [process.env.JAVA_HOME] : [];
  if (existsSync('/usr/lib/jvm')) roots.push(...readdirSync('/usr/lib/jvm').map((d) => join('/usr/lib/jvm', d)));
  for (const home of roots) {
    const release = join(home, 'release');
    if (!existsSync(join(home, 'bin', 'java')) || !existsSync(release)) continue;
    const m = /JAVA_VERSION="(\d+)/.exec(readFileSync(release, 'utf8'));
    if (m) candidates.push({ home, major: Number(m[1]) });
  }
  for (const major of SUPPORTED_JDKS) {
    const hit = candidates.find((c) => c.major === major);
    if (hit) return hit.home;
  }
  return undefined;
}

/** Fetches the distribution with Maven (its local repository is the cache) and unpacks it once. */
export async function ensureDistribution(cacheDir = CACHE_DIR): Promise<string> {
  const home = join(cacheDir, `elasticsearch-${ES_VERSION}`);
  if (existsSync(join(home, 'bin', 'elasticsearch'))) return home;
  const download = join(cacheDir, 'download');
  mkdirSync(download, { recursive: true });
  await run('mvn', ['-B', '-q', 'dependency:copy', `-Dartifact=${ARTIFACT}`, `-DoutputDirectory=${download}`], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const zip = join(download, `elasticsearch-${ES_VERSION}.zip`);
  const staging = join(cacheDir, `staging-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  await run('unzip', ['-q', zip, '-d', staging]).catch(async () => {
    // No unzip: the JDK's jar tool unpacks zips too, but drops the executable bits.
    const java = findJavaHome();
    await run(join(java ?? '', 'bin', 'jar'), ['xf', zip], { cwd: staging });
    for (const f of readdirSync(join(staging, `elasticsearch-${ES_VERSION}`, 'bin'))) {
      chmodSync(join(staging, `elasticsearch-${ES_VERSION}`, 'bin', f), 0o755);
    }
  });
  // A rename makes the unpacked tree appear whole or not at all, even if two runs race.
  try {
    renameSync(join(staging, `elasticsearch-${ES_VERSION}`), home);
  } catch (err) {
    if (!existsSync(join(home, 'bin', 'elasticsearch'))) throw err;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return home;
}

export interface StartOptions {
  /**
   * Folder for this node's config, data and logs; emptied first. As root the node runs as
   * `nobody`, so every folder above it must be enterable by others (a fresh `mkdtemp`
   * folder is; a folder inside one is not).
   */
  runDir: string;
  cacheDir?: string;
  /** Heap for the JVM. Default: 512m. */
  heap?: string;
}

export async function startElasticsearch(opts: StartOptions): Promise<RunningElasticsearch> {
  const javaHome = findJavaHome();
  if (!javaHome) throw new Error(unavailableReason());
  const home = await ensureDistribution(opts.cacheDir);
  const runDir = resolve(opts.runDir);
  rmSync(runDir, { recursive: true, force: true });
  const conf = join(runDir, 'config');
  mkdirSync(runDir, { recursive: true });
  cpSync(join(home, 'config'), conf, { recursive: true });
  writeFileSync(
    join(conf, 'elasticsearch.yml'),
    [
      'cluster.name: otel-audit-dev',
      'node.name: node-1',
      `path.data: ${join(runDir, 'data')}`,
      `path.logs: ${join(runDir, 'logs')}`,
      'network.host: 127.0.0.1',
      // Port 0 and a ports file: the OS picks free ports, no race with other tests.
      'http.port: 0',
      'transport.port: 0',
      'node.portsfile: true',
      'discovery.type: single-node',
      'xpack.security.enabled: true',
      // Plain HTTP is acceptable only because the node listens on loopback alone.
      'xpack.security.http.ssl.enabled: false',
      'xpack.security.transport.ssl.enabled: false',
      // Developer laptops and CI disks run full; a test node must not go read-only.
      'cluster.routing.allocation.disk.threshold_enabled: false',
      '',
    ].join('\n'),
  );
  const env = {
    ...process.env,
    ES_PATH_CONF: conf,
    ES_JAVA_HOME: javaHome,
    ES_JAVA_OPTS: `-Xms${opts.heap ?? '512m'} -Xmx${opts.heap ?? '512m'}`,
    HOME: runDir,
  };
  const superuser: Credentials = { username: 'elastic', password: secret() };
  await run(join(home, 'bin', 'elasticsearch-keystore'), ['create'], { env });
  await runWithInput(join(home, 'bin', 'elasticsearch-keystore'), ['add', '-x', 'bootstrap.password'], superuser.password, env);
  const users = await provisionFileRealm(home, conf, env);

  const asRoot = process.getuid?.() === 0;
  if (asRoot) await chownTree(runDir);
  const pidFile = join(runDir, 'elasticsearch.pid');
  const command = asRoot
    ? ['setpriv', `--reuid=${UNPRIVILEGED_ID}`, `--regid=${UNPRIVILEGED_ID}`, '--clear-groups', '--']
    : [];
  // -d: daemonize; the command returns once the node has started (or failed to).
  const started = spawnSync(command[0] ?? join(home, 'bin', 'elasticsearch'), [
    ...command.slice(1),
    ...(asRoot ? [join(home, 'bin', 'elasticsearch')] : []),
    '-d',
    '-p',
    pidFile,
  ], { env, encoding: 'utf8', timeout: 180_000 });
  if (started.status !== 0) {
    const log = join(runDir, 'logs', 'otel-audit-dev.log');
    const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-30).join('\n') : '';
    throw new Error(`Elasticsearch did not start (exit ${started.status}):\n${started.stdout}\n${started.stderr}\n${tail}`);
  }
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const port = readFileSync(join(runDir, 'logs', 'http.ports'), 'utf8').trim().split('\n')[0]!.split(':').at(-1);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForGreen(url, superuser);
    const version = await nodeVersion(url, superuser);
    const node: RunningElasticsearch = { url, version, pid, superuser, ...users, runDir };
    writeFileSync(join(runDir, 'node.json'), JSON.stringify(node, null, 2), { mode: 0o600 });
    return node;
  } catch (err) {
    await stopElasticsearch(pid);
    throw err;
  }
}

/**
 * Roles and users go into the file realm (`roles.yml`, `elasticsearch-users`), not the
 * security API: the minimal distribution lacks the analysis module the `.security`
 * index needs, so the native realm cannot store anything there. The reserved `elastic`
 * user still works from the keystore's bootstrap password.
 */
async function provisionFileRealm(
  home: string,
  conf: string,
  env: NodeJS.ProcessEnv,
): Promise<Pick<RunningElasticsearch, 'admin' | 'writer' | 'reader'>> {
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
    await run(join(home, 'bin', 'elasticsearch-users'), ['useradd', u.username, '-p', u.password, '-r', u.role], { env });
  }
  const strip = ({ username, password }: Credentials) => ({ username, password });
  return { admin: strip(users.admin), writer: strip(users.writer), reader: strip(users.reader) };
}

export async function stopElasticsearch(pid: number, timeoutMs = 30_000): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < deadline) await sleep(200);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

async function waitForGreen(url: string, auth: Credentials, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await es(url, auth, 'GET', '/_cluster/health?wait_for_status=yellow&timeout=5s');
      return;
    } catch (err) {
      last = err;
      await sleep(500);
    }
  }
  throw new Error(`Elasticsearch at ${url} did not become ready: ${String(last)}`);
}

async function nodeVersion(url: string, auth: Credentials): Promise<string> {
  // The minimal distribution has no `GET /` handler; the nodes API tells the version.
  const body = (await es(url, auth, 'GET', '/_nodes/_local?filter_path=nodes.*.version')) as {
    nodes: Record<string, { version: string }>;
  };
  return Object.values(body.nodes)[0]!.version;
}

async function es(url: string, auth: Credentials, method: string, path: string, body?: unknown): Promise<unknown> {
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

function runWithInput(cmd: string, args: string[], input: string, env: NodeJS.ProcessEnv): Promise<void> {
  const result = spawnSync(cmd, args, { input, env, encoding: 'utf8' });
  if (result.status !== 0) return Promise.reject(new Error(`${cmd} ${args.join(' ')}: ${result.stderr}`));
  return Promise.resolve();
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- command line: npm run es:start / es:stop -------------------------------------
const DEV_RUN_DIR = join(CACHE_DIR, 'dev-node');

function printConnection(node: RunningElasticsearch): void {
  const lines = [
    `ELASTICSEARCH_URL=${node.url}`,
    `ELASTICSEARCH_USERNAME=${node.admin.username}`,
    `ELASTICSEARCH_PASSWORD=${node.admin.password}`,
    `ELASTICSEARCH_VERSION=${node.version}`,
    `# collector (create only): ${node.writer.username} / ${node.writer.password}`,
    `# export service (reads events, writes export jobs): ${node.reader.username} / ${node.reader.password}`,
    `# superuser: ${node.superuser.username} / ${node.superuser.password}`,
    `# pid ${node.pid}, data in ${node.runDir}; stop with: npm run es:stop`,
  ];
  console.log(lines.join('\n'));
}

async function readDevNode(): Promise<RunningElasticsearch | undefined> {
  try {
    return JSON.parse(await readFile(join(DEV_RUN_DIR, 'node.json'), 'utf8')) as RunningElasticsearch;
  } catch {
    return undefined;
  }
}

async function main(command: string | undefined): Promise<void> {
  if (command === 'start') {
    const existing = await readDevNode();
    if (existing && alive(existing.pid)) return printConnection(existing);
    const reason = unavailableReason();
    if (reason) throw new Error(`cannot start Elasticsearch: ${reason}`);
    printConnection(await startElasticsearch({ runDir: DEV_RUN_DIR }));
  } else if (command === 'stop') {
    const existing = await readDevNode();
    if (!existing || !alive(existing.pid)) return console.log('Elasticsearch is not running');
    await stopElasticsearch(existing.pid);
    console.log(`stopped Elasticsearch (pid ${existing.pid})`);
  } else {
    throw new Error('usage: tsx scripts/elasticsearch.ts start|stop');
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv[2]).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
