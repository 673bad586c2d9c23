import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { DiskSpool } from '@otel-audit/spool';
import { CollectorError } from './errors.js';
import { resolveCollectorOptions, type CollectorOptions } from './collector-options.js';
import { decodeBody } from './internal/decode-body.js';

export { COLLECTOR_DEFAULTS, type CollectorOptions } from './collector-options.js';
import { Ingestor, type SpoolEntry } from './internal/ingest.js';
import { ChainKeeper } from './internal/chain-keeper.js';
import { CollectorMetrics } from './internal/metrics.js';
import { RetentionJob } from './internal/retention.js';
import { decodeOtlpJson } from './internal/otlp-json.js';
import { SenderTokens, type Sender } from './internal/sender-auth.js';
import { receiveRecords } from './internal/receive-records.js';
import { receiveTraces } from './internal/receive-traces.js';
import { readTraceMapping } from './internal/otlp-traces.js';
import { decodeTracesProtobuf, encodeExportTraceResponse } from './internal/otlp-traces-proto.js';
import { GrpcReceiver } from './internal/grpc-receiver.js';
import { decodeOtlpProtobuf, encodeExportLogsResponse, encodeRpcStatus } from './internal/otlp-proto.js';

const grpcReceivers = new WeakMap<FastifyInstance, GrpcReceiver>();

/**
 * Binds the OTLP/gRPC receiver of a collector built with the `grpc` option and resolves to
 * its port; rejects when the port is taken, or when the collector has no gRPC receiver.
 */
export async function listenCollectorGrpc(app: FastifyInstance): Promise<number> {
  const receiver = grpcReceivers.get(app);
  if (!receiver) throw new Error('this collector was built without the grpc option');
  return receiver.listen();
}

/** The port of a collector's OTLP/gRPC receiver once bound; undefined before, or without one. */
export function collectorGrpcPort(app: FastifyInstance): number | undefined {
  return grpcReceivers.get(app)?.port;
}

// google.rpc.Code values used in OTLP error bodies.
const RPC_CODE: Record<number, number> = { 400: 3, 401: 16, 403: 7, 413: 8, 415: 3, 429: 8, 503: 14 };
const PROTOBUF = 'application/x-protobuf';

