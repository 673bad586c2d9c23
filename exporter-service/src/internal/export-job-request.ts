import type { ExportJob } from '@otel-audit/store';
import type { Caller } from '../auth.js';
import type { ExportLook, LookSubject } from './look-recorder.js';
import { EVENT_QUERY_SCHEMA, requestedScope, type EventQueryParams } from './event-query.js';
import { FORMAT_PARAMS_SCHEMA, type FormatParams } from './format-params.js';

/** A background export's body: a download's query and format parameters, plus the format. */
export type ExportBody = EventQueryParams & FormatParams & { format: 'csv' | 'xlsx' };

export const QUERY_KEYS = Object.keys(EVENT_QUERY_SCHEMA.properties) as (keyof EventQueryParams)[];
export const FORMAT_KEYS = Object.keys(FORMAT_PARAMS_SCHEMA) as (keyof FormatParams)[];
/** Where the job keeps who asked, so the runner applies the scope the caller was granted. */
export const CALLER_KEY = '_caller';
/** Where the job keeps the id of its `audit_log.export` record, which its end record names. */
export const LOOK_KEY = '_lookStart';
export const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The caller a job was queued for, as it recorded them (their scope is applied when it runs). */
export function jobRequester(job: ExportJob): Caller {
  return JSON.parse(job.request[CALLER_KEY] ?? 'null') as Caller;
}

/** Who asked for a job, as the job recorded it (the owner's id alone for a job without it). */
export function jobCaller(job: ExportJob): Pick<Caller, 'id' | 'name'> {
  try {
    const caller = JSON.parse(job.request[CALLER_KEY] ?? 'null') as Caller | null;
    if (caller?.id === job.owner) return { id: caller.id, ...(caller.name ? { name: caller.name } : {}) };
  } catch {
    // Falls back to the owner below.
  }
  return { id: job.owner };
}

/** A job's look, with the range pinned when it was queued and the client's own filters. */
export function jobSubject(job: ExportJob): LookSubject {
  const params = job.request as EventQueryParams;
  const filters = Object.fromEntries(
    QUERY_KEYS.filter((k) => !['scope', 'workspace', 'user'].includes(k) && params[k] !== undefined && params[k] !== '').map((k) => [k, params[k]!]),
  );
  return { caller: jobCaller(job), scope: requestedScope(params), from: params.from ?? '', to: params.to ?? '', filters };
}

/** The look a job started when it was queued, for its end record. */
export function jobLook(job: ExportJob): ExportLook {
  return {
    subject: jobSubject(job),
    details: { delivery: 'job', format: job.format, jobId: job.id },
    startEventId: job.request[LOOK_KEY],
    correlationId: job.id,
  };
}

/** The request as a manifest shows it: without the recorded caller and look. */
export function publicRequest(job: ExportJob): Record<string, string> {
  return Object.fromEntries(Object.entries(job.request).filter(([k]) => k !== CALLER_KEY && k !== LOOK_KEY));
}

/** A job as queued: nothing run, counted or written yet. */
export function queuedExportJob(fields: Pick<ExportJob, 'id' | 'owner' | 'format' | 'request'>, now = new Date().toISOString()): ExportJob {
  return {
    ...fields,
    status: 'queued',
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
}
