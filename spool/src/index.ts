export { DiskSpool, SpoolLockedError } from './disk-spool.js';
export type { DiskSpoolOptions, FsyncPolicy } from './disk-spool.js';
