import { CodedError, type ErrorCatalogueEntry } from '@otel-audit/contract';

/**
 * The spool's error catalogue: stable codes. The spool speaks no HTTP, so its errors carry
 * no statusCode; its callers map them onto their own answers (the collector: 503 +
 * Retry-After). docs/errors.md is generated from it.
 */
export const SPOOL_ERRORS = {
  AUDIT_ERR_SPOOL_LOCKED: { message: 'another live process holds the spool folder', when: 'another live process holds the spool folder (one process per folder)' },
  AUDIT_ERR_SPOOL_DISK_FULL: {
    message: "the spool's disk is full (ENOSPC, EDQUOT or EFBIG); nothing of the batch was kept",
    when: "an append found the disk full (`ENOSPC`, `EDQUOT`, `EFBIG`); the segment was cut back, so nothing of the batch was kept",
  },
  AUDIT_ERR_SPOOL_WRITE_FAILED: {
    message: 'the spool could not write or fsync; nothing of the batch was kept',
    when: 'any other write or fsync failure of an append (`EIO`, `EROFS`, …); nothing of the batch was kept',
  },
} as const satisfies Record<string, ErrorCatalogueEntry>;
export type SpoolErrorCode = keyof typeof SPOOL_ERRORS;

/** Thrown when another live process holds the spool folder. */
export class SpoolLockedError extends CodedError<'AUDIT_ERR_SPOOL_LOCKED'> {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super('AUDIT_ERR_SPOOL_LOCKED', `the spool ${dir} is in use by process ${pid}`);
  }
}

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/**
 * An append that did not happen: the segment was cut back to its last whole line, so the
 * spool holds exactly what it held before and the caller may refuse the batch.
 */
export class SpoolWriteError extends CodedError<'AUDIT_ERR_SPOOL_DISK_FULL' | 'AUDIT_ERR_SPOOL_WRITE_FAILED'> {
  /** The operating system's error code (`ENOSPC`, `EIO`, …). */
  readonly errno: string;

  constructor(
    readonly dir: string,
    cause: unknown,
  ) {
    const errno = String((cause as NodeJS.ErrnoException)?.code ?? 'unknown');
    const code = NO_SPACE.has(errno) ? 'AUDIT_ERR_SPOOL_DISK_FULL' : 'AUDIT_ERR_SPOOL_WRITE_FAILED';
    super(code, `${SPOOL_ERRORS[code].message} (${errno} in ${dir})`, { cause });
    this.errno = errno;
  }
}
