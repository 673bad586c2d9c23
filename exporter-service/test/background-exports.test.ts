import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createReadStream, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@otel-audit/contract';
import { DirectoryFileStorage, buildExportService, signToken, type BackgroundExportOptions } from '@otel-audit/exporter-service';
import {
  Ed25519Signer,
  SqliteExportJobStore,
  SqliteStore,
  createExportJobStore,
  digestStream,
  generateSigningKey,
  publicKeyRing,
  verifyExportFile,
  type ExportJob,
  type ExportJobStore,
  type SignedManifest,
} from '@otel-audit/store';
import { elasticsearch } from '../../test/support/elasticsearch.js';
import { validEvent } from '../../test/support/otlp-json.js';
import { elasticsearchStores, eventually, isolatedDay, listen, sqliteStores, type StorePair } from '../../test/support/services.js';

const SECRET = 'background-export-test-secret-of-32-chars';
const LINK_SECRET = 'background-export-link-secret-of-32-chars';
const es = elasticsearch();

const kinds = [
  { name: 'SQLite', open: sqliteStores, enabled: true },
  { name: 'Elasticsearch', open: () => elasticsearchStores(es!), enabled: es !== null },
];

interface Status {
  id: string;
  status: string;
  format: string;
  rowsWritten: number;
  total: number | null;
  percent: number | null;
  linkTtlHours: number;
  expiresAt: string | null;
  downloadUrl?: string;
  error?: string;
}

let spaces = 0;

