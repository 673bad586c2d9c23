import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import rateLimit from '@fastify/rate-limit';
import type { FastifyBaseLogger, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditEvent } from '@otel-audit/contract';
import { digestStream, signManifest, type AuditStore, type DigestSigner, type ExportJob, type ExportJobStore } from '@otel-audit/store';
import type { Authenticator, Caller } from '../auth.js';
import { ExportError } from '../errors.js';
import type { ExportFileStorage } from './export-files.js';
import { endLookWhenClosed, lookClient, lookSubject, type ExportLook, type LookRecorder, type LookSubject } from './look-recorder.js';
import { csvStream, writeXlsx, type ExportFormat } from './export-writers.js';
import {
  EVENT_QUERY_SCHEMA,
  parseEventQuery,
  requestedScope,
  scopeLabel,
  type EventQueryParams,
  type QueryLimits,
} from './event-query.js';

/** Settings of background exports (`ExportServiceOptions.jobs`). */
export interface BackgroundExportOptions {
  /** Job state, shared by every replica (SqliteExportJobStore, ElasticsearchExportJobStore). */
  store: ExportJobStore;
  /** Where finished files wait for their download. */
  files: ExportFileStorage;
  /** HMAC key of download links; at least 32 characters. */
  linkSecret: string;
  /** How long a finished export can be downloaded. Default: 24 h. */
  linkTtlMs?: number;
  /** Jobs this replica runs at once. Default: 2. */
  concurrency?: number;
  /** Told `{ id, status, rowsWritten, downloadUrl, expiresAt }` when a job ends. */
  webhookUrl?: string;
  /** Names this replica in the job store. Default: random per process. */
  workerId?: string;
  /** How often an idle runner looks for queued jobs. Default: 1000 ms. */
  pollIntervalMs?: number;
  /** `POST /v1/exports` per user and minute. Default: 10. */
  postsPerMinute?: number;
  /**
   * Signs a manifest of every finished export (SHA-256, size, rows, request, time), stored
   * beside the file and served at `/v1/exports/:id/manifest`. Default: none (no manifests).
   */
  signer?: DigestSigner | undefined;
}

/** What the export service shares with the plugin. */
export interface BackgroundExportContext {
  events: AuditStore;
  authenticate: Authenticator;
  limits: QueryLimits;
  parseFormat: (p: FormatFields) => ExportFormat;
  /** Records the start and end of every job, link download and manifest download. */
  looks: LookRecorder;
}

interface FormatFields {
  columns?: string;
  tz?: string;
  dateFormat?: string;
  delimiter?: string;
  bom?: string;
}

type ExportBody = EventQueryParams & FormatFields & { format: 'csv' | 'xlsx' };

export const BACKGROUND_EXPORT_DEFAULTS = {
  linkTtlMs: 24 * 3600 * 1000,
  concurrency: 2,
  pollIntervalMs: 1000,
  postsPerMinute: 10,
} as const;
/** A running job's worker writes its heartbeat this often… */
export const HEARTBEAT_INTERVAL_MS = 1000;
/** …and past this without one, its worker is taken for dead and the job is run again. */
export const STALE_AFTER_MS = 30_000;
const SWEEP_INTERVAL_MS = 60_000;
const WEBHOOK_TIMEOUT_MS = 5000;

const QUERY_KEYS = Object.keys(EVENT_QUERY_SCHEMA.properties) as (keyof EventQueryParams)[];
const FORMAT_KEYS = ['columns', 'tz', 'dateFormat', 'delimiter', 'bom'] as const;
/** Where the job keeps who asked, so the runner applies the scope the caller was granted. */
const CALLER_KEY = '_caller';
/** Where the job keeps the id of its `audit_log.export` record, which its end record names. */
const LOOK_KEY = '_lookStart';
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const CONTENT_TYPES = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
} as const;

