import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ExportJob } from '@otel-audit/store';
import { JOB_ID } from './export-job-request.js';

/**
 * Download links of finished background exports: the job id and the expiry, signed with
 * HMAC-SHA256. The link is the credential (it works from a notification, without a token),
 * so every replica needs the same secret to honour a link another one made.
 */
export class SignedLinks {
  readonly #secret: string;

  constructor(secret: string) {
    // HMAC with a short key can be brute-forced offline from any one link.
    if (secret.length < 32) throw new Error('jobs.linkSecret must be at least 32 characters');
    this.#secret = secret;
  }

  /** The link of a finished job (one with `expiresAt`). */
  url(job: Pick<ExportJob, 'id' | 'expiresAt'>): string {
    const expires = Date.parse(job.expiresAt!);
    return `/v1/exports/${job.id}/download?expires=${expires}&signature=${this.#sign(job.id, expires)}`;
  }

  /** Whether `signature` is ours for this id and expiry; says nothing about whether the time is past. */
  verify(id: string, expires: string, signature: string): boolean {
    const given = /^[0-9a-f]{64}$/.test(signature) ? Buffer.from(signature, 'hex') : undefined;
    if (!given || !JOB_ID.test(id) || !/^[0-9]{1,15}$/.test(expires)) return false;
    return timingSafeEqual(given, Buffer.from(this.#sign(id, Number(expires)), 'hex'));
  }

  #sign(id: string, expires: number): string {
    return createHmac('sha256', this.#secret).update(`${id}.${expires}`).digest('hex');
  }
}
