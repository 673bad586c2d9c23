import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import rateLimit from '@fastify/rate-limit';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ExportJob, ExportJobStore } from '@otel-audit/store';
import type { Authenticator, Caller } from '../auth.js';
import { ExportError } from '../errors.js';
import type { ExportFileStorage } from '../export-file-storage.js';
import { expireExport, isExpired } from './export-expiry.js';
import { pick } from './defined-only.js';
import { CALLER_KEY, FORMAT_KEYS, JOB_ID, LOOK_KEY, QUERY_KEYS, jobSubject, queuedExportJob, type ExportBody } from './export-job-request.js';
import { EXPORT_JOB_BODY_SCHEMA, EXPORT_JOB_STATUS_SCHEMA, progressPercent } from './export-job-schemas.js';
import { manifestName } from './export-manifests.js';
import type { ExportFormat } from './export-writers.js';
import { EXPORT_CONTENT_TYPES, exportFileName, type FormatParams } from './format-params.js';
import { parseEventQuery, requestedScope, scopeLabel, type EventQueryParams, type QueryLimits } from './event-query.js';
import { endLookWhenClosed, lookClient, lookSubject, type ExportLook, type LookRecorder } from './look-recorder.js';
import type { SignedLinks } from './signed-links.js';
import { fromStore } from './store-unavailable.js';

export interface ExportJobRouteOptions {
  jobs: ExportJobStore;
  files: ExportFileStorage;
  links: SignedLinks;
  looks: LookRecorder;
  authenticate: Authenticator;
  limits: QueryLimits;
  parseFormat: (p: FormatParams) => ExportFormat;
  linkTtlMs: number;
  postsPerMinute: number;
  /** Whether finished jobs have a signed manifest. */
  manifests: boolean;
  /** Told when a job is queued, so that it starts without waiting for the next poll. */
  runner: { nudge(): void };
}

