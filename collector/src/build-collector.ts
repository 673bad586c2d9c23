import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { fromLogRecord, validateAuditEvent, type AuditEvent } from '@otel-audit/contract';
import type { AuditStore } from '@otel-audit/store';
import { CollectorError } from './errors.js';
import { decodeOtlpJson } from './internal/otlp-json.js';
import { decodeOtlpProtobuf, encodeExportLogsResponse, encodeRpcStatus, type PartialSuccess } from './internal/otlp-proto.js';

export interface CollectorOptions {
  store: AuditStore;
  /** Largest accepted request body in bytes. Default: 64 MiB. */
  bodyLimit?: number;
  /** Seconds a client is told to wait when the store is unavailable. Default: 5. */
  retryAfterSeconds?: number;
  /** Fastify logger option. Default: false (silent), the CLI turns it on. */
  logger?: FastifyServerOptions['logger'];
}

export const COLLECTOR_DEFAULTS = { bodyLimit: 64 * 1024 * 1024, retryAfterSeconds: 5 } as const;

// google.rpc.Code values used in OTLP error bodies.
const RPC_CODE: Record<number, number> = { 400: 3, 413: 8, 415: 3, 503: 14 };
const REJECTION_SAMPLE = 5;
const PROTOBUF = 'application/x-protobuf';

/** The OTLP/HTTP receiver as a Fastify instance; `listen` is the caller's business. */
export function buildCollector(opts: CollectorOptions): FastifyInstance {
  const o = { ...COLLECTOR_DEFAULTS, ...opts };
  const app = Fastify({ logger: o.logger ?? false, bodyLimit: o.bodyLimit });
  const { store } = o;

  // Only the encodings we speak: anything else is a 415, not a guess.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    decodeBody(request.headers['content-encoding'], body as Buffer, o.bodyLimit).then(
      (raw) => {
        try {
          done(null, JSON.parse(raw.toString('utf8')));
        } catch (err) {
          done(new CollectorError('AUDIT_ERR_BAD_REQUEST', `invalid JSON: ${(err as Error).message}`), undefined);
        }
      },
      (err: Error) => done(err, undefined),
    );
  });
  // Protobuf stays bytes here: the route picks the decoder by content type, as it picks the answer's encoding.
  app.addContentTypeParser(PROTOBUF, { parseAs: 'buffer' }, (request, body, done) => {
    decodeBody(request.headers['content-encoding'], body as Buffer, o.bodyLimit).then(
      (raw) => done(null, raw),
      (err: Error) => done(err, undefined),
    );
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.post('/v1/logs', async (request, reply) => {
    const protobuf = isProtobuf(request);
    const records = protobuf ? decodeOtlpProtobuf(request.body as Buffer) : decodeOtlpJson(request.body);
    const accepted: AuditEvent[] = [];
    const problems: string[] = [];
    for (const record of records) {
      const result = validateAuditEvent(fromLogRecord(record));
      if (result.ok) accepted.push(result.event);
      else if (problems.length < REJECTION_SAMPLE) problems.push(result.problems.join(', '));
    }
    let rejected = records.length - accepted.length;
    let stored;
    try {
      stored = await store.insert(accepted);
    } catch (err) {
      throw new CollectorError('AUDIT_ERR_STORE_UNAVAILABLE', undefined, err);
    }
    // Nothing is acknowledged that is not stored: a retryable failure fails the whole
    // request, and the client's retry is harmless because every write is create-only.
    const retryable = stored.failed.filter((f) => f.retryable);
    if (retryable.length > 0) {
      request.log.warn({ failed: retryable.length, first: retryable[0]?.reason }, 'store refused items; asking the client to retry');
      throw new CollectorError('AUDIT_ERR_STORE_UNAVAILABLE');
    }
    for (const f of stored.failed) {
      rejected += 1;
      if (problems.length < REJECTION_SAMPLE) problems.push(`${f.id}: ${f.reason}`);
    }
    request.log.info({ received: records.length, created: stored.created, duplicates: stored.duplicates, rejected }, 'logs batch');
    // OTLP/HTTP: the response uses the request's encoding.
    const partialSuccess: PartialSuccess | undefined =
      rejected === 0 ? undefined : { rejectedLogRecords: rejected, errorMessage: problems.join('; ') };
    if (protobuf) {
      reply.header('content-type', PROTOBUF);
      return encodeExportLogsResponse(partialSuccess);
    }
    reply.header('content-type', 'application/json');
    if (!partialSuccess) return {};
    // The JSON mapping writes int64 as a decimal string.
    return { partialSuccess: { rejectedLogRecords: String(rejected), errorMessage: partialSuccess.errorMessage } };
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error instanceof CollectorError ? error.statusCode : mapFastifyError(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    if (status === 503) reply.header('retry-after', String(o.retryAfterSeconds));
    const message = status === 503 ? 'the audit store is unavailable; retry later' : error.message;
    // OTLP/HTTP: failures carry a google.rpc.Status in the request's encoding. A content
    // type we do not speak gets JSON, the only encoding left to guess.
    const code = RPC_CODE[status] ?? 2;
    if (isProtobuf(request)) reply.status(status).header('content-type', PROTOBUF).send(encodeRpcStatus(code, message));
    else reply.status(status).header('content-type', 'application/json').send({ code, message });
  });

  return app;
}

const gunzipAsync = promisify(gunzip);

function isProtobuf(request: FastifyRequest): boolean {
  const mediaType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  return mediaType === PROTOBUF;
}

/**
 * Undoes `Content-Encoding`. The inflated size is capped while inflating
 * (`maxOutputLength`), so a gzip bomb is refused after at most `limit` bytes of work.
 */
async function decodeBody(encoding: string | string[] | undefined, body: Buffer, limit: number): Promise<Buffer> {
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

function mapFastifyError(error: { statusCode?: number; code?: string }): number {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 413;
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 415;
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) return error.statusCode;
  return 500;
}
