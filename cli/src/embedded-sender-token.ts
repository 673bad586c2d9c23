import { randomBytes } from 'node:crypto';
import { AUDIT_LOG_SERVICE_NAME } from '@otel-audit/exporter-service';

type Entry = readonly [token: string, serviceName: string, ...rest: unknown[]];

/**
 * `otel-audit start` runs the collector and the export service in one process. When the
 * collector checks sender tokens, the export service needs one of its own for
 * `AUDIT_LOG_SERVICE_NAME`, or every record of a look at the log is refused: it uses
 * `AUDIT_EXPORT_SENDER_TOKEN` when set (added to the collector's tokens if absent), else a
 * random token made for this process only, which therefore never needs configuring.
 */
export function embeddedSenderToken<E extends Entry>(senderTokens: readonly E[], configured: string | undefined): { token: string | undefined; senderTokens: (E | [string, string])[] } {
  if (senderTokens.length === 0) return { token: configured, senderTokens: [...senderTokens] };
  const token = configured ?? randomBytes(32).toString('base64url');
  const listed = senderTokens.find(([t]) => t === token);
  if (listed && listed[1] !== AUDIT_LOG_SERVICE_NAME) {
    // Its records would be refused as a forgery of the reserved audit_log.* actions.
    throw new Error(
      `AUDIT_EXPORT_SENDER_TOKEN is listed in the collector's sender tokens for service.name ${JSON.stringify(listed[1])}; it must be for ${JSON.stringify(AUDIT_LOG_SERVICE_NAME)}`,
    );
  }
  return { token, senderTokens: listed ? [...senderTokens] : [...senderTokens, [token, AUDIT_LOG_SERVICE_NAME]] };
}