const BODY_SCHEMA = {
  type: 'object',
  required: ['format'],
  additionalProperties: false,
  properties: {
    ...EVENT_QUERY_SCHEMA.properties,
    format: { type: 'string', enum: ['csv', 'xlsx'] },
    columns: { type: 'string', maxLength: 500 },
    tz: { type: 'string', maxLength: 64 },
    dateFormat: { type: 'string', maxLength: 32 },
    delimiter: { type: 'string', enum: [',', ';'] },
    bom: { type: 'string', enum: ['true', 'false', '1', '0'] },
  },
} as const;

const STATUS_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: ['queued', 'running', 'done', 'failed', 'expired'] },
    format: { type: 'string', enum: ['csv', 'xlsx'] },
    rowsWritten: { type: 'integer', description: 'Rows in the file so far (updated about once a second while running)' },
    total: { type: ['integer', 'null'], description: 'Rows the export will have; null until the job has counted them' },
    percent: { type: ['integer', 'null'], description: '0–100; null while queued and not yet counted' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    expiresAt: { type: ['string', 'null'], description: 'When the download link stops working' },
    linkTtlHours: { type: 'number', description: 'How long links of this service last' },
    downloadUrl: { type: 'string', description: 'Signed link, once done; needs no token' },
    // Listed, or the response serialiser drops it: only schema properties are sent.
    manifestUrl: { type: 'string', description: 'The signed manifest of the file, once done, where the service has a signing key (owner only)' },
    error: { type: 'string' },
  },
} as const;

/** Done is 100 whatever the counts say: rows may have arrived or gone between the count and the last page. */
function progressPercent(job: ExportJob): number | null {
  if (job.status === 'done') return 100;
  if (job.total === null) return null;
  if (job.total === 0) return 0;
  return Math.min(99, Math.floor((job.rowsWritten / job.total) * 100));
}

/** Why a job stopped without failing: the service is closing, or another worker took it. */
class Interrupted extends Error {}

/**
 * Background exports: `POST /v1/exports` queues a job, a runner in every replica compiles
 * it into the file storage, and the owner downloads it through a signed link that works
 * for `linkTtlMs` (the ProcessMaker flow "compiled in the background, the link is available
 * for 24 hours").
 */
