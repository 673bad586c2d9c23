import { AuditError } from '../errors.js';

/**
 * What `flush()` and `shutdown()` reject with (as the AUDIT_ERR_DELIVERY_FAILED error's
 * `details`) when their deadline passed before the collector acknowledged everything.
 */
export interface UndeliveredReport {
  /** Records not acknowledged by the collector: exactly the ones it may not have. */
  undelivered: number;
  /**
   * Where they are now. `spool`: in `spoolDir`, sent by the next logger that opens it.
   * `memory`: still queued (after flush()), retried with backoff. `dropped`: held in
   * memory only, gone with shutdown().
   */
  kept: 'spool' | 'memory' | 'dropped';
  spoolDir?: string;
  /** The deadline that passed. */
  timeoutMillis: number;
  /** The last failed export's reason, when one failed. */
  lastError?: string;
}

/** The AUDIT_ERR_DELIVERY_FAILED error that flush() and shutdown() reject with; its details are the report. */
export function undeliveredError(r: { undelivered: number; kept: UndeliveredReport['kept']; spoolDir?: string | undefined; timeoutMillis: number; lastError?: Error | undefined }): AuditError {
  const report: UndeliveredReport = {
    undelivered: r.undelivered,
    kept: r.kept,
    ...(r.spoolDir ? { spoolDir: r.spoolDir } : {}),
    timeoutMillis: r.timeoutMillis,
    ...(r.lastError ? { lastError: r.lastError.message } : {}),
  };
  const where = {
    spool: `they stay in the spool ${r.spoolDir} and are sent by the next logger that opens it`,
    memory: 'they stay queued in memory and are retried',
    dropped: 'they were held in memory only and are dropped (a spool keeps them for the next start)',
  }[r.kept];
  const last = r.lastError ? ` (last error: ${r.lastError.message})` : '';
  return new AuditError(
    'AUDIT_ERR_DELIVERY_FAILED',
    `${r.undelivered} audit record(s) not acknowledged by the collector within ${r.timeoutMillis} ms${last}; ${where}`,
    { ...report },
    r.lastError,
  );
}
