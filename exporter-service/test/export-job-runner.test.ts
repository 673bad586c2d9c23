import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteExportJobStore, SqliteStore, type ExportJob } from '@otel-audit/store';
import { DirectoryFileStorage, type ExportFileStorage } from '../src/export-file-storage.js';
import { ExportJobRunner, type ExportJobLog } from '../src/internal/export-job-runner.js';
import { CALLER_KEY, queuedExportJob } from '../src/internal/export-job-request.js';
import { EXPORT_FORMAT_DEFAULTS } from '../src/internal/export-writers.js';
import { S3FileStorage } from '../src/s3-file-storage.js';
import { SignedLinks } from '../src/internal/signed-links.js';
import { validEvent } from '../../test/support/otlp-json.js';
import { eventually } from '../../test/support/services.js';
import { startVersitygw, versitygwMissing, type S3ServerForTests } from '../../test/support/versitygw.js';

const missing = versitygwMissing();
if (missing && process.env.CI === 'true') {
  describe('ExportJobRunner on S3', () => {
    it('has versitygw, as CI=true requires', () => {
      throw new Error(missing);
    });
  });
}

const DAY = '2017-05-06';
const ROWS = 40;

/** The runner's log, kept: what it said is part of what it did. */
function keptLog(lines: { level: string; msg?: string }[] = []): ExportJobLog & { lines: typeof lines } {
  const at = (level: string) => (_obj: object, msg?: string) => void lines.push({ level, ...(msg ? { msg } : {}) });
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), child: () => keptLog(lines) };
}

function queuedJob(): ExportJob {
  return queuedExportJob({
    id: randomUUID(),
    owner: 'u-runner',
    format: 'csv',
    request: { scope: 'all', from: `${DAY}T00:00:00.000Z`, to: `${DAY}T23:59:59.000Z`, [CALLER_KEY]: JSON.stringify({ id: 'u-runner', workspaces: [], permissions: [], superAdmin: true }) },
  });
}

let s3: S3ServerForTests | undefined;
beforeAll(async () => {
  if (!missing) {
    s3 = await startVersitygw();
    await s3.createBucket('runner');
  }
});
afterAll(async () => {
  await s3?.stop();
});

const storages: { name: string; enabled: boolean; open: (dir: string) => ExportFileStorage }[] = [
  { name: 'a folder', enabled: true, open: (dir) => new DirectoryFileStorage(join(dir, 'exports')) },
  { name: 'S3 (versitygw)', enabled: !missing, open: (dir) => new S3FileStorage({ bucket: 'runner', prefix: `${dir.split('/').pop()}/`, client: s3!.client }) },
];

for (const storage of storages) {
  describe.skipIf(!storage.enabled)(`ExportJobRunner, without Fastify, files in ${storage.name}`, () => {
    let dir: string;
    let events: SqliteStore;
    let jobs: SqliteExportJobStore;
    let files: ExportFileStorage;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'otel-audit-runner-'));
      events = new SqliteStore({ path: join(dir, 'events.sqlite') });
      await events.insert(Array.from({ length: ROWS }, (_, i) => validEvent({ time: new Date(Date.parse(`${DAY}T01:00:00Z`) + i * 60_000).toISOString() })));
      jobs = new SqliteExportJobStore({ path: join(dir, 'jobs.sqlite') });
      files = storage.open(dir);
    });
    afterAll(async () => {
      await jobs?.close();
      await events?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const runner = (log: ExportJobLog, overrides: { concurrency?: number; linkTtlMs?: number } = {}) =>
      new ExportJobRunner({
        jobs,
        files,
        events,
        limits: { defaultWindowMs: 30 * 86_400_000, maxRangeMs: 3660 * 86_400_000 },
        parseFormat: () => ({ columns: [...EXPORT_FORMAT_DEFAULTS.columns], timeZone: 'UTC', dateFormat: 'iso' }),
        looks: { end: () => undefined },
        links: new SignedLinks('runner-test-link-secret-of-32-characters'),
        log,
        workerId: 'runner-under-test',
        concurrency: overrides.concurrency ?? 1,
        pollIntervalMs: 50,
        linkTtlMs: overrides.linkTtlMs ?? 3_600_000,
      });

    it('claims a queued job, writes its file into the storage and marks it done', async () => {
      const job = queuedJob();
      await jobs.create(job);
      const log = keptLog();
      const r = runner(log);
      r.start();
      const done = await eventually(() => jobs.get(job.id), (j) => j?.status === 'done' || j?.status === 'failed', 20_000);
      await r.stop();
      expect(done).toMatchObject({ status: 'done', rowsWritten: ROWS, total: ROWS, file: `${job.id}.csv`, worker: 'runner-under-test' });
      const text = Buffer.concat(await (await files.read(`${job.id}.csv`)).toArray()).toString();
      expect(text.trim().split('\n')).toHaveLength(ROWS + 1);
      expect(log.lines).toContainEqual({ level: 'info', msg: 'background export done' });
    });

    it('the sweep deletes the file of a job past its time and marks it expired', async () => {
      const job = queuedJob();
      await jobs.create(job);
      const r = runner(keptLog(), { linkTtlMs: 1 });
      r.start();
      const done = await eventually(() => jobs.get(job.id), (j) => j?.status !== 'queued' && j?.status !== 'running', 20_000);
      await r.stop();
      // Expired already (1 ms), unless the start-up sweep was quicker than the job.
      expect(['done', 'expired']).toContain(done?.status);
      await r.sweep();
      expect(await jobs.get(job.id)).toMatchObject({ status: 'expired', file: null });
      expect(await files.exists(`${job.id}.csv`)).toBe(false);
    });

    it('stop() puts a job it was running back in the queue, and writes no file', async () => {
      // Far more rows than the first heartbeat: the job is certainly running when stop() comes.
      await events.insert(Array.from({ length: 30_000 }, (_, i) => validEvent({ time: new Date(Date.parse(`${DAY}T12:00:00Z`) + i * 100).toISOString() })));
      const job = queuedJob();
      await jobs.create(job);
      const r = runner(keptLog());
      r.start();
      await eventually(() => jobs.get(job.id), (j) => j?.status === 'running', 20_000);
      await r.stop();
      expect(await jobs.get(job.id)).toMatchObject({ status: 'queued', worker: null });
      expect(await files.exists(`${job.id}.csv`)).toBe(false);
    });
  });
}