export function backgroundExports(opts: BackgroundExportOptions & BackgroundExportContext): FastifyPluginAsync {
  const o = { ...BACKGROUND_EXPORT_DEFAULTS, ...definedOnly(opts) };
  if (o.linkSecret.length < 32) throw new Error('jobs.linkSecret must be at least 32 characters');
  const jobs = o.store;
  const workerId = o.workerId ?? `export-worker-${randomUUID()}`;

  const sign = (id: string, expires: number) => createHmac('sha256', o.linkSecret).update(`${id}.${expires}`).digest('hex');
  const downloadUrl = (job: ExportJob) => {
    const expires = Date.parse(job.expiresAt!);
    return `/v1/exports/${job.id}/download?expires=${expires}&signature=${sign(job.id, expires)}`;
  };

  /** Past its time: marked expired and its file removed, whoever notices first. */
  const expire = async (job: ExportJob, log: FastifyBaseLogger) => {
    if (job.status !== 'expired') await jobs.update(job.id, { status: 'expired', file: null });
    if (job.file) await o.files.delete(job.file).catch((err: unknown) => log.warn({ err, jobId: job.id }, 'could not delete an expired export file'));
    await o.files.delete(manifestName(job.id)).catch((err: unknown) => log.warn({ err, jobId: job.id }, 'could not delete an expired manifest'));
  };
  const isPast = (job: ExportJob) => job.status === 'expired' || (job.status === 'done' && job.expiresAt !== null && Date.parse(job.expiresAt) <= Date.now());

  /** The runner's view of the options, with its helpers. */
  interface RunnerOptions {
    concurrency: number;
    pollIntervalMs: number;
  }

  /**
   * Takes jobs from the shared store and compiles them, up to `concurrency` at once. Job
   * state lives in the store, so any replica may run any job; a job whose worker stops
   * sending heartbeats (the process died) is claimed again by the next runner and redone
   * from the start: files are only ever complete or absent, so redoing is how it resumes.
   */
  class Runner {
    readonly #active = new Map<string, { abort: AbortController; done: Promise<void> }>();
    #timers: NodeJS.Timeout[] = [];
    #filling = false;
    #again = false;
    #stopped = true;

    constructor(
      readonly jobs: ExportJobStore,
      readonly workerId: string,
      readonly options: RunnerOptions,
      readonly log: FastifyBaseLogger,
      readonly expireJob: (job: ExportJob, log: FastifyBaseLogger) => Promise<void>,
    ) {}

    start(): void {
      this.#stopped = false;
      this.#timers = [
        setInterval(() => this.nudge(), this.options.pollIntervalMs),
        setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS),
      ];
      for (const t of this.#timers) t.unref();
      this.nudge();
      void this.sweep();
    }

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

    async #fill(): Promise<void> {
      try {
        while (!this.#stopped && this.#active.size < this.options.concurrency) {
          const job = await this.jobs.claimNext(this.workerId, new Date(Date.now() - STALE_AFTER_MS).toISOString());
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
        this.log.error({ err }, 'could not claim an export job; retrying at the next poll');
      }
    }

    async sweep(): Promise<void> {
      try {
        for (const job of await this.jobs.list({ status: ['done'] })) if (isPast(job)) await this.expireJob(job, this.log);
      } catch (err) {
        this.log.error({ err }, 'export expiry sweep failed; retrying at the next one');
      }
    }

    async #requeue(id: string): Promise<void> {
      await this.jobs
        .update(id, { status: 'queued', worker: null, heartbeatAt: null, rowsWritten: 0 })
        .catch((err: unknown) => this.log.error({ err, jobId: id }, 'could not put an interrupted export back in the queue'));
    }

    async #run(job: ExportJob, signal: AbortSignal): Promise<void> {
      const log = this.log.child({ jobId: job.id });
      const file = `${job.id}.${job.format}`;
      let rows = 0;
      let heartbeat: NodeJS.Timeout | undefined;
      const abort = new AbortController();
      signal.addEventListener('abort', () => abort.abort(signal.reason), { once: true });
      try {
        const caller = JSON.parse(job.request[CALLER_KEY] ?? 'null') as Caller;
        const parsed = parseEventQuery(caller, pick(job.request as EventQueryParams, QUERY_KEYS), o.limits, 'asc');
        const format = o.parseFormat(job.request);
        const total = await o.events.count(parsed.query);
        await this.jobs.update(job.id, { total, rowsWritten: 0, error: null });
        heartbeat = setInterval(() => {
          void (async () => {
            const current = await this.jobs.get(job.id);
            // Another worker took the job over (ours looked dead): leave it to them.
            if (current?.worker !== this.workerId || current.status !== 'running') {
              abort.abort(new Interrupted('another worker took this export over'));
              return;
            }
            await this.jobs.update(job.id, { rowsWritten: rows, heartbeatAt: new Date().toISOString() });
          })().catch((err: unknown) => log.warn({ err }, 'export heartbeat failed'));
        }, HEARTBEAT_INTERVAL_MS);

        async function* counted(): AsyncIterable<AuditEvent> {
          for await (const event of o.events.query(parsed.query, abort.signal)) {
            rows += 1;
            yield event;
          }
        }
        if (job.format === 'csv') {
          const r = job.request;
          await o.files.put(file, csvStream(counted(), { ...format, delimiter: r.delimiter === ';' ? ';' : ',', bom: r.bom === 'true' || r.bom === '1' }));
        } else {
          const out = new PassThrough();
          await Promise.all([o.files.put(file, out), writeXlsx(counted(), out, format)]);
        }
        abort.signal.throwIfAborted();
        // Hashed from what storage holds, not from what was written: that is the file served.
        if (o.signer) {
          const manifest = await signManifest(
            {
              file,
              format: job.format,
              ...(await digestStream(o.files.read(file))),
              rows,
              request: Object.fromEntries(Object.entries(job.request).filter(([k]) => k !== CALLER_KEY && k !== LOOK_KEY)),
              requestedBy: caller.id,
              createdAt: new Date().toISOString(),
            },
            o.signer,
          );
          await o.files.put(manifestName(job.id), Readable.from([JSON.stringify(manifest, null, 2)]));
        }
        clearInterval(heartbeat);
        const expiresAt = new Date(Date.now() + o.linkTtlMs).toISOString();
        await this.jobs.update(job.id, { status: 'done', rowsWritten: rows, file, expiresAt, heartbeatAt: new Date().toISOString() });
        const finished: ExportJob = { ...job, status: 'done', rowsWritten: rows, total, file, expiresAt };
        log.info({ rows }, 'background export done');
        o.looks.end(jobLook(job), { status: 'completed', rows });
        this.#notify(finished, log);
      } catch (err) {
        const reason: unknown = abort.signal.aborted ? abort.signal.reason : err;
        if (reason instanceof Interrupted) {
          log.info({ reason: reason.message }, 'background export interrupted');
          if (signal.aborted) await this.#requeue(job.id);
          return;
        }
        log.error({ err }, 'background export failed');
        await o.files.delete(file).catch(() => undefined);
        // The owner sees a message of ours; the store's or the file system's own text stays in the log.
        const error =
          err instanceof ExportError ? err.message : 'the export could not be completed (the audit store or the file storage failed); start it again';
        await this.jobs
          .update(job.id, { status: 'failed', error, rowsWritten: rows, worker: null })
          .catch((updateErr: unknown) => log.error({ err: updateErr }, 'could not mark the export failed'));
        o.looks.end(jobLook(job), { status: 'failed', rows });
        this.#notify({ ...job, status: 'failed', rowsWritten: rows, expiresAt: null }, log);
      } finally {
        clearInterval(heartbeat);
      }
    }

    #notify(job: ExportJob, log: FastifyBaseLogger): void {
      if (!o.webhookUrl) return;
      const body = {
        id: job.id,
        status: job.status,
        rowsWritten: job.rowsWritten,
        downloadUrl: job.status === 'done' ? downloadUrl(job) : null,
        expiresAt: job.expiresAt,
      };
      // Fire and forget: the job is done whether or not anyone listens.
      fetch(o.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      })
        .then(async (res) => {
          await res.body?.cancel();
          if (!res.ok) log.warn({ status: res.status }, 'export webhook refused the notification');
        })
        .catch((err: unknown) => log.warn({ err }, 'export webhook failed'));
    }
  }

  return async (app: FastifyInstance) => {
    await jobs.init();
    const runner = new Runner(jobs, workerId, o, app.log, expire);
    app.addHook('onReady', async () => runner.start());
    app.addHook('onClose', async () => runner.stop());

    await app.register(rateLimit, { global: false, hook: 'preHandler' });
    const callers = new WeakMap<FastifyRequest, Caller>();

    app.post<{ Body: ExportBody }>(
      '/v1/exports',
      {
        schema: {
          summary: 'Start a background export; poll statusUrl, then download through the signed link',
          body: BODY_SCHEMA,
        },
        // Before validation and the limiter: the limit is per user, so the user must be known.
        preValidation: async (request) => {
          callers.set(request, await o.authenticate(request.headers.authorization));
        },
        config: {
          rateLimit: {
            max: o.postsPerMinute,
            timeWindow: 60_000,
            keyGenerator: (request: FastifyRequest) => `export-job:${callers.get(request)!.id}`,
            errorResponseBuilder: (_request: FastifyRequest, context: { max: number; after: string }) =>
              new ExportError('AUDIT_ERR_RATE_LIMITED', `at most ${context.max} background exports a minute; retry in ${context.after}`),
          },
        },
      },
      async (request, reply) => {
        const caller = callers.get(request)!;
        const body = request.body;
        const query = pick(body, QUERY_KEYS);
        // The same check as a direct download, before any job exists.
        const parsed = parseEventQuery(caller, query, o.limits, 'asc');
        o.parseFormat(body);
        const id = randomUUID();
        // Before the job exists (fail closed); the runner records its end, naming this record.
        const look = o.looks.start(lookSubject(request, caller, parsed), { delivery: 'job', format: body.format, jobId: id }, id);
        const now = new Date().toISOString();
        const job: ExportJob = {
          id,
          owner: caller.id,
          status: 'queued',
          format: body.format,
          request: {
            ...pick(body, [...QUERY_KEYS, ...FORMAT_KEYS]),
            // Pinned: a job that waits, or is redone after a crash, covers the window the caller saw.
            from: parsed.query.from.toISOString(),
            to: parsed.query.to.toISOString(),
            [CALLER_KEY]: JSON.stringify(caller),
            ...(look.startEventId ? { [LOOK_KEY]: look.startEventId } : {}),
          },
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
        try {
          await jobs.create(job);
        } catch (err) {
          request.log.error({ err }, 'could not create the export job');
          o.looks.end(look, { status: 'failed', rows: 0 });
          throw new ExportError('AUDIT_ERR_STORE_UNAVAILABLE');
        }
        runner.nudge();
        return reply.status(202).send({ id: job.id, status: job.status, statusUrl: `/v1/exports/${job.id}` });
      },
    );

    app.get<{ Params: { id: string } }>(
      '/v1/exports/:id',
      { schema: { summary: 'A background export: progress, then its download link', response: { 200: STATUS_SCHEMA } } },
      async (request) => {
      const caller = await o.authenticate(request.headers.authorization);
      const job = JOB_ID.test(request.params.id) ? await readJob(request.params.id, request.log) : undefined;
      // Someone else's job answers exactly like a job that does not exist.
      if (!job || job.owner !== caller.id) throw new ExportError('AUDIT_ERR_EXPORT_NOT_FOUND');
      if (isPast(job)) {
        await expire(job, request.log);
        throw new ExportError('AUDIT_ERR_EXPORT_EXPIRED');
      }
      return {
        id: job.id,
        status: job.status,
        format: job.format,
        rowsWritten: job.rowsWritten,
        total: job.total,
        percent: progressPercent(job),
        createdAt: job.createdAt,
        updatedAt: job.updatedAt,
        expiresAt: job.expiresAt,
        linkTtlHours: o.linkTtlMs / 3_600_000,
        ...(job.status === 'done' ? { downloadUrl: downloadUrl(job), ...(o.signer ? { manifestUrl: `/v1/exports/${job.id}/manifest` } : {}) } : {}),
        ...(job.error ? { error: job.error } : {}),
      };
      },
    );

    app.get<{ Params: { id: string } }>(
      '/v1/exports/:id/manifest',
      { schema: { summary: 'The signed manifest of a finished background export, for otel-audit verify-export' } },
      async (request, reply) => {
        const caller = await o.authenticate(request.headers.authorization);
        const job = JOB_ID.test(request.params.id) ? await readJob(request.params.id, request.log) : undefined;
        if (!job || job.owner !== caller.id || job.status !== 'done') throw new ExportError('AUDIT_ERR_EXPORT_NOT_FOUND');
        if (!(await o.files.exists(manifestName(job.id)))) throw new ExportError('AUDIT_ERR_EXPORT_NOT_FOUND');
        const look = o.looks.start({ ...jobSubject(job), client: lookClient(request) }, { delivery: 'manifest', format: job.format, jobId: job.id }, job.id);
        reply.header('content-type', 'application/json');
        reply.header('content-disposition', `attachment; filename="${job.id}.manifest.json"`);
        return reply.send(trackedFile(look, manifestName(job.id), undefined, request, reply));
      },
    );

    app.get<{ Params: { id: string }; Querystring: { expires?: string; signature?: string } }>(
      '/v1/exports/:id/download',
      { schema: { summary: 'The file of a finished background export; the signed link is the credential', security: [] } },
      async (request, reply) => {
        const { id } = request.params;
        const { expires = '', signature = '' } = request.query;
        // The signature first: without a valid one, nothing is said about the job.
        const given = /^[0-9a-f]{64}$/.test(signature) ? Buffer.from(signature, 'hex') : undefined;
        const valid = JOB_ID.test(id) && /^[0-9]{1,15}$/.test(expires) && given && timingSafeEqual(given, Buffer.from(sign(id, Number(expires)), 'hex'));
        if (!valid) throw new ExportError('AUDIT_ERR_LINK_INVALID');
        const job = await readJob(id, request.log);
        if (!job || job.status === 'failed') throw new ExportError('AUDIT_ERR_EXPORT_NOT_FOUND');
        if (Number(expires) <= Date.now() || isPast(job)) {
          await expire(job, request.log);
          throw new ExportError('AUDIT_ERR_EXPORT_EXPIRED');
        }
        if (job.status !== 'done' || !job.file || !(await o.files.exists(job.file))) throw new ExportError('AUDIT_ERR_EXPORT_NOT_FOUND');
        const params = job.request as EventQueryParams;
        const name = `audit-log_${scopeLabel(requestedScope(params))}_${params.from!.slice(0, 10)}_${params.to!.slice(0, 10)}.${job.format}`;
        reply.header('content-type', CONTENT_TYPES[job.format]);
        reply.header('content-disposition', `attachment; filename="${name}"`);
        reply.header('cache-control', 'private, no-store');
        // The link is the credential: the look is the owner's, from wherever it was used.
        const look = o.looks.start({ ...jobSubject(job), client: lookClient(request) }, { delivery: 'link', format: job.format, jobId: job.id, rowsMatching: job.rowsWritten }, job.id);
        return reply.send(trackedFile(look, job.file, job.rowsWritten, request, reply));
      },
    );

    /** A stored file as a response body whose end (completed, aborted or failed) is recorded. */
    function trackedFile(look: ExportLook, file: string, rows: number | undefined, request: FastifyRequest, reply: FastifyReply): Readable {
      let failure: unknown;
      const body = o.files.read(file);
      body.on('error', (err) => {
        failure ??= err;
        request.log.error({ err, jobId: look.details.jobId }, 'could not read an export file');
      });
      endLookWhenClosed(o.looks, look, request, reply, () => ({ failure, rows: reply.raw.writableFinished && failure === undefined ? rows : undefined }));
      return body;
    }

    async function readJob(id: string, log: FastifyBaseLogger): Promise<ExportJob | undefined> {
      try {
        return await jobs.get(id);
      } catch (err) {
        log.error({ err }, 'could not read the export job');
        throw new ExportError('AUDIT_ERR_STORE_UNAVAILABLE');
      }
    }
  };
}

