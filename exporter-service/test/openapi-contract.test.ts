import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCollector } from '@otel-audit/collector';
import { AUDIT_LOG_SERVICE_NAME } from '@otel-audit/contract';
import { DirectoryFileStorage, buildExportService, signToken } from '@otel-audit/exporter-service';
import { SqliteExportJobStore, SqliteStore } from '@otel-audit/store';
import { SCHEMATHESIS_BIN, SCHEMATHESIS_PACKAGES } from '../../scripts/schemathesis.js';
import { validEvent } from '../../test/support/otlp-json.js';
import { listen } from '../../test/support/services.js';

/** Failures the test accepts, each for a rule a JSON schema cannot state. */
const HOOKS = join(dirname(fileURLToPath(import.meta.url)), 'schemathesis-hooks.py');
const SECRET = 'openapi-contract-test-secret-of-32-chars';
const LINK_SECRET = 'openapi-contract-link-secret-of-32-chars';
const SENDER_TOKEN = 'openapi-contract-sender-token-0123456789';

/**
 * Bounds of the run: examples per operation and phase, and a wall-clock budget that stops
 * generation when spent (a loaded machine gets through fewer examples, never more time).
 * AUDIT_SCHEMATHESIS_EXAMPLES raises the examples for a deeper run by hand.
 */
const MAX_EXAMPLES = Number(process.env.AUDIT_SCHEMATHESIS_EXAMPLES ?? 25);
const MAX_TIME_S = Number(process.env.AUDIT_SCHEMATHESIS_SECONDS ?? 120);

// Installed by `.ci/run` (scripts/schemathesis.ts): in CI a missing one fails the test, elsewhere it is skipped.
const installed = existsSync(SCHEMATHESIS_BIN);
const skip = !installed && process.env.CI !== 'true';
if (skip) console.warn(`openapi-contract: skipped: ${SCHEMATHESIS_PACKAGES.join(' ')} is not installed (npx tsx scripts/schemathesis.ts installs it)`);

function runSchemathesis(dir: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Run in a scratch folder: schemathesis writes its example database and reports beside it.
    const child = spawn(SCHEMATHESIS_BIN, args, { cwd: dir, env: { ...process.env, NO_COLOR: '1', PYTHONUNBUFFERED: '1', SCHEMATHESIS_HOOKS: HOOKS } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe.skipIf(skip)('the OpenAPI document says what the API does (schemathesis against /docs/json, real SQLite, real collector)', () => {
  let dir: string;
  let store: SqliteStore;
  let auditStore: SqliteStore;
  let jobs: SqliteExportJobStore;
  let collector: ReturnType<typeof buildCollector>;
  let app: ReturnType<typeof buildExportService>;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-openapi-'));
    store = new SqliteStore({ path: join(dir, 'events.sqlite') });
    const now = Date.now();
    await store.insert(Array.from({ length: 12 }, (_, i) => validEvent({ time: new Date(now - i * 3_600_000).toISOString(), actor: { id: 'u-fuzz', name: 'Fuzz', type: 'user' } })));
    // Every search and download the fuzzer makes is a look at the log: recorded for real,
    // through a collector into its own SQLite file, as in production.
    auditStore = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    collector = buildCollector({ store: auditStore, senderTokens: [[SENDER_TOKEN, AUDIT_LOG_SERVICE_NAME]] });
    const collectorUrl = await listen(collector);
    jobs = new SqliteExportJobStore({ path: join(dir, 'jobs.sqlite') });
    app = buildExportService({
      store,
      auth: { secret: SECRET },
      audit: { endpoint: collectorUrl, senderToken: SENDER_TOKEN, spool: { dir: join(dir, 'audit-spool') }, scheduledDelayMillis: 20 },
      jobs: { store: jobs, files: new DirectoryFileStorage(join(dir, 'exports')), linkSecret: LINK_SECRET, pollIntervalMs: 100 },
      logger: false,
    });
    url = await listen(app);
  });
  afterAll(async () => {
    await app?.close();
    await jobs?.close();
    await collector?.close();
    await store?.close();
    await auditStore?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds no failure with every check on, a valid token, bounded examples and time', async () => {
    const token = await signToken(SECRET, { sub: 'u-fuzz', name: 'Fuzz', superAdmin: true });
    const { code, output } = await runSchemathesis(dir, [
      'run',
      `${url}/docs/json`,
      '--checks',
      'all',
      '--max-examples',
      String(MAX_EXAMPLES),
      ...(MAX_TIME_S > 0 ? ['--max-time', String(MAX_TIME_S)] : []),
      '--request-timeout',
      '20',
      '--workers',
      '1',
      '--seed',
      // CI replays one seed, so a landing is judged on the same cases every time; a developer's
      // run draws a new one (printed as "Seed:" in the report) and so keeps exploring.
      process.env.AUDIT_SCHEMATHESIS_SEED ?? (process.env.CI === 'true' ? '1' : String(Date.now() % 100_000)),
      '--generation-database',
      'none',
      '--no-color',
      '--header',
      `Authorization: Bearer ${token}`,
    ]);
    // The whole report on failure: the failing operation, check and a curl line to replay it.
    expect(code, output).toBe(0);
  }, ((MAX_TIME_S || 600) + 60) * 1000);
});
