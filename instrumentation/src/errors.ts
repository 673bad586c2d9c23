/**
 * The instrumentation's error catalogue. Codes are stable: match on `code`, not on
 * the message. Delivery problems never throw from `record()`; they surface from
 * `flush()` / `shutdown()` as AUDIT_ERR_DELIVERY_FAILED.
 */
export const ERROR_CODES = {
  /** The event breaks the contract: a programmer error, thrown by `record()`. */
  AUDIT_ERR_INVALID_EVENT: 'AUDIT_ERR_INVALID_EVENT',
  /** The collector did not acknowledge some records; `flush()` rejects with it. */
  AUDIT_ERR_DELIVERY_FAILED: 'AUDIT_ERR_DELIVERY_FAILED',
  /** The delivery queue or spool is at its bounds: `record()` refuses, `recordAsync()` waited in vain. */
  AUDIT_ERR_QUEUE_FULL: 'AUDIT_ERR_QUEUE_FULL',
  /** Another live process owns the spool folder. */
  AUDIT_ERR_SPOOL_LOCKED: 'AUDIT_ERR_SPOOL_LOCKED',
  /** `record()` after `shutdown()`. */
  AUDIT_ERR_SHUT_DOWN: 'AUDIT_ERR_SHUT_DOWN',
} as const;
export type AuditErrorCode = keyof typeof ERROR_CODES;

export class AuditError extends Error {
  readonly code: AuditErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: AuditErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'AuditError';
    this.code = code;
    this.details = details;
  }
}
