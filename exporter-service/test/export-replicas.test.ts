import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCollector } from '@otel-audit/collector';
import { AUDIT_LOG_SERVICE_NAME, type AuditEvent } from '@otel-audit/contract';
import {
  buildExportService,
  S3FileStorage,
  createExportFileStorage,
  exportFileStorageConfigFromEnv,
  signToken,
  type ExportFileStorage,
} from '@otel-audit/exporter-service';
import { Ed25519Signer, SqliteExportJobStore, SqliteStore, generateSigningKey, publicKeyRing, verifyExportFile, type SignedManifest } from '@otel-audit/store';
import { validEvent } from '../../test/support/otlp-json.js';
import { eventually, listen } from '../../test/support/services.js';
import { startVersitygw, versitygwMissing, type S3ServerForTests } from '../../test/support/versitygw.js';

const missing = versitygwMissing();
const required = process.env.CI === 'true';

if (missing && required) {
  describe('background exports on two replicas', () => {
    it('has versitygw, as CI=true requires', () => {
      throw new Error(missing);
    });
  });
}

const SECRET = 'replicas-test-jwt-secret-of-32-characters';
const LINK_SECRET = 'replicas-test-link-secret-of-32-characters';
const SENDER_TOKEN = 'export-service-sender-token-replicas';
const DAY = '2018-03-04';
const ROWS = 2500;
const BUCKET = 'audit-exports';
const PREFIX = 'otel-audit/exports/';
/** Long enough to download from the other replica under load, short enough to wait out. */
const LINK_TTL_MS = 8000;

interface Status {
  status: string;
  rowsWritten: number;
  expiresAt: string | null;
  downloadUrl?: string;
  manifestUrl?: string;
}

/**
 * Issue 17: two export-service replicas behind a load balancer share the job store (one SQLite
 * file, a connection each, as two processes would have) and an S3 bucket on a real
 * S3-compatible server (versitygw). A job started on A is run by A; its signed link works on B,
 * byte for byte; after its time the object is gone from the bucket. Every look is recorded
 * by a real collector, from both replicas.
 */
