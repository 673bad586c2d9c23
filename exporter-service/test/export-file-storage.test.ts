import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryFileStorage, ExportError, S3FileStorage, type ExportFileStorage } from '@otel-audit/exporter-service';
import { startVersitygw, versitygwMissing, type S3ServerForTests } from '../../test/support/versitygw.js';

const missing = versitygwMissing();
const required = process.env.CI === 'true';

if (missing && required) {
  describe('S3 export file storage', () => {
    it('has versitygw, as CI=true requires', () => {
      throw new Error(missing);
    });
  });
}

/** 13 MiB in 64 KiB chunks made as they are read: three parts of a 5 MiB multipart upload. */
function producedStream(bytes: number, seed: Buffer): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= bytes) return void this.push(null);
      const chunk = Buffer.alloc(Math.min(65_536, bytes - sent));
      for (let i = 0; i < chunk.length; i++) chunk[i] = seed[(sent + i) % seed.length]! ^ ((sent + i) >>> 12);
      sent += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

async function sha256Of(body: Readable): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

interface Kind {
  name: string;
  enabled: boolean;
  open(): Promise<{ storage: ExportFileStorage; close(): Promise<void>; leftovers(): Promise<string[]> }>;
}

let s3: S3ServerForTests | undefined;
let buckets = 0;

const kinds: Kind[] = [
  {
    name: 'a folder (DirectoryFileStorage)',
    enabled: true,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'otel-audit-files-'));
      const { readdir } = await import('node:fs/promises');
      return {
        storage: new DirectoryFileStorage(dir),
        close: async () => rmSync(dir, { recursive: true, force: true }),
        leftovers: async () => readdir(dir),
      };
    },
  },
  {
    name: 'S3 on a real versitygw server (S3FileStorage)',
    enabled: missing === '',
    async open() {
      const bucket = `conformance-${process.pid}-${++buckets}`;
      await s3!.createBucket(bucket);
      const storage = new S3FileStorage({ bucket, prefix: 'audit/exports/', client: s3!.client });
      return {
        storage,
        close: async () => undefined,
        // Objects and unfinished multipart uploads: a failed upload must leave neither.
        leftovers: async () => {
          const objects = await s3!.client.send(new ListObjectsV2Command({ Bucket: bucket }));
          const uploads = await s3!.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
          return [...(objects.Contents ?? []).map((o) => o.Key!), ...(uploads.Uploads ?? []).map((u) => `upload of ${u.Key}`)];
        },
      };
    },
  },
];

beforeAll(async () => {
  if (missing === '') s3 = await startVersitygw();
});
afterAll(async () => {
  await s3?.stop();
});

