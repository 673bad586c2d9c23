import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { CollectorError } from '../errors.js';

const gunzipAsync = promisify(gunzip);

/**
 * Undoes `Content-Encoding`. The inflated size is capped while inflating
 * (`maxOutputLength`), so a gzip bomb is refused after at most `limit` bytes of work.
 */
export async function decodeBody(encoding: string | string[] | undefined, body: Buffer, limit: number): Promise<Buffer> {
  const enc = String(encoding ?? 'identity').trim().toLowerCase();
  if (enc === 'identity' || enc === '') return body;
  if (enc !== 'gzip') throw new CollectorError('AUDIT_ERR_UNSUPPORTED_MEDIA_TYPE', `unsupported Content-Encoding ${JSON.stringify(enc)}; use gzip or none`);
  try {
    return await gunzipAsync(body, { maxOutputLength: limit });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new CollectorError('AUDIT_ERR_BODY_TOO_LARGE', `the body inflates to more than ${limit} bytes`);
    }
    throw new CollectorError('AUDIT_ERR_BAD_REQUEST', `invalid gzip body: ${(err as Error).message}`);
  }
}