describe.skipIf(missing !== '')(`background exports on two replicas sharing a SQLite job store and an S3 bucket (versitygw)${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let dir: string;
  let s3: S3ServerForTests;
  let auditStore: SqliteStore;
  let collector: ReturnType<typeof buildCollector>;
  const closers: (() => Promise<unknown>)[] = [];
  let a: { url: string; files: ExportFileStorage };
  let b: { url: string; files: ExportFileStorage };
  let token: string;
  const signingKey = generateSigningKey();

  /** One replica as `otel-audit export-service` would build it: its own connections, files from AUDIT_EXPORT_STORAGE. */
  async function replica(name: string, concurrency: number, collectorUrl: string) {
    const events = new SqliteStore({ path: join(dir, 'events.sqlite') });
    const jobs = new SqliteExportJobStore({ path: join(dir, 'jobs.sqlite') });
    const env = {
      AUDIT_EXPORT_STORAGE: 's3',
      AUDIT_EXPORT_S3_BUCKET: BUCKET,
      AUDIT_EXPORT_S3_PREFIX: PREFIX,
      AUDIT_EXPORT_S3_ENDPOINT: s3.endpoint,
      AUDIT_EXPORT_S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    };
    const files = createExportFileStorage(exportFileStorageConfigFromEnv(env, dir));
    const app = buildExportService({
      store: events,
      auth: { secret: SECRET },
      audit: { endpoint: collectorUrl, senderToken: SENDER_TOKEN, spool: { dir: join(dir, `audit-spool-${name}`) }, scheduledDelayMillis: 20 },
      jobs: { store: jobs, files, linkSecret: LINK_SECRET, linkTtlMs: LINK_TTL_MS, concurrency, workerId: `replica-${name}`, pollIntervalMs: 100, signer: new Ed25519Signer(signingKey.privateKeyPem) },
    });
    const url = await listen(app);
    closers.push(async () => {
      await app.close();
      await jobs.close();
      await events.close();
    });
    return { url, files };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-replicas-'));
    s3 = await startVersitygw();
    await s3.createBucket(BUCKET);
    // The SDK's credential chain reads the standard variables, as a deployed replica would.
    process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
    const seed = new SqliteStore({ path: join(dir, 'events.sqlite') });
    await seed.insert(
      Array.from({ length: ROWS }, (_, i) =>
        validEvent({ time: new Date(Date.parse(`${DAY}T00:00:00Z`) + i * 1000).toISOString(), message: `row ${i}, "quoted", with a comma` }),
      ),
    );
    await seed.close();
    auditStore = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    collector = buildCollector({ store: auditStore, senderTokens: [[SENDER_TOKEN, AUDIT_LOG_SERVICE_NAME]] });
    const collectorUrl = await listen(collector);
    // B runs no jobs: whatever B serves, A wrote.
    a = await replica('a', 1, collectorUrl);
    b = await replica('b', 0, collectorUrl);
    token = await signToken(SECRET, { sub: 'u-replica-auditor', name: 'Replica Auditor', superAdmin: true });
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await collector?.close();
    await auditStore?.close();
    await s3?.stop();
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (base: string, path: string, init: RequestInit = {}) =>
    fetch(base + path, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });
  const objectBytes = async (key: string) =>
    Buffer.from(await (await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
  const keys = async () => ((await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map((o) => o.Key!).sort();
  const looks = async () => {
    const out: AuditEvent[] = [];
    for await (const e of auditStore.query({ from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000), filter: { actorIds: ['u-replica-auditor'] } })) out.push(e);
    return out;
  };

  it('a job started on A downloads from B with identical bytes; after its time the objects are gone; every look is recorded', async () => {
    const range = { scope: 'all', from: `${DAY}T00:00:00Z`, to: `${DAY}T23:59:59Z` };
    const started = await call(a.url, '/v1/exports', { method: 'POST', body: JSON.stringify({ ...range, format: 'csv' }) });
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };

    // B reads the job from the shared store: done, with the link and manifest of A's file.
    const status = await eventually(async () => (await (await call(b.url, `/v1/exports/${id}`)).json()) as Status, (s) => s.status === 'done' || s.status === 'failed', 60_000);
    expect(status).toMatchObject({ status: 'done', rowsWritten: ROWS });
    expect(await keys()).toEqual([`${PREFIX}${id}.csv`, `${PREFIX}${id}.manifest.json`]);

    // The link needs no token: the replica it reaches need not be the one that made it.
    const fromB = await fetch(b.url + status.downloadUrl!);
    expect(fromB.status).toBe(200);
    const body = Buffer.from(await fromB.arrayBuffer());
    expect(body.equals(await objectBytes(`${PREFIX}${id}.csv`))).toBe(true);
    expect(body.toString().trim().split('\n')).toHaveLength(ROWS + 1);
    // The same bytes as a direct download of the same query from A.
    const direct = Buffer.from(await (await call(a.url, `/v1/exports/events.csv?${new URLSearchParams(range)}`)).arrayBuffer());
    expect(body.equals(direct)).toBe(true);
    // The manifest A signed, served by B, verifies the file B served.
    const manifest = (await (await call(b.url, status.manifestUrl!)).json()) as SignedManifest;
    const file = join(dir, 'downloaded.csv');
    (await import('node:fs')).writeFileSync(file, body);
    expect(await verifyExportFile(file, manifest, publicKeyRing([signingKey.publicKeyPem]))).toMatchObject({ ok: true });

    // Recorded: the job's start and end (by A), the link download's start and end (by B).
    const recorded = await eventually(looks, (evs) => evs.filter((e) => e.action === 'audit_log.export.end').length >= 2, 20_000);
    const of = (action: string, delivery: string) => recorded.filter((e) => e.action === action && e.metadata?.delivery === delivery);
    expect(of('audit_log.export', 'job')).toHaveLength(1);
    expect(of('audit_log.export.end', 'job')).toEqual([expect.objectContaining({ correlationId: id, metadata: expect.objectContaining({ status: 'completed', rows: ROWS }) })]);
    expect(of('audit_log.export', 'link')).toEqual([expect.objectContaining({ correlationId: id, metadata: expect.objectContaining({ jobId: id, rowsMatching: ROWS }) })]);
    expect(of('audit_log.export.end', 'link')).toEqual([expect.objectContaining({ correlationId: id, metadata: expect.objectContaining({ status: 'completed', rows: ROWS }) })]);
    expect(recorded.every((e) => e.service?.name === AUDIT_LOG_SERVICE_NAME)).toBe(true);

    // Past its time, on B: 410, and the file and manifest are deleted from the bucket.
    await new Promise((r) => setTimeout(r, Date.parse(status.expiresAt!) - Date.now() + 100));
    const gone = await fetch(b.url + status.downloadUrl!);
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe('AUDIT_ERR_EXPORT_EXPIRED');
    expect(await keys()).toEqual([]);
    expect(await a.files.exists(`${id}.csv`)).toBe(false);
    expect((await call(a.url, `/v1/exports/${id}`)).status).toBe(410);
  });

  it('a replica whose S3 secret is wrong does not start, and says why without the secret', async () => {
    const wrongSecret = `not-the-secret-${Date.now()}-0123456789abcdef`;
    const lines: string[] = [];
    const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: wrongSecret } });
    const jobs = new SqliteExportJobStore({ path: join(dir, 'jobs.sqlite') });
    const app = buildExportService({
      store: auditStore,
      auth: { secret: SECRET },
      logger: { level: 'debug', stream: { write: (line: string) => void lines.push(line) } },
      jobs: { store: jobs, files: new S3FileStorage({ bucket: BUCKET, client }), linkSecret: LINK_SECRET, concurrency: 0 },
    });
    const err = (await Promise.resolve(app.ready()).then(() => undefined, (e: unknown) => e)) as Error;
    expect(err.message).toMatch(/S3 could not reach the bucket s3:\/\/audit-exports: .*HTTP 403/);
    expect([err.message, err.stack, ...lines].join('\n')).not.toContain(wrongSecret);
    await app.close().catch(() => undefined);
    await jobs.close();
    client.destroy();
  });

  it('an XLSX job run on A streams into the bucket and downloads from B unchanged', async () => {
    const started = await call(a.url, '/v1/exports', { method: 'POST', body: JSON.stringify({ scope: 'all', from: `${DAY}T00:00:00Z`, to: `${DAY}T23:59:59Z`, format: 'xlsx' }) });
    const { id } = (await started.json()) as { id: string };
    const status = await eventually(async () => (await (await call(b.url, `/v1/exports/${id}`)).json()) as Status, (s) => s.status === 'done' || s.status === 'failed', 60_000);
    expect(status.status).toBe('done');
    const fromB = await fetch(b.url + status.downloadUrl!);
    expect(fromB.headers.get('content-type')).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const body = Buffer.from(await fromB.arrayBuffer());
    expect(body.subarray(0, 2).toString()).toBe('PK');
    expect(body.equals(await objectBytes(`${PREFIX}${id}.xlsx`))).toBe(true);
  });
});
