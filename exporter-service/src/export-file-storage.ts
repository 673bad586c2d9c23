import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExportError } from './errors.js';

/**
 * Where finished background exports wait for their download: a folder (`DirectoryFileStorage`)
 * or S3-compatible object storage (`S3FileStorage`), which replicas behind a load balancer
 * share. `put` takes a stream, as an object upload does, and a name is visible to `read` and
 * `exists` only once complete.
 */
export interface ExportFileStorage {
  /** Stores the whole stream under `name`; rejects (leaving nothing under `name`) if the stream fails. */
  put(name: string, body: Readable): Promise<void>;
  /**
   * The stored file, opened: rejects with `ExportError` `AUDIT_ERR_EXPORT_NOT_FOUND` when
   * there is none, so that a caller can answer 404 before sending any header.
   */
  read(name: string): Promise<Readable>;
  /** Gone afterwards; not an error when it was never there. */
  delete(name: string): Promise<void>;
  exists(name: string): Promise<boolean>;
  /** Checks once, when the service starts, that the storage can be reached: a wrong bucket fails the start. */
  init?(): Promise<void>;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

/** Names come from job ids, never from a request; still, nothing may leave the folder or the prefix. */
export function checkedFileName(name: string): string {
  if (!SAFE_NAME.test(name)) throw new Error(`not a valid export file name: ${JSON.stringify(name)}`);
  return name;
}

/** Files in one local folder (a volume shared by the replicas, or one replica's disk). */
export class DirectoryFileStorage implements ExportFileStorage {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async put(name: string, body: Readable): Promise<void> {
    const target = this.#path(name);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // A dot-name beside the target, renamed on completion: rename is atomic within a
    // folder, so a half-written export is never served, even after a crash mid-write.
    const temp = join(this.dir, `.${name}.${randomBytes(6).toString('hex')}.part`);
    try {
      await pipeline(body, createWriteStream(temp, { flags: 'wx', mode: 0o600, flush: true }));
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async read(name: string): Promise<Readable> {
    const path = this.#path(name);
    try {
      // Opened now, not at the first read: a missing file is known before the answer starts.
      return (await open(path, 'r')).createReadStream();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ExportError('AUDIT_ERR_EXPORT_NOT_FOUND');
      throw err;
    }
  }

  async delete(name: string): Promise<void> {
    await rm(this.#path(name), { force: true });
  }

  async exists(name: string): Promise<boolean> {
    try {
      return (await stat(this.#path(name))).isFile();
    } catch {
      return false;
    }
  }

  #path(name: string): string {
    return join(this.dir, checkedFileName(name));
  }
}
