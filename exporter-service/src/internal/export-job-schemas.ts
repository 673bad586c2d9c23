import type { ExportJob } from '@otel-audit/store';
import { EVENT_QUERY_SCHEMA } from './event-query.js';
import { FORMAT_PARAMS_SCHEMA } from './format-params.js';

/** `POST /v1/exports`: the download's query and format fields, plus the format. */
export const EXPORT_JOB_BODY_SCHEMA = {
  type: 'object',
  required: ['format'],
  additionalProperties: false,
  properties: {
    ...EVENT_QUERY_SCHEMA.properties,
    format: { type: 'string', enum: ['csv', 'xlsx'] },
    ...FORMAT_PARAMS_SCHEMA,
  },
} as const;

/** `GET /v1/exports/:id`. */
export const EXPORT_JOB_STATUS_SCHEMA = {
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
export function progressPercent(job: ExportJob): number | null {
  if (job.status === 'done') return 100;
  if (job.total === null) return null;
  if (job.total === 0) return 0;
  return Math.min(99, Math.floor((job.rowsWritten / job.total) * 100));
}
