import { CodedError, type ErrorCatalogueEntry } from '@otel-audit/contract';

/**
 * The export service's error catalogue: stable codes, their HTTP status and a default message.
 * docs/errors.md is generated from it (npx tsx scripts/write-error-docs.ts).
 */
export const EXPORT_ERRORS = {
  AUDIT_ERR_UNAUTHENTICATED: {
    status: 401,
    message: 'a valid bearer token is required',
    when: 'no bearer token, or a token that is invalid, expired or lives longer than `AUDIT_JWT_MAX_TTL_HOURS`',
  },
  AUDIT_ERR_SCOPE_FORBIDDEN: { status: 403, message: 'you are not allowed to see this scope', when: 'the caller may not see that scope' },
  AUDIT_ERR_INVALID_QUERY: {
    status: 400,
    message: 'invalid query parameters',
    when: 'a bad query parameter or body field, named in the message (`from`, `tz`, `columns`, `ip`, …)',
  },
  AUDIT_ERR_EXPORT_TOO_LARGE: {
    status: 413,
    message: 'too many rows for a direct download; start a background export',
    when: 'more rows than `AUDIT_EXPORT_ROW_CAP` for a direct download: use a background export',
  },
  AUDIT_ERR_EXPORT_NOT_FOUND: { status: 404, message: 'no such export', when: "no such background export, or it is someone else's (the same answer)" },
  AUDIT_ERR_EXPORT_EXPIRED: { status: 410, message: 'this export has expired; start a new one', when: "the export's link time is over; its file is deleted" },
  AUDIT_ERR_LINK_INVALID: { status: 403, message: 'this download link is not valid', when: 'a download link whose signature does not match' },
  AUDIT_ERR_MALFORMED_REQUEST: { status: 400, message: 'the request is not well-formed HTTP', when: 'the HTTP parser refused the request before any route saw it; the connection is closed after the answer' },
  AUDIT_ERR_REQUEST_TOO_LARGE: {
    status: 431,
    message: 'the request line and headers are over 16 KiB; send fewer or shorter query parameters',
    when: 'the request line and headers together are over Node.js\'s 16 KiB limit (a very long query string); the connection is closed after the answer',
  },
  AUDIT_ERR_ROUTE_NOT_FOUND: { status: 404, message: 'no such path', when: 'a path the service does not have (the answer names the method and the path, a signed link\'s signature redacted)' },
  AUDIT_ERR_METHOD_NOT_ALLOWED: {
    status: 405,
    message: 'this path does not take this method; the Allow header names those it takes',
    when: 'a method the path does not take; the `Allow` header lists those it does',
  },
  AUDIT_ERR_RATE_LIMITED: {
    status: 429,
    message: 'too many requests; retry later',
    when: 'too many background exports started by one user in a minute; with `Retry-After`',
  },
  AUDIT_ERR_STORE_UNAVAILABLE: {
    status: 503,
    message: 'the audit store is unavailable; retry later',
    when: 'the store did not answer; its own error text stays in the service log, never in the answer',
  },
  // Fail closed: a look at the log that cannot itself be recorded is not allowed.
  AUDIT_ERR_AUDIT_UNAVAILABLE: {
    status: 503,
    message: 'this look at the audit log could not be recorded, so it is refused; retry later',
    when: "this look at the log could not be recorded (the service's audit spool refused it), so it is refused before any row is sent; with `Retry-After`",
  },
  AUDIT_ERR_INTERNAL: { status: 500, message: 'internal error', when: 'anything else; the details stay in the service log' },
} as const satisfies Record<string, ErrorCatalogueEntry & { status: number }>;
export type ExportErrorCode = keyof typeof EXPORT_ERRORS;

export class ExportError extends CodedError<ExportErrorCode> {
  declare readonly statusCode: number;

  constructor(code: ExportErrorCode, message: string = EXPORT_ERRORS[code].message, cause?: unknown) {
    super(code, message, { statusCode: EXPORT_ERRORS[code].status, cause });
  }
}
