import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCollector } from '@otel-audit/collector';
import { AUDIT_LOG_SERVICE_NAME, type AuditEvent } from '@otel-audit/contract';
import { DirectoryFileStorage, buildExportService, signToken } from '@otel-audit/exporter-service';
import { Ed25519Signer, SqliteExportJobStore, SqliteStore, generateSigningKey } from '@otel-audit/store';
import { validEvent } from '../../test/support/otlp-json.js';
import { eventually, listen } from '../../test/support/services.js';

const SECRET = 'look-records-test-secret-of-32-chars!!';
const LINK_SECRET = 'look-records-link-secret-of-32-chars!!!';
const SENDER_TOKEN = 'export-service-sender-token-0123456789';
const DAY = '2019-06-07';
const ROWS = 30_000;
const RANGE = `from=${DAY}T00:00:00Z&to=${DAY}T23:59:59Z`;

/** Lines the service logged, parsed (fastify's pino logger, written to a stream of ours). */
function capturedLog() {
  const lines: { level: number; msg: string; err?: { message?: string } }[] = [];
  return { lines, logger: { level: 'warn', stream: { write: (line: string) => void lines.push(JSON.parse(line) as never) } } };
}

/** Counter values from a Prometheus text page. */
function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').at(-1)) : Number.NaN;
}

/**
 * Reads a download until at least `bytes` came in, then destroys the socket: a client
 * that walks away part-way. Resolves with what it read.
 */
function readPartThenReset(url: string, token: string, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
      let got = 0;
      res.on('data', (chunk: Buffer) => {
        got += chunk.length;
        if (got >= bytes) {
          req.destroy();
          resolve(got);
        }
      });
      res.on('end', () => reject(new Error(`the whole response (${got} bytes) arrived before the reset`)));
    });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.end();
  });
}

