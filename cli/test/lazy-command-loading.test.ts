import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

// LAZY_TEST_MAIN runs another checkout's built CLI (e.g. one from before issue 15, to see these fail).
const main = process.env.LAZY_TEST_MAIN ?? resolve(import.meta.dirname, '..', 'dist', 'main.js');
const root = resolve(main, '../../..');
const recorder = join(import.meta.dirname, 'fixtures', 'record-module-loads.mjs');
const packageUrl = (name: string) => pathToFileURL(join(root, name)).href + '/';

/**
 * Runs a service command of the built CLI with a preload that records every module URL it
 * resolves, until it logs that it listens; returns those URLs. Waited for, not timed.
 */
async function modulesLoadedBy(command: string, until: RegExp): Promise<string[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'otel-audit-lazy-'));
  try {
    return await recordLoads(command, dataDir, until);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function recordLoads(command: string, dataDir: string, until: RegExp): Promise<string[]> {
  const file = join(dataDir, 'modules.txt');
  const child = spawn(process.execPath, ['--import', pathToFileURL(recorder).href, main, command], {
    env: {
      ...process.env,
      RECORD_MODULE_LOADS: file,
      ELASTICSEARCH_URL: '',
      AUDIT_DATA_DIR: dataDir,
      AUDIT_EXPORT_PORT: '0',
      AUDIT_COLLECTOR_PORT: '0',
      AUDIT_COLLECTOR_GRPC_PORT: '0',
      AUDIT_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolveUp, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (until.test(output)) resolveUp();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`otel-audit ${command} exited with ${code}:\n${output}`)));
  });
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

/** Issue 15: a command loads only what it runs; each package loaded for nothing cost 20–84 MiB of RSS. */
// Concurrent: two processes that only start and stop, each in its own data folder.
describe.concurrent('the CLI loads a command\'s packages when that command runs (built CLI, real processes, SQLite)', () => {
  it('export-service loads neither the collector, gRPC, the AWS SDK nor the Elasticsearch client', async () => {
    const loaded = await modulesLoadedBy('export-service', /export service listening on/);
    // The recorder works: the export service and its store were seen loading.
    expect(loaded.some((url) => url.startsWith(packageUrl('exporter-service')))).toBe(true);
    expect(loaded.some((url) => url.includes('/node_modules/better-sqlite3/'))).toBe(true);
    // ...and so are the files a CommonJS package require()s, the way the Elasticsearch client is loaded.
    expect(loaded.some((url) => url.includes('/node_modules/better-sqlite3/lib/util.js'))).toBe(true);
    expect(loaded.filter((url) => url.startsWith(packageUrl('collector')))).toEqual([]);
    expect(loaded.filter((url) => url.includes('/node_modules/@grpc/'))).toEqual([]);
    expect(loaded.filter((url) => url.includes('/node_modules/exceljs/'))).toEqual([]);
    // Export files in a folder (the default): the AWS SDK is loaded on the first S3 call only.
    expect(loaded.filter((url) => url.includes('/node_modules/@aws-sdk/'))).toEqual([]);
    // A SQLite store: the Elasticsearch client is loaded when an Elasticsearch store is built.
    expect(loaded.filter((url) => url.includes('/node_modules/@elastic/'))).toEqual([]);
  });

  it('collector loads neither the export service, exceljs, the AWS SDK nor the Elasticsearch client', async () => {
    const loaded = await modulesLoadedBy('collector', /collector listening on/);
    expect(loaded.some((url) => url.startsWith(packageUrl('collector')))).toBe(true);
    expect(loaded.some((url) => url.includes('/node_modules/@grpc/grpc-js/'))).toBe(true);
    expect(loaded.filter((url) => url.startsWith(packageUrl('exporter-service')))).toEqual([]);
    expect(loaded.filter((url) => url.includes('/node_modules/exceljs/'))).toEqual([]);
    expect(loaded.filter((url) => url.includes('/node_modules/@aws-sdk/'))).toEqual([]);
    expect(loaded.filter((url) => url.includes('/node_modules/@elastic/'))).toEqual([]);
  });
});
