import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as OTLPGrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toLogRecord } from '@otel-audit/contract';
import { elasticsearch } from './support/elasticsearch.js';
import { startOtelAudit, type StartedOtelAudit } from './support/otel-audit-start.js';
import { validEvent } from './support/otlp-json.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'cli', 'bin', 'otel-audit.js');

/** The README's quick start, as a user runs it: `otel-audit start`, the example app, a token, curl. */
describe('otel-audit start (built CLI, embedded SQLite, real ports)', () => {
  let dataDir: string;
  let child: ChildProcess;
  let collectorUrl: string;
  let grpcUrl: string;
  let exportUrl: string;
  // The embedded default: no ELASTICSEARCH_URL, whatever the developer's shell has.
  const env = () => ({ ...process.env, ELASTICSEARCH_URL: '', AUDIT_DATA_DIR: dataDir, AUDIT_COLLECTOR_PORT: '0', AUDIT_COLLECTOR_GRPC_PORT: '0', AUDIT_EXPORT_PORT: '0', AUDIT_LOG_LEVEL: 'warn' });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'otel-audit-cli-'));
    const started = await startOtelAudit(env());
    ({ child, collectorUrl, exportUrl } = started);
    grpcUrl = started.grpcUrl!;
  });

  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves /healthz on both ports', async () => {
    expect(await (await fetch(`${collectorUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${exportUrl}/healthz`)).json()).toEqual({ status: 'ok' });
  });

  it('runs the README example: record events, mint a token, download the CSV', async () => {
    const example = await run(process.execPath, [join(root, 'examples', 'record-events.mjs')], {
      env: { ...env(), OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl },
    });
    const ids = example.stdout.trim().split('\n').slice(1);
    expect(ids).toHaveLength(5);
    const token = (
      await run(process.execPath, [cli, 'token', '--sub', 'alice', '--name', 'Alice', '--permission', 'users:view', '--permission', 'security-logs:view'], { env: env() })
    ).stdout.trim();
    const res = await fetch(`${exportUrl}/v1/exports/events.csv?scope=all`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const rows = parse(await res.text(), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r['Event ID'])).toEqual(ids);
    expect(rows.map((r) => r['Action'])).toEqual(['auth.login', 'auth.login', 'api_token.create', 'file.create', 'auth.logout']);
  });

  it('runs a background export to a signed link', async () => {
    const token = (await run(process.execPath, [cli, 'token', '--sub', 'root', '--super-admin'], { env: env() })).stdout.trim();
    const auth = { authorization: `Bearer ${token}` };
    const created = await fetch(`${exportUrl}/v1/exports`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'all', format: 'csv' }),
    });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    let job: { status: string; downloadUrl?: string; rowsWritten: number } = { status: 'queued', rowsWritten: 0 };
    for (let i = 0; i < 100 && job.status !== 'done'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      job = (await (await fetch(`${exportUrl}/v1/exports/${id}`, { headers: auth })).json()) as typeof job;
    }
    expect(job.status).toBe('done');
    const file = await fetch(`${exportUrl}${job.downloadUrl}`);
    expect(file.status).toBe(200);
    const rows = parse(await file.text(), { columns: true }) as Record<string, string>[];
    expect(rows.length).toBe(job.rowsWritten);
    expect(rows.map((r) => r['Action'])).toContain('api_token.create');
  });

  it('refuses a token without the permissions', async () => {
    const token = (await run(process.execPath, [cli, 'token', '--sub', 'bob'], { env: env() })).stdout.trim();
    const res = await fetch(`${exportUrl}/v1/exports/events.csv?scope=all`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(403);
  });

  it('takes events over OTLP/gRPC at the address it prints', async () => {
    const event = validEvent({ action: 'file.create', category: 'data' });
    const log = toLogRecord(event);
    const results: number[] = [];
    const exporter = new OTLPGrpcLogExporter({ url: grpcUrl });
    const provider = new LoggerProvider({
      processors: [
        new SimpleLogRecordProcessor({
          // The processor swallows the export result; this keeps it.
          exporter: {
            export: (logs, done) =>
              exporter.export(logs, (result) => {
                results.push(result.code);
                done(result);
              }),
            forceFlush: () => exporter.forceFlush(),
            shutdown: () => exporter.shutdown(),
          },
        }),
      ],
    });
    provider.getLogger('cli-test').emit({
      eventName: log.eventName,
      timestamp: log.timestamp,
      severityNumber: log.severityNumber as SeverityNumber,
      severityText: log.severityText,
      attributes: log.attributes,
    });
    await provider.forceFlush();
    await provider.shutdown();
    expect(results).toEqual([0]); // 0: ExportResultCode.SUCCESS
    const token = (await run(process.execPath, [cli, 'token', '--sub', 'root', '--super-admin'], { env: env() })).stdout.trim();
    const res = await fetch(`${exportUrl}/v1/exports/events.csv?scope=all`, { headers: { authorization: `Bearer ${token}` } });
    const rows = parse(await res.text(), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r['Event ID'])).toContain(event.id);
  });

  it('exits 0 on SIGTERM, having stored the record of a look made just before it', async () => {
    const token = (await run(process.execPath, [cli, 'token', '--sub', 'root', '--super-admin'], { env: env() })).stdout.trim();
    const since = Date.now();
    expect((await fetch(`${exportUrl}/v1/events?scope=all`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // The export service closes before the collector beside it, so the look's record is
    // delivered and stored, not left in the spool for the next start.
    const db = new Database(join(dataDir, 'audit.sqlite'), { readonly: true });
    try {
      const looks = db.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'audit_log.search' AND time_ms >= ?").get(since) as { n: number };
      expect(looks.n).toBe(1);
    } finally {
      db.close();
    }
  });

  it('fails fast on bad configuration, naming the variable', async () => {
    const err = await run(process.execPath, [cli, 'start'], { env: { ...env(), AUDIT_COLLECTOR_PORT: 'eighty' } }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toContain('AUDIT_COLLECTOR_PORT must be an integer');
  });
});

describe('otel-audit start with sender tokens on (built CLI, embedded SQLite)', () => {
  let dataDir: string;
  let started: StartedOtelAudit;
  const env = () => ({
    ...process.env,
    ELASTICSEARCH_URL: '',
    AUDIT_DATA_DIR: dataDir,
    AUDIT_COLLECTOR_PORT: '0',
    AUDIT_COLLECTOR_GRPC_PORT: '0',
    AUDIT_EXPORT_PORT: '0',
    AUDIT_LOG_LEVEL: 'warn',
    // Only an app's token: the export service's own is made by `start` itself.
    AUDIT_COLLECTOR_TOKENS: 'token-of-some-app-0123456789=some-app',
  });
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'otel-audit-cli-tokens-'));
    started = await startOtelAudit(env());
  });
  afterAll(() => {
    if (started?.child.exitCode === null) started.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('records the looks at the log under the export service’s own service.name, with no token configured for it', async () => {
    const token = (await run(process.execPath, [cli, 'token', '--sub', 'root', '--super-admin'], { env: env() })).stdout.trim();
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${started.exportUrl}/v1/events?scope=all`, { headers: auth })).status).toBe(200);
    let looks: { action: string; service?: { name?: string } }[] = [];
    for (let i = 0; i < 60 && looks.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const res = await fetch(`${started.exportUrl}/v1/events?scope=all&action=audit_log.*`, { headers: auth });
      looks = ((await res.json()) as { events: typeof looks }).events;
    }
    expect(looks.length).toBeGreaterThanOrEqual(1);
    expect(looks.every((e) => e.action === 'audit_log.search' && e.service?.name === 'otel-audit-export-service')).toBe(true);
    const metrics = await (await fetch(`${started.exportUrl}/metrics`)).text();
    expect(metrics).toMatch(/^otel_audit_export_audit_delivery_failures_total 0$/m);
    // The collector still refuses anyone without a token.
    const anonymous = await fetch(`${started.collectorUrl}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
  });

  it('refuses to start when AUDIT_EXPORT_SENDER_TOKEN is another service’s token, without printing the token', async () => {
    const err = await run(process.execPath, [cli, 'start'], { env: { ...env(), AUDIT_EXPORT_SENDER_TOKEN: 'token-of-some-app-0123456789' } }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toContain('AUDIT_EXPORT_SENDER_TOKEN is listed in the collector\'s sender tokens for service.name "some-app"');
    expect((err as { stderr: string }).stderr).not.toContain('token-of-some-app-0123456789');
  });
});

const es = elasticsearch();

describe.skipIf(es === null)('otel-audit setup (built CLI, the real node, as the admin user)', () => {
  const setupEnv = (extra: Record<string, string>) => ({
    ...process.env,
    ELASTICSEARCH_URL: es!.url,
    ELASTICSEARCH_USERNAME: es!.admin.username,
    ELASTICSEARCH_PASSWORD: es!.admin.password,
    ...extra,
  });

  it('installs the templates and says who deletes old days: no ILM on the minimal node, so the collector job', async () => {
    const { stdout } = await run(process.execPath, [cli, 'setup'], { env: setupEnv({ AUDIT_RETENTION_DAYS: '30' }) });
    expect(stdout).toContain(`ready: elasticsearch ${new URL(es!.url).origin}`);
    expect(stdout).toContain("retention: 30 days; this cluster has no ILM, so the collector's retention job deletes");
  });

  it('refuses a retention period that is not a whole number of days, naming the variable', async () => {
    const err = await run(process.execPath, [cli, 'setup'], { env: setupEnv({ AUDIT_RETENTION_DAYS: '30.5' }) }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toContain('AUDIT_RETENTION_DAYS must be a whole number of days');
  });
});
