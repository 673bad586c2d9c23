/**
 * The collector's error catalogue: stable codes with their HTTP status. OTLP clients
 * retry 429, 502, 503 and 504 (the OTLP/HTTP specification), so only store trouble
 * maps onto those; everything the sender must fix is a 4xx it will not retry.
 */
export const COLLECTOR_ERRORS = {
  AUDIT_ERR_BAD_REQUEST: { status: 400, message: 'the request body is not a valid OTLP logs request' },
  AUDIT_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'unsupported Content-Type' },
  AUDIT_ERR_BODY_TOO_LARGE: { status: 413, message: 'the request body is larger than the limit' },
  AUDIT_ERR_STORE_UNAVAILABLE: { status: 503, message: 'the audit store is unavailable; retry later' },
  AUDIT_ERR_SPOOL_DISK_FULL: { status: 503, message: "the audit store is unavailable and the spool's disk is full; retry later" },
  AUDIT_ERR_SPOOL_WRITE_FAILED: { status: 503, message: 'the audit store is unavailable and the spool cannot write; retry later' },
  AUDIT_ERR_SENDER_UNAUTHENTICATED: { status: 401, message: 'a valid sender token is required' },
  AUDIT_ERR_SENDER_FORBIDDEN: { status: 403, message: 'this sender token may not write for that service.name' },
  AUDIT_ERR_RATE_LIMITED: { status: 429, message: 'this sender sent too many requests; retry later' },
} as const;
export type CollectorErrorCode = keyof typeof COLLECTOR_ERRORS;

export class CollectorError extends Error {
  readonly code: CollectorErrorCode;
  readonly statusCode: number;

  constructor(code: CollectorErrorCode, message: string = COLLECTOR_ERRORS[code].message, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CollectorError';
    this.code = code;
    this.statusCode = COLLECTOR_ERRORS[code].status;
  }
}
