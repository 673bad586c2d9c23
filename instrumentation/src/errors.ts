import { CodedError, type ErrorCatalogueEntry } from '@otel-audit/contract';

/**
 * The instrumentation's error catalogue. Codes are stable: match on `code`, not on
 * the message. Delivery problems never throw from `record()`; they surface from
 * `flush()` / `shutdown()` as AUDIT_ERR_DELIVERY_FAILED. No HTTP applies, so no status.
 * docs/errors.md is generated from it (npx tsx scripts/write-error-docs.ts).
 */
export const AUDIT_ERRORS = {
  AUDIT_ERR_INVALID_EVENT: {
    message: 'the audit event is invalid',
    when: '`record()` was given an event that breaks the contract (a programming error); the message names each bad field',
  },
  AUDIT_ERR_DELIVERY_FAILED: {
    message: 'the collector did not acknowledge some records',
    when: '`flush()` or `shutdown()` reached its deadline with records the collector had not acknowledged; `details` give the count and where they are (still queued after `flush()`, in the spool, or dropped by `shutdown()` without one)',
  },
  AUDIT_ERR_QUEUE_FULL: {
    message: 'the audit delivery queue is full',
    when: 'the delivery queue or spool is at its bounds: `record()` refuses the event, `recordAsync()` waited in vain',
  },
  AUDIT_ERR_SPOOL_LOCKED: { message: 'another live process owns the spool folder', when: 'another live process owns the spool folder' },
  AUDIT_ERR_SHUT_DOWN: { message: 'the audit logger is shut down', when: '`record()` after `shutdown()`' },
} as const satisfies Record<string, ErrorCatalogueEntry>;
export type AuditErrorCode = keyof typeof AUDIT_ERRORS;

/** Each code under its own name: `ERROR_CODES.AUDIT_ERR_QUEUE_FULL === 'AUDIT_ERR_QUEUE_FULL'`. */
export const ERROR_CODES = Object.freeze(Object.fromEntries(Object.keys(AUDIT_ERRORS).map((code) => [code, code]))) as {
  readonly [C in AuditErrorCode]: C;
};

export class AuditError extends CodedError<AuditErrorCode> {
  readonly details: Record<string, unknown>;

  constructor(code: AuditErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(code, message, { cause });
    this.details = details;
  }
}
