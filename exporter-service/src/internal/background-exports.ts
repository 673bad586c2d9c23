import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { AuditStore, DigestSigner, ExportJobStore } from '@otel-audit/store';
import type { Authenticator } from '../auth.js';
import type { ExportFileStorage } from '../export-file-storage.js';
import { ExportJobRunner } from './export-job-runner.js';
import type { FormatParams } from './format-params.js';
import { registerExportJobRoutes } from './export-job-routes.js';
import type { ExportFormat } from './export-writers.js';
import type { QueryLimits } from './event-query.js';
import type { LookRecorder } from './look-recorder.js';
import { SignedLinks } from './signed-links.js';

/** Settings of background exports (`ExportServiceOptions.jobs`). */
export interface BackgroundExportOptions {
  /** Job state, shared by every replica (SqliteExportJobStore, ElasticsearchExportJobStore). */
  store: ExportJobStore;
  /**
   * Where finished files wait for their download (DirectoryFileStorage, S3FileStorage).
   * Behind a load balancer every replica must reach the same files.
   */
  files: ExportFileStorage;
  /** HMAC key of download links; at least 32 characters. */
  linkSecret: string;
  /** How long a finished export can be downloaded. Default: 24 h. */
  linkTtlMs?: number | undefined;
  /** Jobs this replica runs at once. Default: 2. */
  concurrency?: number | undefined;
  /** Told `{ id, status, rowsWritten, downloadUrl, expiresAt }` when a job ends. */
  webhookUrl?: string | undefined;
  /** Names this replica in the job store. Default: random per process. */
  workerId?: string | undefined;
  /** How often an idle runner looks for queued jobs. Default: 1000 ms. */
  pollIntervalMs?: number | undefined;
  /** `POST /v1/exports` per user and minute. Default: 10. */
  postsPerMinute?: number | undefined;
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
  parseFormat: (p: FormatParams) => ExportFormat;
  /** Records the start and end of every job, link download and manifest download. */
  looks: LookRecorder;
}

export const BACKGROUND_EXPORT_DEFAULTS = {
  linkTtlMs: 24 * 3600 * 1000,
  concurrency: 2,
  pollIntervalMs: 1000,
  postsPerMinute: 10,
} as const;

/** The options with their defaults, applied here only (`??`: an explicit undefined keeps the default). */
function withDefaults(opts: BackgroundExportOptions) {
  return Object.freeze({
    linkTtlMs: opts.linkTtlMs ?? BACKGROUND_EXPORT_DEFAULTS.linkTtlMs,
    concurrency: opts.concurrency ?? BACKGROUND_EXPORT_DEFAULTS.concurrency,
    pollIntervalMs: opts.pollIntervalMs ?? BACKGROUND_EXPORT_DEFAULTS.pollIntervalMs,
    postsPerMinute: opts.postsPerMinute ?? BACKGROUND_EXPORT_DEFAULTS.postsPerMinute,
    workerId: opts.workerId ?? `export-worker-${randomUUID()}`,
  });
}

/**
 * Background exports: `POST /v1/exports` queues a job, a runner in every replica compiles
 * it into the file storage, and the owner downloads it through a signed link that works
 * for `linkTtlMs` (the ProcessMaker flow "compiled in the background, the link is available
 * for 24 hours").
 */
export function backgroundExports(opts: BackgroundExportOptions & BackgroundExportContext): FastifyPluginAsync {
  const settings = withDefaults(opts);
  const links = new SignedLinks(opts.linkSecret);
  const { store: jobs, files, events, limits, parseFormat, looks } = opts;

  return async (app: FastifyInstance) => {
    await jobs.init();
    // Before the first request: a bucket that cannot be reached fails the start, not the first job.
    await files.init?.();
    const runner = new ExportJobRunner({
      jobs,
      files,
      events,
      limits,
      parseFormat,
      looks,
      links,
      log: app.log,
      workerId: settings.workerId,
      concurrency: settings.concurrency,
      pollIntervalMs: settings.pollIntervalMs,
      linkTtlMs: settings.linkTtlMs,
      webhookUrl: opts.webhookUrl,
      signer: opts.signer,
    });
    app.addHook('onReady', async () => runner.start());
    app.addHook('onClose', async () => runner.stop());
    await registerExportJobRoutes(app, {
      jobs,
      files,
      links,
      looks,
      authenticate: opts.authenticate,
      limits,
      parseFormat,
      linkTtlMs: settings.linkTtlMs,
      postsPerMinute: settings.postsPerMinute,
      manifests: opts.signer !== undefined,
      runner,
    });
  };
}
