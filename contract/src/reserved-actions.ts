/**
 * Actions only the export service may write: they are the record of who looked at the log
 * (`audit_log.search`, `audit_log.export`). A sender that could write them could forge or
 * hide those records, so the collector refuses them from any other sender by default.
 */
export const AUDIT_LOG_SERVICE_NAME = 'otel-audit-export-service';

/** Action prefixes reserved for `AUDIT_LOG_SERVICE_NAME`. */
export const RESERVED_ACTION_PREFIXES = ['audit_log.'] as const;

export function isReservedAction(action: string): boolean {
  return RESERVED_ACTION_PREFIXES.some((p) => action.startsWith(p));
}
