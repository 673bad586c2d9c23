import type { ExportJob } from '@otel-audit/store';
import type { ExportJobLog } from './export-job-runner.js';

const WEBHOOK_TIMEOUT_MS = 5000;

/** What the completion webhook is told when a job ends. */
export interface ExportWebhookBody {
  id: string;
  status: ExportJob['status'];
  rowsWritten: number;
  /** The signed link (a path on the export service) when done; null when failed. */
  downloadUrl: string | null;
  expiresAt: string | null;
}

/**
 * POSTs `body` to the webhook. Fire and forget: the job is done whether or not anyone
 * listens, so a refusal or a failure is only logged.
 */
export function notifyExportWebhook(url: string, body: ExportWebhookBody, log: ExportJobLog): void {
  fetch(url, {
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