for (const kind of kinds) {
  describe.skipIf(!kind.enabled)(`background exports on ${kind.name}`, () => {
    let stores: StorePair;
    let events: AuditEvent[];
    let range: { from: string; to: string };
    let auditor: string;
    let alice: string;
    const cleanups: (() => Promise<void> | void)[] = [];

    beforeAll(async () => {
      stores = await kind.open();
      const day = isolatedDay();
      events = Array.from({ length: 25 }, (_, i) =>
        validEvent({
          time: new Date(day.getTime() + i * 60_000).toISOString(),
          actor: { id: i % 2 ? 'u-alice' : 'u-bob', name: i % 2 ? 'Alice' : 'Bob', type: 'user' },
          workspace: { id: 'ws-a' },
          action: i % 3 ? 'auth.login' : 'api_token.create',
          category: i % 3 ? 'authentication' : 'iam',
          message: `event number ${i}, with a comma and "quotes"`,
        }),
      );
      await stores.writer.insert(events);
      range = { from: day.toISOString(), to: new Date(day.getTime() + 86_400_000).toISOString() };
      await eventually(() => stores.reader.count({ from: day, to: new Date(day.getTime() + 86_400_000) }), (n) => n === events.length);
      auditor = await signToken(SECRET, { sub: 'u-auditor', permissions: ['users:view', 'security-logs:view'] });
      alice = await signToken(SECRET, { sub: 'u-alice', workspaces: ['ws-a'] });
    });
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });
    afterAll(async () => {
      await stores?.close();
    });

    /** A fresh job space and file folder, or the given ones (a restarted service, another replica). */
    function place(space = String(++spaces)): { space: string; jobs: ExportJobStore; dir: string } {
      const jobs = stores.exportJobs(space);
      const dir = join(tmpdir(), `otel-audit-exports-${process.pid}-${space}`);
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => jobs.close());
      return { space, jobs, dir };
    }

    async function service(where: { jobs: ExportJobStore; dir: string }, extra: Partial<BackgroundExportOptions> = {}) {
      const app = buildExportService({
        store: stores.reader,
        auth: { secret: SECRET },
        jobs: { store: where.jobs, files: new DirectoryFileStorage(where.dir), linkSecret: LINK_SECRET, pollIntervalMs: 100, ...extra },
      });
      const base = await listen(app);
      cleanups.push(() => app.close().catch(() => undefined));
      const call = async (method: string, path: string, token?: string, body?: unknown) => {
        const res = await fetch(base + path, {
          method,
          headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        return res;
      };
      const start = async (body: Record<string, string>, token = auditor) => {
        const res = await call('POST', '/v1/exports', token, { scope: 'all', ...range, ...body });
        expect(res.status).toBe(202);
        return (await res.json()) as { id: string; status: string; statusUrl: string };
      };
      const finished = async (id: string, token = auditor) => {
        const status = await eventually(
          async () => (await (await call('GET', `/v1/exports/${id}`, token)).json()) as Status,
          (s) => s.status === 'done' || s.status === 'failed',
          30_000,
        );
        expect(status).toMatchObject({ id, status: 'done', percent: 100 });
        expect(status.linkTtlHours).toBeGreaterThan(0);
        return status;
      };
      return { app, base, call, start, finished };
    }

    it('tells the webhook when a job is done, with the signed link', async () => {
      const received: unknown[] = [];
      const hook = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          received.push({ contentType: req.headers['content-type'], body: JSON.parse(body) as unknown });
          res.end();
        });
      });
      await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
      cleanups.push(() => new Promise<void>((r) => hook.close(() => r())));
      const svc = await service(place(), { webhookUrl: `http://127.0.0.1:${(hook.address() as { port: number }).port}/hooks/export` });
      const created = await svc.start({ format: 'csv' });
      const status = await svc.finished(created.id);
      await eventually(async () => received.length, (n) => n > 0, 10_000);
      expect(received).toEqual([
        {
          contentType: 'application/json',
          body: { id: created.id, status: 'done', rowsWritten: events.length, downloadUrl: status.downloadUrl, expiresAt: status.expiresAt },
        },
      ]);
    });

    it('signs a manifest of the finished file; the downloaded file verifies against it, a changed one does not', async () => {
      const key = generateSigningKey();
      const svc = await service(place(), { signer: new Ed25519Signer(key.privateKeyPem) });
      const created = await svc.start({ format: 'csv', action: 'auth.login' });
      const status = (await svc.finished(created.id)) as Status & { manifestUrl?: string };
      expect(status.manifestUrl).toBe(`/v1/exports/${created.id}/manifest`);
      // The manifest is the owner's: another user is told it does not exist.
      expect((await svc.call('GET', status.manifestUrl!, alice)).status).toBe(404);
      const manifest = (await (await svc.call('GET', status.manifestUrl!, auditor)).json()) as SignedManifest;
      expect(manifest).toMatchObject({ format: 'csv', rows: status.rowsWritten, requestedBy: 'u-auditor', keyId: key.keyId, request: { scope: 'all', action: 'auth.login', ...range } });
      const dir = mkdtempSync(join(tmpdir(), 'otel-audit-manifest-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const file = join(dir, 'export.csv');
      const body = Buffer.from(await (await svc.call('GET', status.downloadUrl!)).arrayBuffer());
      writeFileSync(file, body);
      const keys = publicKeyRing([key.publicKeyPem]);
      expect(await verifyExportFile(file, manifest, keys)).toMatchObject({ ok: true, problems: [] });
      // One row less: a truncated export fails.
      writeFileSync(file, body.subarray(0, body.lastIndexOf('\n', body.length - 2) + 1));
      expect((await verifyExportFile(file, manifest, keys)).ok).toBe(false);
      // A manifest edited to match the changed file fails on its signature.
      const forged = { ...manifest, ...(await digestStream(createReadStream(file))) };
      expect((await verifyExportFile(file, forged, keys)).problems).toEqual(['the manifest signature does not verify: the manifest was altered or forged']);
    });

    const csvIds = (text: string) => (parse(text, { columns: true }) as Record<string, string>[]).map((row) => row['Event ID']);

    it('POST → status until done → signed download over HTTP: the rows are the stored events', async () => {
      const where = place();
      const svc = await service(where);
      const created = await svc.start({ format: 'csv' });
      expect(created).toEqual({ id: expect.any(String), status: 'queued', statusUrl: `/v1/exports/${created.id}` });

      const status = await svc.finished(created.id);
      expect(status).toMatchObject({ format: 'csv', rowsWritten: events.length, total: events.length });
      expect(Date.parse(status.expiresAt!) - Date.now()).toBeGreaterThan(23 * 3600 * 1000);
      expect(status.downloadUrl).toMatch(new RegExp(`^/v1/exports/${created.id}/download\\?expires=\\d+&signature=[0-9a-f]{64}$`));

      // No bearer token: the signed link is the credential.
      const res = await svc.call('GET', status.downloadUrl!);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(res.headers.get('content-disposition')).toBe(
        `attachment; filename="audit-log_all-users_${range.from.slice(0, 10)}_${range.to.slice(0, 10)}.csv"`,
      );
      const body = await res.text();
      expect(csvIds(body)).toEqual(events.map((e) => e.id));
      // Byte for byte what the direct download of the same query gives.
      const direct = await svc.call('GET', `/v1/exports/events.csv?scope=all&from=${range.from}&to=${range.to}`, auditor);
      expect(body).toBe(await direct.text());
      // Only the finished file is in the folder: no temporary left behind.
      expect(readdirSync(where.dir)).toEqual([`${created.id}.csv`]);
    });

    it('applies filters and format fields to the job', async () => {
      const svc = await service(place());
      const { id } = await svc.start({ format: 'csv', action: 'api_token.*', columns: 'eventId,action', delimiter: ';' });
      const status = await svc.finished(id);
      const wanted = events.filter((e) => e.action.startsWith('api_token.'));
      expect(status.rowsWritten).toBe(wanted.length);
      const text = await (await svc.call('GET', status.downloadUrl!)).text();
      expect(parse(text, { delimiter: ';' })).toEqual([['Event ID', 'Action'], ...wanted.map((e) => [e.id, e.action])]);
    });

    it('shows a job to its owner only, and refuses a forbidden scope before any job exists', async () => {
      const where = place();
      const svc = await service(where);
      const { id } = await svc.start({ format: 'csv' });
      await svc.finished(id);

      const other = await svc.call('GET', `/v1/exports/${id}`, alice);
      expect(other.status).toBe(404);
      const missing = await svc.call('GET', `/v1/exports/${randomUUID()}`, alice);
      expect(missing.status).toBe(404);
      // The same answer whether the job exists or not.
      expect(await other.json()).toEqual(await missing.json());
      expect(await (await svc.call('GET', `/v1/exports/${id}`)).json()).toMatchObject({ error: { code: 'AUDIT_ERR_UNAUTHENTICATED' } });

      const before = (await where.jobs.list({})).length;
      const forbidden = await svc.call('POST', '/v1/exports', alice, { scope: 'all', format: 'csv' });
      expect(forbidden.status).toBe(403);
      expect(await forbidden.json()).toEqual({ error: { code: 'AUDIT_ERR_SCOPE_FORBIDDEN', message: 'you are not allowed to see this scope' } });
      const badColumns = await svc.call('POST', '/v1/exports', auditor, { scope: 'all', format: 'csv', columns: 'nope' });
      expect(badColumns.status).toBe(400);
      const noFormat = await svc.call('POST', '/v1/exports', auditor, { scope: 'all' });
      expect(noFormat.status).toBe(400);
      expect((await where.jobs.list({})).length).toBe(before);
    });

    it('refuses a tampered link with 403, and an expired one with 410, deleting the file', async () => {
      const where = place();
      const svc = await service(where, { linkTtlMs: 1500 });
      const { id } = await svc.start({ format: 'csv' });
      const status = await svc.finished(id);
      const url = new URL(status.downloadUrl!, svc.base);

      const tamperedSignature = new URL(url);
      const sig = url.searchParams.get('signature')!;
      tamperedSignature.searchParams.set('signature', (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1));
      const longerLife = new URL(url);
      longerLife.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 86_400_000));
      const otherJob = new URL(url.href.replace(id, randomUUID()));
      for (const bad of [tamperedSignature, longerLife, otherJob, new URL(`${url.pathname}`, svc.base)]) {
        const res = await fetch(bad);
        expect(res.status).toBe(403);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('AUDIT_ERR_LINK_INVALID');
      }
      expect((await fetch(url)).status).toBe(200);

      await new Promise((r) => setTimeout(r, Date.parse(status.expiresAt!) - Date.now() + 50));
      const gone = await fetch(url);
      expect(gone.status).toBe(410);
      expect(((await gone.json()) as { error: { code: string } }).error.code).toBe('AUDIT_ERR_EXPORT_EXPIRED');
      expect(await new DirectoryFileStorage(where.dir).exists(`${id}.csv`)).toBe(false);
      expect(readdirSync(where.dir)).toEqual([]);
      expect(await where.jobs.get(id)).toMatchObject({ status: 'expired', file: null });
      const statusAfter = await svc.call('GET', `/v1/exports/${id}`, auditor);
      expect(statusAfter.status).toBe(410);
    });

    it('a job queued by a service that closed before running it is completed by the next one', async () => {
      const first = place();
      // Concurrency 0: this replica only takes requests, so the job is certainly still queued at close.
      const a = await service(first, { concurrency: 0 });
      const { id } = await a.start({ format: 'csv' });
      await a.app.close();
      expect(await first.jobs.get(id)).toMatchObject({ status: 'queued', worker: null });

      // A new connection to the same job space and folder: the restarted service.
      const b = await service(place(first.space));
      const status = await b.finished(id);
      expect(csvIds(await (await b.call('GET', status.downloadUrl!)).text())).toEqual(events.map((e) => e.id));
    });

    it('redoes a job whose worker died (running, heartbeat older than 30 s), and leaves a live one alone', async () => {
      const first = place();
      const a = await service(first, { concurrency: 0 });
      const dead = await a.start({ format: 'csv' });
      const alive = await a.start({ format: 'csv' });
      await a.app.close();
      const longAgo = new Date(Date.now() - 60_000).toISOString();
      await first.jobs.update(dead.id, { status: 'running', worker: 'crashed-replica', heartbeatAt: longAgo, rowsWritten: 7 });
      await first.jobs.update(alive.id, { status: 'running', worker: 'busy-replica', heartbeatAt: new Date(Date.now() + 3_600_000).toISOString() });

      const b = await service(place(first.space));
      const status = await b.finished(dead.id);
      expect(status.rowsWritten).toBe(events.length);
      expect(csvIds(await (await b.call('GET', status.downloadUrl!)).text())).toEqual(events.map((e) => e.id));
      expect(await first.jobs.get(alive.id)).toMatchObject({ status: 'running', worker: 'busy-replica' });
    });

    it('writes an XLSX background export that reads back with every row', async () => {
      const svc = await service(place());
      const { id } = await svc.start({ format: 'xlsx', tz: 'Europe/Paris' });
      const status = await svc.finished(id);
      const res = await svc.call('GET', status.downloadUrl!);
      expect(res.headers.get('content-type')).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
      expect(res.headers.get('content-disposition')).toMatch(/\.xlsx"$/);
      const workbook = new ExcelJS.Workbook();
      await workbook.xlsx.load(Buffer.from(await res.arrayBuffer()) as never);
      const sheet = workbook.worksheets[0]!;
      expect(sheet.rowCount).toBe(events.length + 1);
      const idColumn = (sheet.getRow(1).values as unknown[]).indexOf('Event ID');
      expect(sheet.getColumn(idColumn).values.slice(2)).toEqual(events.map((e) => e.id));
    });

    it('limits POST /v1/exports per user with 429 AUDIT_ERR_RATE_LIMITED', async () => {
      const svc = await service(place(), { postsPerMinute: 2, concurrency: 0 });
      await svc.start({ format: 'csv' });
      await svc.start({ format: 'csv' });
      const third = await svc.call('POST', '/v1/exports', auditor, { scope: 'all', ...range, format: 'csv' });
      expect(third.status).toBe(429);
      expect(((await third.json()) as { error: { code: string } }).error.code).toBe('AUDIT_ERR_RATE_LIMITED');
      // Another user has a budget of their own.
      expect((await svc.call('POST', '/v1/exports', alice, { scope: 'self', format: 'csv' })).status).toBe(202);
    });

    it('claimNext gives a queued job to exactly one of many racing workers', async () => {
      const { jobs } = place();
      await jobs.init();
      const now = new Date().toISOString();
      const job: ExportJob = {
        id: randomUUID(),
        owner: 'u-x',
        status: 'queued',
        format: 'csv',
        request: { scope: 'self' },
        createdAt: now,
        updatedAt: now,
        rowsWritten: 0,
        total: null,
        file: null,
        expiresAt: null,
        error: null,
        worker: null,
        heartbeatAt: null,
      };
      await jobs.create(job);
      const stale = new Date(Date.now() - 30_000).toISOString();
      const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => jobs.claimNext(`w${i}`, stale)));
      const winners = claims.filter((c) => c !== undefined);
      expect(winners).toHaveLength(1);
      expect(winners[0]).toMatchObject({ id: job.id, status: 'running', request: { scope: 'self' } });
      expect(await jobs.get(job.id)).toMatchObject({ status: 'running', worker: winners[0]!.worker });
      expect(await jobs.list({ status: ['queued'] })).toEqual([]);
      expect((await jobs.list({ status: ['running'] })).map((j) => j.id)).toEqual([job.id]);
    });
  });
}

describe('export jobs in the SQLite file of the events', () => {
  it('shares the event store connection, or opens the same file, and sees the same jobs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otel-audit-jobs-'));
    try {
      const events = new SqliteStore({ path: join(dir, 'audit.sqlite') });
      const shared = createExportJobStore({ dataDir: dir }, events);
      const separate = createExportJobStore({ dataDir: dir });
      expect(shared).toBeInstanceOf(SqliteExportJobStore);
      const now = new Date().toISOString();
      await shared.create({
        id: 'job-1', owner: 'u', status: 'queued', format: 'xlsx', request: { a: 'b' }, createdAt: now, updatedAt: now,
        rowsWritten: 0, total: null, file: null, expiresAt: null, error: null, worker: null, heartbeatAt: null,
      });
      expect(await separate.claimNext('w', now)).toMatchObject({ id: 'job-1', status: 'running', worker: 'w', format: 'xlsx', request: { a: 'b' } });
      await separate.update('job-1', { status: 'done', rowsWritten: 3 });
      expect(await shared.get('job-1')).toMatchObject({ status: 'done', rowsWritten: 3 });
      await shared.close();
      // Closing the job store leaves the event store's connection open.
      expect(await events.ping()).toBe(true);
      await separate.close();
      await events.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
