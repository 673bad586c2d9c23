import { execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteExportJobStore, SqliteStore } from '@otel-audit/store';
import { startOtelAudit } from './support/otel-audit-start.js';
import { eventually } from './support/services.js';
import { validEvent } from './support/otlp-json.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'cli', 'bin', 'otel-audit.js');

const mode = (path: string) => statSync(path).mode & 0o777;
/** Every file and folder under `dir` with its mode, e.g. `{ 'audit.sqlite': 0o600 }`. */
function modesUnder(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) out[entry] = mode(join(dir, entry));
  return out;
}

describe('the data directory of otel-audit start is private (built CLI, embedded SQLite, real files)', () => {
  let base: string;
  let dataDir: string;
  let child: ChildProcess;
  let collectorUrl: string;
  let exportUrl: string;
  const env = () => ({ ...process.env, ELASTICSEARCH_URL: '', AUDIT_DATA_DIR: dataDir, AUDIT_COLLECTOR_PORT: '0', AUDIT_COLLECTOR_GRPC_PORT: '0', AUDIT_EXPORT_PORT: '0', AUDIT_LOG_LEVEL: 'warn' });

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'otel-audit-modes-'));
    // A folder the process has to create, with the usual umask that leaves new files world-readable.
    dataDir = join(base, 'nested', 'data');
    ({ child, collectorUrl, exportUrl } = await startOtelAudit(env(), { umask: '022' }));
  });
  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(base, { recursive: true, force: true });
  });

  it('creates the data folder 0700 and the database, its WAL and SHM, the secrets, the spool and export files 0600', async () => {
    await run(process.execPath, [join(root, 'examples', 'record-events.mjs')], { env: { ...env(), OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl } });
    const token = (await run(process.execPath, [cli, 'token', '--sub', 'root', '--super-admin'], { env: env() })).stdout.trim();
    const auth = { authorization: `Bearer ${token}` };
    const started = await fetch(`${exportUrl}/v1/exports`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ scope: 'all', format: 'csv' }) });
    expect(started.status).toBe(202);
    const { statusUrl } = (await started.json()) as { statusUrl: string };
    const status = await eventually(async () => (await (await fetch(exportUrl + statusUrl, { headers: auth })).json()) as { status: string }, (s) => s.status !== 'queued' && s.status !== 'running');
    expect(status.status).toBe('done');

    const modes = modesUnder(dataDir);
    expect(mode(dataDir)).toBe(0o700);
    // While the service runs, SQLite's WAL and shared-memory files exist beside the database.
    for (const name of ['audit.sqlite', 'audit.sqlite-wal', 'audit.sqlite-shm', 'dev-jwt-secret', 'dev-link-secret']) expect([name, modes[name]]).toEqual([name, 0o600]);
    expect(Object.keys(modes).some((name) => /^collector-spool\/segment-\d+\.ndjson$/.test(name))).toBe(true);
    expect(Object.keys(modes).some((name) => /^exports\/[0-9a-f-]+\.csv$/.test(name))).toBe(true);
    for (const [name, m] of Object.entries(modes)) {
      const isDir = statSync(join(dataDir, name)).isDirectory();
      if (isDir) expect([name, m]).toEqual([name, 0o700]);
      // Nothing the service writes is readable by group or others (its bookkeeping files included).
      else if (/(sqlite|secret|ndjson|\.csv)/.test(name)) expect([name, m]).toEqual([name, 0o600]);
    }
  });
});

describe('SQLite files of the stores (real files)', () => {
  let dir: string;
  let umask: number;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-sqlite-modes-'));
    // The common default, under which a file created without a mode is world-readable.
    umask = process.umask(0o022);
  });
  afterAll(() => {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  });

  it('tightens a database, WAL and SHM that an older version left world-readable', async () => {
    const path = join(dir, 'old', 'audit.sqlite');
    const first = new SqliteStore({ path });
    await first.insert([validEvent()]);
    // As the files of an older version were: umask 022.
    for (const f of [path, `${path}-wal`, `${path}-shm`]) chmodSync(f, 0o644);
    chmodSync(join(dir, 'old'), 0o755);
    const second = new SqliteStore({ path });
    for (const f of [path, `${path}-wal`, `${path}-shm`]) expect([f, mode(f)]).toEqual([f, 0o600]);
    // A folder that already existed is the operator's: left as it was.
    expect(mode(join(dir, 'old'))).toBe(0o755);
    await second.close();
    await first.close();
  });

  it('creates the job store file 0600 in a new 0700 folder, and WAL and SHM follow the database mode', async () => {
    const path = join(dir, 'jobs', 'deeper', 'jobs.sqlite');
    const jobs = new SqliteExportJobStore({ path });
    await jobs.init();
    await jobs.list({});
    expect(mode(join(dir, 'jobs'))).toBe(0o700);
    expect(mode(join(dir, 'jobs', 'deeper'))).toBe(0o700);
    for (const f of [path, `${path}-wal`, `${path}-shm`]) expect([f, mode(f)]).toEqual([f, 0o600]);
    await jobs.close();
  });

  it('leaves a shared folder alone and still makes the database private', async () => {
    const shared = join(dir, 'shared');
    mkdirSync(shared, { mode: 0o755 });
    chmodSync(shared, 0o755);
    writeFileSync(join(shared, 'other-file'), 'not ours to change', { mode: 0o644 });
    const store = new SqliteStore({ path: join(shared, 'audit.sqlite') });
    expect(mode(shared)).toBe(0o755);
    expect(mode(join(shared, 'audit.sqlite'))).toBe(0o600);
    expect(mode(join(shared, 'other-file'))).toBe(0o644);
    await store.close();
  });
});