describe('every look at the log is recorded (real collector with sender tokens, SQLite, loopback ports)', () => {
  let dir: string;
  let store: SqliteStore;
  let auditStore: SqliteStore;
  let collector: ReturnType<typeof buildCollector>;
  let collectorUrl: string;
  let jobs: SqliteExportJobStore;
  let app: ReturnType<typeof buildExportService>;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-looks-'));
    store = new SqliteStore({ path: join(dir, 'events.sqlite'), pageSize: 200 });
    await store.insert(
      Array.from({ length: ROWS }, (_, i) =>
        validEvent({ time: new Date(Date.parse(`${DAY}T00:00:00Z`) + i * 1000).toISOString(), resource: { type: 'file', name: `file-${i}.pdf` } }),
      ),
    );
    auditStore = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    // Production's setting: sender tokens on, the export service one sender among others.
    collector = buildCollector({ store: auditStore, senderTokens: [[SENDER_TOKEN, AUDIT_LOG_SERVICE_NAME], ['another-app-token-0123456789', 'billing']] });
    collectorUrl = await listen(collector);
    jobs = new SqliteExportJobStore({ path: join(dir, 'jobs.sqlite') });
    app = buildExportService({
      store,
      auth: { secret: SECRET },
      audit: { endpoint: collectorUrl, senderToken: SENDER_TOKEN, spool: { dir: join(dir, 'audit-spool') }, scheduledDelayMillis: 20 },
      jobs: { store: jobs, files: new DirectoryFileStorage(join(dir, 'exports')), linkSecret: LINK_SECRET, pollIntervalMs: 50, signer: new Ed25519Signer(generateSigningKey().privateKeyPem) },
      rowCap: 100_000,
    });
    url = await listen(app);
  });
  afterAll(async () => {
    await app?.close();
    await jobs?.close();
    await collector?.close();
    await store?.close();
    await auditStore?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The export service's records of one user's looks, as the collector stored them. */
  const looksOf = async (userId: string) => {
    const out: AuditEvent[] = [];
    for await (const e of auditStore.query({ from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000), filter: { actorIds: [userId] } })) out.push(e);
    return out;
  };
  const endOf = (userId: string) => eventually(() => looksOf(userId), (evs) => evs.some((e) => e.action === 'audit_log.export.end'));

  it('stores a search and a completed download under the export service’s own service.name, start and end linked, exact rows', async () => {
    const token = await signToken(SECRET, { sub: 'u-complete', name: 'Complete', superAdmin: true });
    const headers = { authorization: `Bearer ${token}`, 'user-agent': 'looks-test/1.0' };
    const search = await fetch(`${url}/v1/events?scope=all&${RANGE}&limit=7`, { headers });
    expect(search.status).toBe(200);
    const csv = await fetch(`${url}/v1/exports/events.csv?scope=all&from=${DAY}T00:00:00Z&to=${DAY}T01:00:00Z&action=auth.*`, { headers });
    expect(csv.status).toBe(200);
    expect((await csv.text()).trim().split('\n')).toHaveLength(3601);

    const looks = await eventually(() => looksOf('u-complete'), (evs) => evs.length >= 3);
    expect(looks.every((e) => e.service?.name === AUDIT_LOG_SERVICE_NAME)).toBe(true);
    expect(looks.find((e) => e.action === 'audit_log.search')).toMatchObject({ metadata: { scope: 'all', rows: 7 }, actor: { id: 'u-complete', name: 'Complete' } });
    const start = looks.find((e) => e.action === 'audit_log.export')!;
    const end = looks.find((e) => e.action === 'audit_log.export.end')!;
    expect(start).toMatchObject({
      message: 'Audit log export started',
      client: { ip: '127.0.0.1', userAgent: 'looks-test/1.0' },
      metadata: { delivery: 'download', format: 'csv', scope: 'all', rowsMatching: 3600, from: `${DAY}T00:00:00.000Z`, to: `${DAY}T01:00:00.000Z` },
    });
    expect(JSON.parse(String(start.metadata!.filters))).toMatchObject({ action: 'auth.*' });
    expect(end).toMatchObject({ outcome: 'success', correlationId: start.correlationId, metadata: { status: 'completed', rows: 3600, startEventId: start.id, format: 'csv' } });
    expect(end.metadata!.bytes).toBeGreaterThan(3600 * 50);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(metrics, 'otel_audit_export_looks_recorded_total{action="audit_log.export"}')).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, 'otel_audit_export_looks_refused_total')).toBe(0);
  });

  for (const format of ['csv', 'xlsx'] as const) {
    for (const sort of ['asc', 'desc'] as const) {
      it(`records a ${format.toUpperCase()} download the client resets part-way (${sort}) as aborted, with fewer rows than it matched`, async () => {
        const user = `u-abort-${format}-${sort}`;
        const token = await signToken(SECRET, { sub: user, superAdmin: true });
        await readPartThenReset(`${url}/v1/exports/events.${format}?scope=all&${RANGE}&sort=${sort}`, token, 16 * 1024);
        const looks = await endOf(user);
        const start = looks.find((e) => e.action === 'audit_log.export')!;
        const end = looks.find((e) => e.action === 'audit_log.export.end')!;
        expect(start.metadata).toMatchObject({ delivery: 'download', format, rowsMatching: ROWS });
        expect(JSON.parse(String(start.metadata!.filters))).toMatchObject({ sort });
        expect(end).toMatchObject({ outcome: 'failure', correlationId: start.correlationId, metadata: { status: 'aborted', startEventId: start.id } });
        expect(end.metadata!.rows).toBeLessThan(ROWS);
        expect(end.metadata!.bytes).toBeGreaterThanOrEqual(16 * 1024);
      });
    }
  }

  it('records a background job and its signed-link download, start and end, in the owner’s name with the downloader’s address', async () => {
    const token = await signToken(SECRET, { sub: 'u-owner', name: 'Owner', superAdmin: true });
    const created = await fetch(`${url}/v1/exports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ format: 'csv', scope: 'all', from: `${DAY}T00:00:00Z`, to: `${DAY}T00:10:00Z` }),
    });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    const status = await eventually(
      async () => (await (await fetch(`${url}/v1/exports/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { status: string; downloadUrl?: string; manifestUrl?: string },
      (s) => s.status === 'done' || s.status === 'failed',
    );
    expect(status.status).toBe('done');
    // The link alone, no token, from another client.
    const file = await fetch(`${url}${status.downloadUrl!}`, { headers: { 'user-agent': 'link-follower/2.0' } });
    expect(file.status).toBe(200);
    expect((await file.text()).trim().split('\n')).toHaveLength(601);
    const manifest = await fetch(`${url}${status.manifestUrl!}`, { headers: { authorization: `Bearer ${token}` } });
    expect(manifest.status).toBe(200);
    await manifest.json();

    const looks = await eventually(() => looksOf('u-owner'), (evs) => evs.filter((e) => e.action === 'audit_log.export.end').length >= 3);
    const of = (delivery: string, action: string) => looks.find((e) => e.action === action && e.metadata?.delivery === delivery)!;
    expect(of('job', 'audit_log.export')).toMatchObject({ correlationId: id, actor: { id: 'u-owner', name: 'Owner' }, metadata: { jobId: id, format: 'csv' } });
    expect(of('job', 'audit_log.export.end')).toMatchObject({ correlationId: id, metadata: { status: 'completed', rows: 600, startEventId: of('job', 'audit_log.export').id } });
    expect(of('link', 'audit_log.export')).toMatchObject({
      correlationId: id,
      actor: { id: 'u-owner', name: 'Owner' },
      client: { ip: '127.0.0.1', userAgent: 'link-follower/2.0' },
      metadata: { jobId: id, scope: 'all', from: `${DAY}T00:00:00.000Z`, rowsMatching: 600 },
    });
    expect(of('link', 'audit_log.export.end')).toMatchObject({ metadata: { status: 'completed', rows: 600, startEventId: of('link', 'audit_log.export').id } });
    expect(of('manifest', 'audit_log.export.end')).toMatchObject({ correlationId: id, metadata: { status: 'completed', jobId: id, startEventId: of('manifest', 'audit_log.export').id } });
    expect(looks.every((e) => e.service?.name === AUDIT_LOG_SERVICE_NAME)).toBe(true);
  });
});

