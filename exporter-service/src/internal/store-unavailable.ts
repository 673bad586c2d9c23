import type { FastifyBaseLogger } from 'fastify';
import { ExportError } from '../errors.js';

/**
 * Runs a store call; a failure is logged, kept as the error's cause, and answers 503
 * AUDIT_ERR_STORE_UNAVAILABLE, never the store's own text (it could describe data outside the
 * caller's scope). `onFailure` sees the cause first (an export's end record names it).
 */
export async function fromStore<T>(log: FastifyBaseLogger, what: string, call: () => Promise<T>, onFailure?: (err: unknown) => void): Promise<T> {
  try {
    return await call();
  } catch (err) {
    onFailure?.(err);
    log.error({ err }, `${what} failed`);
    throw new ExportError('AUDIT_ERR_STORE_UNAVAILABLE', undefined, err);
  }
}