/** The four routes of background exports: queue, status, signed manifest, signed download. */
export async function registerExportJobRoutes(app: FastifyInstance, o: ExportJobRouteOptions): Promise<void> {
  const { jobs, files, links, looks } = o;
  await app.register(rateLimit, { global: false, hook: 'preHandler' });
  const callers = new WeakMap<FastifyRequest, Caller>();

  app.post<{ Body: ExportBody }>(
    '/v1/exports',
    {
      schema: {
        summary: 'Start a background export; poll statusUrl, then download through the signed link',
        body: EXPORT_JOB_BODY_SCHEMA,
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
      // The same check as a direct download, before any job exists.
      const parsed = parseEventQuery(caller, pick(body, QUERY_KEYS), o.limits, 'asc');
      o.parseFormat(body);
      const id = randomUUID();
      // Before the job exists (fail closed); the runner records its end, naming this record.
      const look = looks.start(lookSubject(request, caller, parsed), { delivery: 'job', format: body.format, jobId: id }, id);
      const job = queuedExportJob({
        id,
        owner: caller.id,
        format: body.format,
        request: {
          ...pick(body, [...QUERY_KEYS, ...FORMAT_KEYS]),
          // Pinned: a job that waits, or is redone after a crash, covers the window the caller saw.
          from: parsed.query.from.toISOString(),
          to: parsed.query.to.toISOString(),
          [CALLER_KEY]: JSON.stringify(caller),
          ...(look.startEventId ? { [LOOK_KEY]: look.startEventId } : {}),
        },
      });
      await fromStore(request.log, 'creating the export job', () => jobs.create(job), () => looks.end(look, { status: 'failed', rows: 0 }));
      o.runner.nudge();
      return reply.status(202).send({ id: job.id, status: job.status, statusUrl: `/v1/exports/${job.id}` });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/exports/:id',
    { schema: { summary: 'A background export: progress, then its download link', response: { 200: EXPORT_JOB_STATUS_SCHEMA } } },
    async (request) => {
      const caller = await o.authenticate(request.headers.authorization);
      const job = JOB_ID.test(request.params.id) ? await readJob(request.params.id, request.log) : undefined;
      // Someone else's job answers exactly like a job that does not exist.
      if (!job || job.owner !== caller.id) throw new ExportError('AUDIT_ERR_EXPORT_NOT_FOUND');
      if (isExpired(job)) {
        await expireExport(job, o, request.log);
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
        ...(job.status === 'done' ? { downloadUrl: links.url(job), ...(o.manifests ? { manifestUrl: `/v1/exports/${job.id}/manifest` } : {}) } : {}),
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
      const body = await openFile(manifestName(job.id), request.log);
      const look = startOrClose(body, () =>
        looks.start({ ...jobSubject(job), client: lookClient(request) }, { delivery: 'manifest', format: job.format, jobId: job.id }, job.id),
      );
      reply.header('content-type', 'application/json');
      reply.header('content-disposition', `attachment; filename="${job.id}.manifest.json"`);
      return reply.send(tracked(look, body, undefined, request, reply));
    },
  );

  app.get<{ Params: { id: string }; Querystring: { expires?: string; signature?: string } }>(
    '/v1/exports/:id/download',
    { schema: { summary: 'The file of a finished background export; the signed link is the credential', security: [] } },
    async (request, reply) => {
      const { id } = request.params;
      const { expires = '', signature = '' } = request.query;
      // The signature first: without a valid one, nothing is said about the job.
      if (!links.verify(id, expires, signature)) throw new ExportError('AUDIT_ERR_LINK_INVALID');
      const job = await readJob(id, request.log);
      if (!job || job.status === 'failed') throw new ExportError('AUDIT_ERR_EXPORT_NOT_FOUND');
      if (Number(expires) <= Date.now() || isExpired(job)) {
        await expireExport(job, o, request.log);
        throw new ExportError('AUDIT_ERR_EXPORT_EXPIRED');
      }
      if (job.status !== 'done' || !job.file) throw new ExportError('AUDIT_ERR_EXPORT_NOT_FOUND');
      // Opened before any header: a file that is gone is a clean 404, storage that is down a 503.
      const body = await openFile(job.file, request.log);
      const params = job.request as EventQueryParams;
      const name = exportFileName(scopeLabel(requestedScope(params)), params.from!, params.to!, job.format);
      // The link is the credential: the look is the owner's, from wherever it was used.
      const look = startOrClose(body, () =>
        looks.start({ ...jobSubject(job), client: lookClient(request) }, { delivery: 'link', format: job.format, jobId: job.id, rowsMatching: job.rowsWritten }, job.id),
      );
      reply.header('content-type', EXPORT_CONTENT_TYPES[job.format]);
      reply.header('content-disposition', `attachment; filename="${name}"`);
      reply.header('cache-control', 'private, no-store');
      return reply.send(tracked(look, body, job.rowsWritten, request, reply));
    },
  );

  /** A stored file as a response body whose end (completed, aborted or failed) is recorded. */
  function tracked(look: ExportLook, body: Readable, rows: number | undefined, request: FastifyRequest, reply: FastifyReply): Readable {
    let failure: unknown;
    body.on('error', (err) => {
      failure ??= err;
      request.log.error({ err, jobId: look.details.jobId }, 'could not read an export file');
    });
    endLookWhenClosed(looks, look, request, reply, () => ({ failure, rows: reply.raw.writableFinished && failure === undefined ? rows : undefined }));
    return body;
  }

  /** Starts the look of an opened file; a look that cannot be recorded closes the file it would have sent. */
  function startOrClose(body: Readable, start: () => ExportLook): ExportLook {
    try {
      return start();
    } catch (err) {
      body.destroy();
      throw err;
    }
  }

  /** A stored file; absent is 404, the storage's own failure a 503 whose detail stays in the log. */
  async function openFile(name: string, log: FastifyBaseLogger): Promise<Readable> {
    try {
      return await files.read(name);
    } catch (err) {
      if (err instanceof ExportError) throw err;
      log.error({ err, file: name }, 'could not open an export file');
      throw new ExportError('AUDIT_ERR_STORE_UNAVAILABLE');
    }
  }

  function readJob(id: string, log: FastifyBaseLogger): Promise<ExportJob | undefined> {
    return fromStore(log, 'reading the export job', () => jobs.get(id));
  }
}
