import type { Readable } from 'node:stream';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { ExportError } from './errors.js';
import { checkedFileName, type ExportFileStorage } from './export-file-storage.js';

export interface S3FileStorageOptions {
  bucket: string;
  /** Put before every name, e.g. `otel-audit/exports/`. Default: none. */
  prefix?: string | undefined;
  /**
   * A client of yours. Default: one built from `endpoint`, `region` and `forcePathStyle`,
   * with credentials from the standard AWS chain (environment, shared files, web identity,
   * container or instance role): this code never sees a key it was not given by the SDK.
   */
  client?: S3Client | undefined;
  /** An S3-compatible server (MinIO, versitygw, Ceph, R2…). Default: AWS S3. */
  endpoint?: string | undefined;
  region?: string | undefined;
  /** `https://host/bucket/key` instead of `https://bucket.host/key`, as most S3-compatible servers want. Default: false. */
  forcePathStyle?: boolean | undefined;
  /**
   * Size of each part of the multipart upload: an upload holds about `(queueSize + 1) ×
   * partSize` in memory whatever the file's size. Default: 5 MiB, the smallest S3 takes
   * (10 000 parts of it is 48 GiB, past any export's row cap).
   */
  partSize?: number | undefined;
  /** Parts of one file uploaded at once. Default: 2. */
  queueSize?: number | undefined;
}

export const S3_FILE_STORAGE_DEFAULTS = {
  prefix: '',
  forcePathStyle: false,
  partSize: 5 * 1024 * 1024,
  queueSize: 2,
} as const;

/** S3's safe key characters, not starting with `/` (which some servers read as an empty path segment). */
export const S3_PREFIX_PATTERN = /^(?!\/)[A-Za-z0-9!_.*'()/-]{0,512}$/;
/** S3's bucket naming rules (3–63 lower-case letters, digits, dots, hyphens; alphanumeric at both ends). */
export const S3_BUCKET_PATTERN = /^(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Export files as objects in an S3 bucket, which every replica reaches: a link made by
 * one is served by another. A file is streamed up as a multipart upload as it is written
 * (bounded memory) and appears only when the upload completes; a failed one is aborted,
 * leaving nothing under the name.
 */
export class S3FileStorage implements ExportFileStorage {
  readonly bucket: string;
  readonly prefix: string;
  #client: Promise<S3Client> | undefined;
  readonly #clientConfig: S3ClientConfig;
  readonly #partSize: number;
  readonly #queueSize: number;

  constructor(opts: S3FileStorageOptions) {
    if (!S3_BUCKET_PATTERN.test(opts.bucket)) throw new Error(`S3FileStorage bucket must follow S3's naming rules, got ${JSON.stringify(opts.bucket)}`);
    const prefix = opts.prefix ?? S3_FILE_STORAGE_DEFAULTS.prefix;
    if (!S3_PREFIX_PATTERN.test(prefix)) throw new Error(`S3FileStorage prefix must be up to 512 characters of A-Z a-z 0-9 ! _ . * ' ( ) / - and not start with /, got ${JSON.stringify(prefix)}`);
    this.#partSize = opts.partSize ?? S3_FILE_STORAGE_DEFAULTS.partSize;
    if (!Number.isInteger(this.#partSize) || this.#partSize < S3_FILE_STORAGE_DEFAULTS.partSize) {
      throw new Error(`S3FileStorage partSize must be a whole number of bytes, at least 5 MiB (S3's smallest part), got ${opts.partSize}`);
    }
    this.#queueSize = opts.queueSize ?? S3_FILE_STORAGE_DEFAULTS.queueSize;
    if (!Number.isInteger(this.#queueSize) || this.#queueSize < 1) throw new Error(`S3FileStorage queueSize must be a whole number ≥ 1, got ${opts.queueSize}`);
    this.bucket = opts.bucket;
    this.prefix = prefix;
    if (opts.client) this.#client = Promise.resolve(opts.client);
    this.#clientConfig = {
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.region ? { region: opts.region } : {}),
      forcePathStyle: opts.forcePathStyle ?? S3_FILE_STORAGE_DEFAULTS.forcePathStyle,
    };
  }

  /**
   * The AWS SDK is loaded, and the client made, on the first S3 call: the SDK adds about
   * 23 MiB to a process, which an export service keeping its files in a folder never needs
   * (it imports this module through the package's public surface all the same).
   */
  #s3(): Promise<S3Client> {
    this.#client ??= import('@aws-sdk/client-s3').then(({ S3Client: Client }) => new Client(this.#clientConfig));
    return this.#client;
  }

  async init(): Promise<void> {
    const { HeadBucketCommand } = await import('@aws-sdk/client-s3');
    const client = await this.#s3();
    await this.#call('reach the bucket', undefined, () => client.send(new HeadBucketCommand({ Bucket: this.bucket })));
  }

  async put(name: string, body: Readable): Promise<void> {
    const key = this.#key(name);
    try {
      const [{ Upload }, client] = await Promise.all([import('@aws-sdk/lib-storage'), this.#s3()]);
      const upload = new Upload({
        client,
        params: { Bucket: this.bucket, Key: key, Body: body },
        partSize: this.#partSize,
        queueSize: this.#queueSize,
        // Aborted on failure: parts of a failed upload are neither an object nor kept.
        leavePartsOnError: false,
      });
      await this.#call('upload', key, () => upload.done());
    } catch (err) {
      // The upload stopped reading: release what feeds it (a store query, an open point in time).
      body.destroy();
      throw err;
    }
  }

  async read(name: string): Promise<Readable> {
    const key = this.#key(name);
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const client = await this.#s3();
    const res = await this.#call('read', key, () => client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })));
    return res.Body as Readable;
  }

  async delete(name: string): Promise<void> {
    const key = this.#key(name);
    // S3 answers a deletion of a missing key with success, as the interface wants.
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    const client = await this.#s3();
    await this.#call('delete', key, () => client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }

  async exists(name: string): Promise<boolean> {
    const key = this.#key(name);
    try {
      const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
      const client = await this.#s3();
      await this.#call('look up', key, () => client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
      return true;
    } catch (err) {
      if (err instanceof ExportError) return false;
      throw err;
    }
  }

  /** Closes the client's connections (only a client this storage built). */
  close(): void {
    void this.#client?.then((client) => client.destroy());
  }

  #key(name: string): string {
    return this.prefix + checkedFileName(name);
  }

  /**
   * Runs one S3 call. A missing key becomes the catalogued AUDIT_ERR_EXPORT_NOT_FOUND; any
   * other failure a plain error naming the operation, the object and S3's error code,
   * without the SDK's error object (which carries the raw response) for a log to print.
   */
  async #call<T>(what: string, key: string | undefined, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      if (key !== undefined && (e.name === 'NoSuchKey' || e.name === 'NotFound')) throw new ExportError('AUDIT_ERR_EXPORT_NOT_FOUND');
      const status = e.$metadata?.httpStatusCode;
      throw new Error(`S3 could not ${what} ${key === undefined ? `s3://${this.bucket}` : `s3://${this.bucket}/${key}`}: ${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? ''}`);
    }
  }
}