const manifestName = (id: string) => `${id}.manifest.json`;

/** Who asked for a job, as the job recorded it (the owner's id alone for a job without it). */
function jobCaller(job: ExportJob): Pick<Caller, 'id' | 'name'> {
  try {
    const caller = JSON.parse(job.request[CALLER_KEY] ?? 'null') as Caller | null;
    if (caller?.id === job.owner) return { id: caller.id, ...(caller.name ? { name: caller.name } : {}) };
  } catch {
    // Falls back to the owner below.
  }
  return { id: job.owner };
}

/** A job's look, with the range pinned when it was queued and the client's own filters. */
function jobSubject(job: ExportJob): LookSubject {
  const params = job.request as EventQueryParams;
  const filters = Object.fromEntries(
    QUERY_KEYS.filter((k) => !['scope', 'workspace', 'user'].includes(k) && params[k] !== undefined && params[k] !== '').map((k) => [k, params[k]!]),
  );
  return { caller: jobCaller(job), scope: requestedScope(params), from: params.from ?? '', to: params.to ?? '', filters };
}

/** The look a job started when it was queued, for its end record. */
function jobLook(job: ExportJob): ExportLook {
  return {
    subject: jobSubject(job),
    details: { delivery: 'job', format: job.format, jobId: job.id },
    startEventId: job.request[LOOK_KEY],
    correlationId: job.id,
  };
}

function pick<T extends object, K extends keyof T>(from: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.filter((k) => from[k] !== undefined).map((k) => [k, from[k]])) as Pick<T, K>;
}

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
