/** The export service's error catalogue: stable codes, their HTTP status and a default message. */
export const EXPORT_ERRORS = {
  AUDIT_ERR_UNAUTHENTICATED: { status: 401, message: 'a valid bearer token is required' },
  AUDIT_ERR_SCOPE_FORBIDDEN: { status: 403, message: 'you are not allowed to see this scope' },
  AUDIT_ERR_INVALID_QUERY: { status: 400, message: 'invalid query parameters' },
  AUDIT_ERR_EXPORT_TOO_LARGE: { status: 413, message: 'too many rows for a direct download; start a background export' },
  AUDIT_ERR_EXPORT_NOT_FOUND: { status: 404, message: 'no such export' },
  AUDIT_ERR_EXPORT_EXPIRED: { status: 410, message: 'this export has expired; start a new one' },
  AUDIT_ERR_LINK_INVALID: { status: 403, message: 'this download link is not valid' },
  AUDIT_ERR_RATE_LIMITED: { status: 429, message: 'too many requests; retry later' },
  AUDIT_ERR_STORE_UNAVAILABLE: { status: 503, message: 'the audit store is unavailable; retry later' },
  // Fail closed: a look at the log that cannot itself be recorded is not allowed.
  AUDIT_ERR_AUDIT_UNAVAILABLE: { status: 503, message: 'this look at the audit log could not be recorded, so it is refused; retry later' },
  AUDIT_ERR_INTERNAL: { status: 500, message: 'internal error' },
} as const;
export type ExportErrorCode = keyof typeof EXPORT_ERRORS;

export class ExportError extends Error {
  readonly code: ExportErrorCode;
  readonly statusCode: number;

  constructor(code: ExportErrorCode, message: string = EXPORT_ERRORS[code].message) {
    super(message);
    this.name = 'ExportError';
    this.code = code;
    this.statusCode = EXPORT_ERRORS[code].status;
  }
}
