import { PassThrough } from 'node:stream';
import type { AuditEvent } from '@otel-audit/contract';
import type { AuditStore, DigestSigner, ExportJob, ExportJobStore } from '@otel-audit/store';
import { ExportError } from '../errors.js';
import type { ExportFileStorage } from '../export-file-storage.js';
import { expireExport, isExpired } from './export-expiry.js';
import { pick } from './defined-only.js';
import { QUERY_KEYS, jobLook, jobRequester } from './export-job-request.js';
import { writeExportManifest } from './export-manifests.js';
import { notifyExportWebhook } from './export-webhook.js';
import { csvStream, writeXlsx, type ExportFormat } from './export-writers.js';
import { parseEventQuery, type EventQueryParams, type QueryLimits } from './event-query.js';
import { parseCsvOptions, type FormatParams } from './format-params.js';
import type { LookRecorder } from './look-recorder.js';
import type { SignedLinks } from './signed-links.js';

/** A running job's worker writes its heartbeat this often… */
export const HEARTBEAT_INTERVAL_MS = 1000;
/** …and past this without one, its worker is taken for dead and the job is run again. */
export const STALE_AFTER_MS = 30_000;
const SWEEP_INTERVAL_MS = 60_000;

/** The part of a pino (fastify) logger the runner writes to. */
export interface ExportJobLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): ExportJobLog;
}

export interface ExportJobRunnerOptions {
  /** Job state, shared by every replica. */
  jobs: ExportJobStore;
  /** Where finished files are written, for any replica to serve. */
  files: ExportFileStorage;
  /** The audit events the jobs read. */
  events: AuditStore;
  limits: QueryLimits;
  parseFormat: (p: FormatParams) => ExportFormat;
  /** Records the end of every job (its start was recorded when it was queued). */
  looks: Pick<LookRecorder, 'end'>;
  links: SignedLinks;
  log: ExportJobLog;
  /** Names this runner in the job store. */
  workerId: string;
  /** Jobs run at once. */
  concurrency: number;
  /** How often an idle runner looks for queued jobs. */
  pollIntervalMs: number;
  /** How long a finished export can be downloaded. */
  linkTtlMs: number;
  webhookUrl?: string | undefined;
  signer?: DigestSigner | undefined;
}

/** Why a job stopped without failing: the runner is stopping, or another worker took it. */
class Interrupted extends Error {}

/**
 * Takes jobs from the shared store and compiles them, up to `concurrency` at once. Job
 * state lives in the store, so any replica may run any job; a job whose worker stops
 * sending heartbeats (the process died) is claimed again by the next runner and redone
 * from the start: files are only ever complete or absent, so redoing is how it resumes.
 */
export class ExportJobRunner {
  readonly #o: ExportJobRunnerOptions;
  readonly #active = new Map<string, { abort: AbortController; done: Promise<void> }>();
  #timers: NodeJS.Timeout[] = [];
  #filling = false;
  #again = false;
  #stopped = true;

  constructor(options: ExportJobRunnerOptions) {
    this.#o = options;
  }

  start(): void {
    this.#stopped = false;
    this.#timers = [setInterval(() => this.nudge(), this.#o.pollIntervalMs), setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS)];
    for (const t of this.#timers) t.unref();
    this.nudge();
    void this.sweep();
  }

  /** Stops taking jobs; running ones are put back in the queue for another runner. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    for (const { abort } of this.#active.values()) abort.abort(new Interrupted('the export service is shutting down'));
    await Promise.all([...this.#active.values()].map((a) => a.done));
  }

  /** Looks for work now, not at the next poll. */
  nudge(): void {
    if (this.#stopped) return;
    if (this.#filling) {
      this.#again = true;
      return;
    }
    this.#filling = true;
    void this.#fill().finally(() => {
      this.#filling = false;
      if (this.#again) {
        this.#again = false;
        this.nudge();
      }
    });
  }

