import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';

/**
 * Makes the folder of a private file, owner-only (0700) where this process creates it. A
 * folder that already exists keeps its mode: it may be shared (a path under /tmp, a
 * volume root), and tightening someone else's folder is not ours to do.
 */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * Creates `path` as 0600 before SQLite opens it, and takes group and other access away
 * from one an older version left readable. SQLite gives the `-wal` and `-shm` files it
 * creates the mode of the database file, so those follow; ones left over from before are
 * tightened too. A chmod after SQLite had made the file would leave it readable for a moment.
 */
export function makePrivateDatabaseFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) tightenIfOurs(file);
}

function tightenIfOurs(file: string): void {
  let mode: number;
  let uid: number;
  try {
    ({ mode, uid } = statSync(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  // Another user's file (a read-only mount, a backup reader's copy) is left as it is.
  if ((mode & 0o077) === 0 || (process.getuid && uid !== process.getuid())) return;
  chmodSync(file, mode & 0o700);
}
