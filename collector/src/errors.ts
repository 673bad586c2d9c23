import { CodedError, type ErrorCatalogueEntry } from '@otel-audit/contract';

/**
 * The collector's error catalogue: stable codes with their HTTP status. OTLP clients
 * retry 429, 502, 503 and 504 (the OTLP/HTTP specification), so only store trouble
 * maps onto those; everything the sender must fix is a 4xx it will not retry.
 * docs/errors.md is generated from it (npx tsx scripts/write-error-docs.ts).
 */
export const COLLECTOR_ERRORS = {
  AUDIT_ERR_BAD_REQUEST: {
    status: 400,
    message: 'the request body is not a valid OTLP logs request',
    when: 'the body is not an OTLP logs or traces request (JSON or protobuf)',
  },
  AUDIT_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'unsupported Content-Type', when: 'a content type or encoding the collector does not speak' },
  AUDIT_ERR_BODY_TOO_LARGE: {
    status: 413,
    message: 'the request body is larger than the limit',
    when: 'over `AUDIT_COLLECTOR_BODY_LIMIT`, also while inflating gzip',
  },
  AUDIT_ERR_STORE_UNAVAILABLE: {
    status: 503,
    message: 'the audit store is unavailable; retry later',
    when: 'the store did not take the batch and the spool could not either (full, or none); with `Retry-After`. OTLP clients retry, and event ids make the retry harmless',
  },
  AUDIT_ERR_SPOOL_DISK_FULL: {
    status: 503,
    message: "the audit store is unavailable and the spool's disk is full; retry later",
    when: "the store did not take the batch and the spool's disk is full (`ENOSPC`, `EDQUOT`, `EFBIG`); with `Retry-After`",
  },
  AUDIT_ERR_SPOOL_WRITE_FAILED: {
    status: 503,
    message: 'the audit store is unavailable and the spool cannot write; retry later',
    when: 'the same for any other write or fsync failure of the spool (`EIO`, `EROFS`, …); with `Retry-After`',
  },
  AUDIT_ERR_SENDER_UNAUTHENTICATED: {
    status: 401,
    message: 'a valid sender token is required',
    when: 'sender tokens are on and the request has no known one',
  },
  AUDIT_ERR_SENDER_FORBIDDEN: {
    status: 403,
    message: 'this sender token may not write for that service.name',
    when: "the sender token may not write for a record's `service.name` (a record with an action the token may not write is refused on its own, in `partial_success`)",
  },
  AUDIT_ERR_RATE_LIMITED: {
    status: 429,
    message: 'this sender sent too many requests; retry later',
    when: 'more than `AUDIT_COLLECTOR_RATE_LIMIT` requests a minute from one sender; with `Retry-After` (OTLP/gRPC: `RESOURCE_EXHAUSTED`)',
  },
} as const satisfies Record<string, ErrorCatalogueEntry & { status: number }>;
export type CollectorErrorCode = keyof typeof COLLECTOR_ERRORS;

export class CollectorError extends CodedError<CollectorErrorCode> {
  declare readonly statusCode: number;

  constructor(code: CollectorErrorCode, message: string = COLLECTOR_ERRORS[code].message, cause?: unknown) {
    super(code, message, { statusCode: COLLECTOR_ERRORS[code].status, cause });
  }
}