  /** Expires every finished job past its time, deleting its file (also run once a minute). */
  async sweep(): Promise<void> {
    try {
      for (const job of await this.#o.jobs.list({ status: ['done'] })) if (isExpired(job)) await expireExport(job, this.#o, this.#o.log);
    } catch (err) {
      this.#o.log.error({ err }, 'export expiry sweep failed; retrying at the next one');
    }
  }

  async #fill(): Promise<void> {
    try {
      while (!this.#stopped && this.#active.size < this.#o.concurrency) {
        const job = await this.#o.jobs.claimNext(this.#o.workerId, new Date(Date.now() - STALE_AFTER_MS).toISOString());
        if (!job) return;
        if (this.#stopped) {
          await this.#requeue(job.id);
          return;
        }
        const abort = new AbortController();
        const done = this.#run(job, abort.signal).finally(() => {
          this.#active.delete(job.id);
          this.nudge();
        });
        this.#active.set(job.id, { abort, done });
      }
    } catch (err) {
      this.#o.log.error({ err }, 'could not claim an export job; retrying at the next poll');
    }
  }

  async #requeue(id: string): Promise<void> {
    await this.#o.jobs
      .update(id, { status: 'queued', worker: null, heartbeatAt: null, rowsWritten: 0 })
      .catch((err: unknown) => this.#o.log.error({ err, jobId: id }, 'could not put an interrupted export back in the queue'));
  }

  async #run(job: ExportJob, signal: AbortSignal): Promise<void> {
    const { jobs, files, events } = this.#o;
    const log = this.#o.log.child({ jobId: job.id });
    const file = `${job.id}.${job.format}`;
    let rows = 0;
    let heartbeat: NodeJS.Timeout | undefined;
    const abort = new AbortController();
    signal.addEventListener('abort', () => abort.abort(signal.reason), { once: true });
    try {
      const caller = jobRequester(job);
      const parsed = parseEventQuery(caller, pick(job.request as EventQueryParams, QUERY_KEYS), this.#o.limits, 'asc');
      const format = this.#o.parseFormat(job.request);
      const total = await events.count(parsed.query);
      await jobs.update(job.id, { total, rowsWritten: 0, error: null });
      heartbeat = setInterval(() => {
        void (async () => {
          const current = await jobs.get(job.id);
          // Another worker took the job over (ours looked dead): leave it to them.
          if (current?.worker !== this.#o.workerId || current.status !== 'running') {
            abort.abort(new Interrupted('another worker took this export over'));
            return;
          }
          await jobs.update(job.id, { rowsWritten: rows, heartbeatAt: new Date().toISOString() });
        })().catch((err: unknown) => log.warn({ err }, 'export heartbeat failed'));
      }, HEARTBEAT_INTERVAL_MS);

      async function* counted(): AsyncIterable<AuditEvent> {
        for await (const event of events.query(parsed.query, abort.signal)) {
          rows += 1;
          yield event;
        }
      }
      if (job.format === 'csv') {
        await files.put(file, csvStream(counted(), { ...format, ...parseCsvOptions(job.request) }));
      } else {
        const out = new PassThrough();
        // A writer that fails ends the upload too: otherwise it would wait for the rest forever.
        const written = writeXlsx(counted(), out, format).catch((err: unknown) => {
          out.destroy(err as Error);
          throw err;
        });
        await Promise.all([files.put(file, out), written]);
      }
      abort.signal.throwIfAborted();
      if (this.#o.signer) await writeExportManifest(files, this.#o.signer, job, { file, rows, requestedBy: caller.id });
      clearInterval(heartbeat);
      const expiresAt = new Date(Date.now() + this.#o.linkTtlMs).toISOString();
      await jobs.update(job.id, { status: 'done', rowsWritten: rows, file, expiresAt, heartbeatAt: new Date().toISOString() });
      log.info({ rows }, 'background export done');
      this.#o.looks.end(jobLook(job), { status: 'completed', rows });
      this.#notify({ ...job, status: 'done', rowsWritten: rows, total, file, expiresAt }, log);
    } catch (err) {
      const reason: unknown = abort.signal.aborted ? abort.signal.reason : err;
      if (reason instanceof Interrupted) {
        log.info({ reason: reason.message }, 'background export interrupted');
        if (signal.aborted) await this.#requeue(job.id);
        return;
      }
      log.error({ err }, 'background export failed');
      await files.delete(file).catch(() => undefined);
      // The owner sees a message of ours; the store's or the file storage's own text stays in the log.
      const error = err instanceof ExportError ? err.message : 'the export could not be completed (the audit store or the file storage failed); start it again';
      await jobs
        .update(job.id, { status: 'failed', error, rowsWritten: rows, worker: null })
        .catch((updateErr: unknown) => log.error({ err: updateErr }, 'could not mark the export failed'));
      this.#o.looks.end(jobLook(job), { status: 'failed', rows });
      this.#notify({ ...job, status: 'failed', rowsWritten: rows, expiresAt: null }, log);
    } finally {
      clearInterval(heartbeat);
    }
  }

  #notify(job: ExportJob, log: ExportJobLog): void {
    if (!this.#o.webhookUrl) return;
    notifyExportWebhook(
      this.#o.webhookUrl,
      { id: job.id, status: job.status, rowsWritten: job.rowsWritten, downloadUrl: job.status === 'done' ? this.#o.links.url(job) : null, expiresAt: job.expiresAt },
      log,
    );
  }
}