/** The OTLP/HTTP receiver as a Fastify instance; `listen` is the caller's business. */
export function buildCollector(opts: CollectorOptions): FastifyInstance {
  const o = resolveCollectorOptions(opts);
  const requestTimeout = o.requestTimeoutMillis;
  const headersTimeout = o.headersTimeoutMillis;
  const rateLimitPerMinute = o.rateLimitPerMinute;
  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: o.bodyLimit,
    requestTimeout,
    connectionTimeout: o.connectionTimeoutMillis,
    keepAliveTimeout: o.keepAliveTimeoutMillis,
    http: {
      requestTimeout,
      headersTimeout,
      // Node enforces both timeouts on this sweep (30 s by default), which would let a slow
      // sender overstay them by that much.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(Math.min(requestTimeout, headersTimeout) / 4))),
    },
  });
  const { store } = o;
  const spool = o.spoolDir
    ? new DiskSpool<SpoolEntry>({
        dir: o.spoolDir,
        // Every spooled batch is fsynced before it is acknowledged (Ingestor), whatever this says.
        fsync: 'never',
        fsyncIntervalMillis: 1000,
        segmentBytes: 16 * 1024 * 1024,
        maxRecords: Number.MAX_SAFE_INTEGER,
        maxBytes: o.spoolMaxBytes,
      })
    : undefined;
  const chain = o.integrity ? new ChainKeeper(store, o.integrity, app.log) : undefined;
  const metrics = new CollectorMetrics(() => ({ records: spool?.length ?? 0, bytes: spool?.bytes ?? 0 }));
  const ingestor = new Ingestor({
    store,
    spool,
    metrics,
    log: app.log,
    storeTimeoutMillis: o.storeTimeoutMillis,
    itemRetries: 2,
    replayBatchSize: 500,
    maxBackoffMillis: 30_000,
    deadLetterMaxBytes: o.deadLetterMaxBytes,
    chain,
  });
  // One store path for every receiver (/v1/logs, /v1/traces, gRPC): the same ingestor, metrics
  // and redaction rule, so what is stored never depends on how a sender came in.
  const pipeline = Object.freeze({ ingestor, metrics, redact: o.redact });
  app.server.on('clientError', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') metrics.timedOutRequests += 1;
  });
  // The record of a deletion takes the same path as a sender's events: spooled if the store is down.
  const retention =
    o.retention && o.retention.days > 0 ? new RetentionJob(o.retention, (event) => ingestor.ingest([event], []), app.log) : undefined;
  retention?.start();
  app.addHook('onClose', async () => {
    // Retention first: a run still in progress may yet record its deletion through the ingestor.
    await retention?.stop();
    await ingestor.stop();
    // Last: the final digest covers everything the ingestor stored.
    await chain?.stop();
  });
  const senders = o.senderTokens && o.senderTokens.length > 0 ? new SenderTokens(o.senderTokens) : undefined;

  if (o.grpc) {
    const grpc = new GrpcReceiver({
      ...pipeline,
      host: o.grpc.host,
      port: o.grpc.port,
      bodyLimit: o.bodyLimit,
      senders,
      rateLimitPerMinute,
      retryAfterSeconds: o.retryAfterSeconds,
      closeTimeoutMillis: requestTimeout,
      log: app.log,
    });
    grpcReceivers.set(app, grpc);
    // preClose: gRPC stops taking calls and finishes those in flight before onClose stops the ingestor.
    app.addHook('preClose', () => grpc.close());
  }

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

  app.get('/readyz', async (_request, reply) => {
    const storeUp = await store.ping();
    const body = { status: storeUp ? 'ready' : 'degraded', store: storeUp ? 'reachable' : 'unreachable', spooled: spool?.length ?? 0 };
    // Still accepting while the store is down (that is what the spool is for), but a
    // load balancer should prefer a replica whose store answers.
    return reply.code(storeUp ? 200 : 503).send(body);
  });

  app.get('/metrics', async (_request, reply) => reply.type('text/plain; version=0.0.4').send(metrics.render()));

  // The token is checked before the body is read: an unknown sender does not get to make
  // the collector buffer and inflate 64 MiB.
  const senderOf = new WeakMap<FastifyRequest, Sender>();
  const checkSender = async (request: FastifyRequest) => {
    if (!senders) return;
    const sender = senders.senderFor(request.headers.authorization);
    if (!sender) throw new CollectorError('AUDIT_ERR_SENDER_UNAUTHENTICATED');
    senderOf.set(request, sender);
  };

  // Per route (global: false): health and metrics stay answerable to probes whatever a sender does.
  const limited = rateLimitPerMinute > 0;
  if (limited) {
    void app.register(rateLimit, {
      global: false,
      // The LRU of counters is bounded, so a flood of addresses cannot grow it without end.
      cache: 10_000,
      keyGenerator: (request) => {
        const sender = senderOf.get(request);
        return sender ? `service:${sender.service}` : `address:${request.ip}`;
      },
      onExceeded: () => {
        metrics.rateLimitedRequests += 1;
      },
      errorResponseBuilder: (_request, context) =>
        new CollectorError(
          'AUDIT_ERR_RATE_LIMITED',
          `this sender sent more than ${context.max} requests in a minute; retry after ${Math.ceil(context.ttl / 1000)} s`,
        ),
    });
  }

  // In a child context: it loads after the rate-limit plugin, whose route hook it must get.
  void app.register(async (scope) => {
    scope.post('/v1/logs', { onRequest: checkSender, ...(limited ? { config: { rateLimit: { max: rateLimitPerMinute, timeWindow: 60_000 } } } : {}) }, async (request, reply) => {
      const protobuf = isProtobuf(request);
      const records = protobuf ? decodeOtlpProtobuf(request.body as Buffer) : decodeOtlpJson(request.body);
      const { received, rejected, partialSuccess } = await receiveRecords(records, senderOf.get(request), pipeline);
      request.log.info({ received, accepted: received - rejected, rejected }, 'logs batch');
      // OTLP/HTTP: the response uses the request's encoding.
      if (protobuf) {
        reply.header('content-type', PROTOBUF);
        return encodeExportLogsResponse(partialSuccess);
      }
      reply.header('content-type', 'application/json');
      if (!partialSuccess) return {};
      // The JSON mapping writes int64 as a decimal string.
      return { partialSuccess: { rejectedLogRecords: String(rejected), errorMessage: partialSuccess.errorMessage } };
    });

    // Audit events carried as span events (otlp-traces.ts); the same parsers, body limit,
    // sender check, rate limit (its own counter per sender) and store path as /v1/logs.
    scope.post('/v1/traces', { onRequest: checkSender, ...(limited ? { config: { rateLimit: { max: rateLimitPerMinute, timeWindow: 60_000 } } } : {}) }, async (request, reply) => {
      const protobuf = isProtobuf(request);
      const reading = protobuf ? decodeTracesProtobuf(request.body as Buffer) : readTraceMapping(request.body, 'OTLP/JSON', 'hex');
      const outcome = await receiveTraces(reading, senderOf.get(request), pipeline);
      request.log.info({ spans: outcome.spans, auditEvents: outcome.events, rejectedSpans: outcome.rejectedSpans }, 'traces batch');
      if (protobuf) {
        reply.header('content-type', PROTOBUF);
        return encodeExportTraceResponse(outcome.partialSuccess);
      }
      reply.header('content-type', 'application/json');
      const { partialSuccess } = outcome;
      if (!partialSuccess) return {};
      return { partialSuccess: { rejectedSpans: String(partialSuccess.rejectedSpans), errorMessage: partialSuccess.errorMessage } };
    });
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error instanceof CollectorError ? error.statusCode : mapFastifyError(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    if (status === 503) reply.header('retry-after', String(o.retryAfterSeconds));
    // Our own errors say what to do; anything else unexpected is not described to the sender.
    const message = error instanceof CollectorError || status < 500 ? error.message : 'internal error';
    // OTLP/HTTP: failures carry a google.rpc.Status in the request's encoding. A content
    // type we do not speak gets JSON, the only encoding left to guess.
    const code = RPC_CODE[status] ?? 2;
    if (isProtobuf(request)) reply.status(status).header('content-type', PROTOBUF).send(encodeRpcStatus(code, message));
    else reply.status(status).header('content-type', 'application/json').send({ code, message });
  });

  return app;
}

function isProtobuf(request: FastifyRequest): boolean {
  const mediaType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  return mediaType === PROTOBUF;
}

function mapFastifyError(error: { statusCode?: number; code?: string }): number {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 413;
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 415;
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) return error.statusCode;
  return 500;
}
