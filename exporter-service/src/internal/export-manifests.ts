import { Readable } from 'node:stream';
import { digestStream, signManifest, type DigestSigner, type ExportJob } from '@otel-audit/store';
import type { ExportFileStorage } from '../export-file-storage.js';
import { publicRequest } from './export-job-request.js';

/** Where a job's signed manifest is stored, beside its file. */
export const manifestName = (jobId: string): string => `${jobId}.manifest.json`;

/**
 * Signs and stores the manifest of a finished export (SHA-256, size, rows, request, time).
 * Hashed from what storage holds, not from what was written: that is the file served.
 */
export async function writeExportManifest(
  files: ExportFileStorage,
  signer: DigestSigner,
  job: ExportJob,
  done: { file: string; rows: number; requestedBy: string },
): Promise<void> {
  const manifest = await signManifest(
    {
      file: done.file,
      format: job.format,
      ...(await digestStream(await files.read(done.file))),
      rows: done.rows,
      request: publicRequest(job),
      requestedBy: done.requestedBy,
      createdAt: new Date().toISOString(),
    },
    signer,
  );
  await files.put(manifestName(job.id), Readable.from([JSON.stringify(manifest, null, 2)]));
}
