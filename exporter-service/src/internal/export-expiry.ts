import type { ExportJob, ExportJobStore } from '@otel-audit/store';
import type { ExportFileStorage } from '../export-file-storage.js';
import type { ExportJobLog } from './export-job-runner.js';
import { manifestName } from './export-manifests.js';

/** Whether a job's link has stopped working: marked expired, or done and past `expiresAt`. */
export function isExpired(job: ExportJob, now = Date.now()): boolean {
  return job.status === 'expired' || (job.status === 'done' && job.expiresAt !== null && Date.parse(job.expiresAt) <= now);
}

/**
 * Deletes an expired job's file and manifest, then marks it expired, whoever notices first:
 * the sweep of any replica, or a request for it. The job is marked only once both are gone:
 * a deletion that fails (the object storage is down) leaves it done and past its time, so
 * requests still get 410 and the next sweep tries again, instead of forgetting the file.
 */
export async function expireExport(job: ExportJob, where: { jobs: ExportJobStore; files: ExportFileStorage }, log: ExportJobLog): Promise<void> {
  try {
    if (job.file) await where.files.delete(job.file);
    await where.files.delete(manifestName(job.id));
  } catch (err) {
    log.warn({ err, jobId: job.id }, 'could not delete an expired export file; the next expiry sweep tries again');
    return;
  }
  if (job.status !== 'expired' || job.file !== null) await where.jobs.update(job.id, { status: 'expired', file: null });
}