describe('a look whose record cannot be delivered or written', () => {
  let dir: string;
  let store: SqliteStore;
  let auditStore: SqliteStore;
  let token: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-looks-fail-'));
    store = new SqliteStore({ path: join(dir, 'events.sqlite') });
    await store.insert(Array.from({ length: 50 }, (_, i) => validEvent({ time: new Date(Date.parse(`${DAY}T00:00:00Z`) + i * 1000).toISOString() })));
    auditStore = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    token = await signToken(SECRET, { sub: 'u-looker', superAdmin: true });
  });
  afterAll(async () => {
    await store.close();
    await auditStore.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('with a refused sender token: serves the look, logs the failure at error level once, counts it, and delivers from the spool once the token is right', async () => {
    const collector = buildCollector({ store: auditStore, senderTokens: [[SENDER_TOKEN, AUDIT_LOG_SERVICE_NAME]] });
    const collectorUrl = await listen(collector);
    const spool = { dir: join(dir, 'spool') };
    const log = capturedLog();
    const wrong = buildExportService({
      store,
      auth: { secret: SECRET },
      audit: { endpoint: collectorUrl, senderToken: 'a-wrong-token-of-sufficient-length', spool, scheduledDelayMillis: 10, initialBackoffMillis: 20, maxBackoffMillis: 50, closeTimeoutMillis: 200 },
      logger: log.logger,
    });
    const wrongUrl = await listen(wrong);
    try {
      const res = await fetch(`${wrongUrl}/v1/exports/events.csv?scope=all&${RANGE}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect((await res.text()).trim().split('\n')).toHaveLength(51);
      const metrics = await eventually(
        async () => (await fetch(`${wrongUrl}/metrics`)).text(),
        (text) => metricValue(text, 'otel_audit_export_audit_delivery_failures_total') >= 3,
      );
      expect(metricValue(metrics, 'otel_audit_export_audit_records_pending')).toBe(2);
      expect(metricValue(metrics, 'otel_audit_export_audit_records_acknowledged_total')).toBe(0);
      const errors = log.lines.filter((l) => l.level >= 50 && l.msg.includes('not reaching the collector'));
      // Once per failure streak, not once per retry.
      expect(errors).toHaveLength(1);
      expect(JSON.stringify(log.lines)).not.toContain('a-wrong-token');
    } finally {
      await wrong.close();
    }
    expect(await auditStore.count({ from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) })).toBe(0);

    // The token fixed, the service restarted on the same spool: the two records go out.
    const fixed = buildExportService({ store, auth: { secret: SECRET }, audit: { endpoint: collectorUrl, senderToken: SENDER_TOKEN, spool, scheduledDelayMillis: 10 } });
    await listen(fixed);
    try {
      const stored = await eventually(
        async () => {
          const out: AuditEvent[] = [];
          for await (const e of auditStore.query({ from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) })) out.push(e);
          return out;
        },
        (evs) => evs.length >= 2,
      );
      expect(stored.map((e) => e.action).sort()).toEqual(['audit_log.export', 'audit_log.export.end']);
      expect(stored.every((e) => e.service?.name === AUDIT_LOG_SERVICE_NAME && e.actor.id === 'u-looker')).toBe(true);
    } finally {
      await fixed.close();
      await collector.close();
    }
  });

  it('records the end of a background job that failed, linked to its start', async () => {
    const collector = buildCollector({ store: auditStore, senderTokens: [[SENDER_TOKEN, AUDIT_LOG_SERVICE_NAME]] });
    const collectorUrl = await listen(collector);
    // A file where the export folder should be: every write of the job fails.
    const notAFolder = join(dir, 'not-a-folder');
    writeFileSync(notAFolder, '');
    const jobs = new SqliteExportJobStore({ path: join(dir, 'failing-jobs.sqlite') });
    const app = buildExportService({
      store,
      auth: { secret: SECRET },
      audit: { endpoint: collectorUrl, senderToken: SENDER_TOKEN, scheduledDelayMillis: 10 },
      jobs: { store: jobs, files: new DirectoryFileStorage(join(notAFolder, 'exports')), linkSecret: LINK_SECRET, pollIntervalMs: 50 },
    });
    const base = await listen(app);
    try {
      const owner = await signToken(SECRET, { sub: 'u-failed-job', superAdmin: true });
      const created = await fetch(`${base}/v1/exports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
        body: JSON.stringify({ format: 'csv', scope: 'all', from: `${DAY}T00:00:00Z`, to: `${DAY}T01:00:00Z` }),
      });
      const { id } = (await created.json()) as { id: string };
      const looks = await eventually(
        async () => {
          const out: AuditEvent[] = [];
          for await (const e of auditStore.query({ from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000), filter: { actorIds: ['u-failed-job'] } })) out.push(e);
          return out;
        },
        (evs) => evs.some((e) => e.action === 'audit_log.export.end'),
      );
      const start = looks.find((e) => e.action === 'audit_log.export')!;
      expect(start).toMatchObject({ correlationId: id, metadata: { delivery: 'job', jobId: id } });
      expect(looks.find((e) => e.action === 'audit_log.export.end')).toMatchObject({
        outcome: 'failure',
        correlationId: id,
        metadata: { delivery: 'job', status: 'failed', startEventId: start.id },
      });
    } finally {
      await app.close();
      await jobs.close();
      await collector.close();
    }
  });

  it('with a full audit queue: refuses the download with 503 AUDIT_ERR_AUDIT_UNAVAILABLE before any row, and counts it', async () => {
    // Nothing listens at the endpoint, so the one record the queue holds stays there.
    const dead = buildCollector({ store: auditStore });
    const deadUrl = await listen(dead);
    await dead.close();
    const log = capturedLog();
    const app = buildExportService({
      store,
      auth: { secret: SECRET },
      audit: { endpoint: deadUrl, spool: { dir: join(dir, 'full-spool') }, maxQueueRecords: 1, exportTimeoutMillis: 300, closeTimeoutMillis: 100 },
      logger: log.logger,
    });
    const base = await listen(app);
    try {
      const headers = { authorization: `Bearer ${token}` };
      expect((await fetch(`${base}/v1/events?scope=all&${RANGE}&limit=1`, { headers })).status).toBe(200);
      for (const path of [`/v1/exports/events.csv?scope=all&${RANGE}`, `/v1/exports/events.xlsx?scope=all&${RANGE}`, `/v1/events?scope=all&${RANGE}`]) {
        const res = await fetch(base + path, { headers });
        expect(res.status, path).toBe(503);
        expect(res.headers.get('content-type')).toMatch(/^application\/json/);
        expect(res.headers.get('retry-after')).toBe('5');
        const body = (await res.json()) as { error: { code: string }; events?: unknown };
        expect(body).toEqual({ error: { code: 'AUDIT_ERR_AUDIT_UNAVAILABLE', message: expect.any(String) as string } });
      }
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metricValue(metrics, 'otel_audit_export_looks_refused_total')).toBe(3);
      expect(metricValue(metrics, 'otel_audit_export_audit_records_pending')).toBe(1);
      expect(log.lines.filter((l) => l.level >= 50 && l.msg.includes('the request is refused'))).toHaveLength(3);
    } finally {
      await app.close();
    }
  });
});