for (const kind of kinds) {
  describe.skipIf(!kind.enabled)(`export file storage conformance: ${kind.name}${kind.enabled ? '' : ` (skipped: ${missing})`}`, () => {
    let opened: Awaited<ReturnType<Kind['open']>>;
    beforeAll(async () => {
      opened = await kind.open();
    });
    afterAll(async () => {
      await opened?.close();
    });

    it('stores a stream as it is produced and reads it back byte for byte', async () => {
      const { storage } = opened;
      const produced = producedStream(13 * 1024 * 1024, randomBytes(4096));
      await storage.put('job-a.csv', produced.stream);
      expect(await storage.exists('job-a.csv')).toBe(true);
      expect(await sha256Of(await storage.read('job-a.csv'))).toEqual({ sha256: produced.sha256(), bytes: 13 * 1024 * 1024 });
      expect(await opened.leftovers()).toEqual([expect.stringMatching(/job-a\.csv$/)]);
    });

    it('shows a name only once its upload completes', async () => {
      const { storage } = opened;
      const body = new PassThrough();
      const put = storage.put('job-b.xlsx', body);
      body.write(Buffer.alloc(6 * 1024 * 1024, 1));
      await new Promise((r) => setTimeout(r, 300));
      expect(await storage.exists('job-b.xlsx')).toBe(false);
      // Under way (a temporary file, an unfinished multipart upload), which is what a failed one must not leave.
      expect((await opened.leftovers()).filter((name) => name.includes('job-b'))).toHaveLength(1);
      await expect(storage.read('job-b.xlsx')).rejects.toMatchObject({ code: 'AUDIT_ERR_EXPORT_NOT_FOUND' });
      body.end(Buffer.from('the end'));
      await put;
      expect(await storage.exists('job-b.xlsx')).toBe(true);
      expect((await sha256Of(await storage.read('job-b.xlsx'))).bytes).toBe(6 * 1024 * 1024 + 7);
      await storage.delete('job-b.xlsx');
    });

    it('leaves nothing under the name when the stream fails part-way (past the first part)', async () => {
      const { storage } = opened;
      const body = new PassThrough();
      const put = storage.put('job-c.csv', body);
      body.write(Buffer.alloc(11 * 1024 * 1024, 2));
      setTimeout(() => body.destroy(new Error('the store query failed')), 300);
      await expect(put).rejects.toThrow();
      expect(await storage.exists('job-c.csv')).toBe(false);
      expect((await opened.leftovers()).filter((name) => name.includes('job-c'))).toEqual([]);
    });

    it('deletes, and deleting what is not there is no error', async () => {
      const { storage } = opened;
      await storage.put('job-d.csv', Readable.from([Buffer.from('a,b\n1,2\n')]));
      await storage.delete('job-d.csv');
      expect(await storage.exists('job-d.csv')).toBe(false);
      await storage.delete('job-d.csv');
      await storage.delete('never-written.csv');
    });

    it('answers a missing file with the catalogued AUDIT_ERR_EXPORT_NOT_FOUND (404)', async () => {
      const err = await opened.storage.read('no-such-job.csv').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExportError);
      expect(err).toMatchObject({ code: 'AUDIT_ERR_EXPORT_NOT_FOUND', statusCode: 404 });
    });

    it('refuses a name that could leave its folder or prefix', async () => {
      for (const name of ['../escape.csv', 'a/b.csv', '.hidden', '']) {
        await expect(opened.storage.put(name, Readable.from(['x']))).rejects.toThrow(/not a valid export file name/);
      }
    });
  });
}

describe.skipIf(missing !== '')(`S3FileStorage against versitygw: prefix, start-up check, errors${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('keeps objects under the prefix, in the bucket it was given', async () => {
    await s3!.createBucket('prefixed');
    const storage = new S3FileStorage({ bucket: 'prefixed', prefix: 'tenant-1/exports/', client: s3!.client });
    await storage.put('job.csv', Readable.from(['x,y\n']));
    const listed = await s3!.client.send(new ListObjectsV2Command({ Bucket: 'prefixed' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['tenant-1/exports/job.csv']);
  });

  it('fails the start-up check on a bucket that does not exist, naming it', async () => {
    const storage = new S3FileStorage({ bucket: 'not-created', client: s3!.client });
    await expect(storage.init()).rejects.toThrow(/S3 could not reach the bucket s3:\/\/not-created: .*HTTP 404/);
  });

  it('says a wrong secret was refused, without the secret or the key in the message', async () => {
    await s3!.createBucket('guarded');
    const wrongSecret = `wrong-${randomBytes(16).toString('hex')}`;
    const client = new S3Client({ endpoint: s3!.endpoint, region: s3!.region, forcePathStyle: true, credentials: { accessKeyId: s3!.accessKeyId, secretAccessKey: wrongSecret } });
    const storage = new S3FileStorage({ bucket: 'guarded', client });
    const err = (await storage.put('job.csv', Readable.from(['x'])).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/S3 could not upload s3:\/\/guarded\/job\.csv: .*HTTP 403/);
    expect(JSON.stringify({ ...err, message: err.message, stack: err.stack })).not.toContain(wrongSecret);
    client.destroy();
  });

  it('refuses a bad bucket, prefix or part size when built', () => {
    expect(() => new S3FileStorage({ bucket: 'Bad_Bucket', client: s3!.client })).toThrow(/bucket must follow S3's naming rules, got "Bad_Bucket"/);
    expect(() => new S3FileStorage({ bucket: 'ok-bucket', prefix: '/rooted/', client: s3!.client })).toThrow(/prefix .* got "\/rooted\/"/);
    expect(() => new S3FileStorage({ bucket: 'ok-bucket', partSize: 1024, client: s3!.client })).toThrow(/partSize .* at least 5 MiB/);
  });
});
