export { DiskSpool } from './disk-spool.js';
export type { AppendOptions, DiskSpoolOptions, FsyncPolicy } from './disk-spool.js';
export { SPOOL_ERRORS, SpoolLockedError, SpoolWriteError } from './errors.js';
export type { SpoolErrorCode } from './errors.js';
