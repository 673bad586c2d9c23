import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { FastifyBaseLogger } from 'fastify';
import { CollectorError } from '../errors.js';
import type { Ingestor } from './ingest.js';
import type { CollectorMetrics } from './metrics.js';
import { decodeLogsRequest, recordsOfLogsRequest } from './otlp-proto.js';
import type { Msg } from './otlp-proto-values.js';
import { readTraceMapping } from './otlp-traces.js';
import { receiveRecords } from './receive-records.js';
import { receiveTraces } from './receive-traces.js';
import { RequestWindow } from './request-window.js';
import { retryStatusDetails } from './grpc-status.js';
import type { Sender, SenderTokens } from './sender-auth.js';

const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

// Logs requests are decoded by otlp-proto.ts's decoder and read off the message, as
// OTLP/HTTP protobuf bodies are. Traces requests come in the protobuf JSON mapping
// (lowerCamelCase, int64 and bytes as strings, absent fields absent), which
// readTraceMapping reads for every encoding; answers are encoded from that mapping too.
const JSON_MAPPING: protoLoader.Options = { keepCase: false, longs: String, bytes: String, enums: Number, defaults: false, oneofs: false };

const LOGS_SERVICE = 'opentelemetry.proto.collector.logs.v1.LogsService';
const TRACE_SERVICE = 'opentelemetry.proto.collector.trace.v1.TraceService';

/** What deserializing hands the handler instead of a request when the bytes are not a message. */
class UndecodableRequest {
  constructor(readonly reason: string) {}
}

/**
 * The service's definition from the official proto, with a deserializer that does not
 * throw: grpc-js answers a throwing one with INTERNAL, but bytes that are not a message are
 * the sender's mistake (INVALID_ARGUMENT, which it will not retry).
 */
function serviceFromProto(protoFile: string, serviceName: string, decode?: (bytes: Buffer) => unknown): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync(protoFile, { ...JSON_MAPPING, includeDirs: [PROTO_DIR] });
  const service = definition[serviceName] as grpc.ServiceDefinition;
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(service)) {
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return (decode ?? method.requestDeserialize)(bytes);
        } catch (err) {
          return new UndecodableRequest((err as Error).message);
        }
      },
    };
  }
  return out as grpc.ServiceDefinition;
}

// Loaded at module load, like otlp-proto.ts: a missing definition stops start-up.
const LOGS = serviceFromProto('opentelemetry/proto/collector/logs/v1/logs_service.proto', LOGS_SERVICE, decodeLogsRequest);
const TRACES = serviceFromProto('opentelemetry/proto/collector/trace/v1/trace_service.proto', TRACE_SERVICE);

type ReceiveDeps = Parameters<typeof receiveRecords>[2];

/** One Export: the records through the store path, what to log, and the answer in the JSON mapping. */
type ExportHandler = (request: unknown, sender: Sender | undefined, deps: ReceiveDeps) => Promise<{ logged: Record<string, unknown>; response: unknown }>;

export interface GrpcReceiverOptions {
  host: string;
  /** 0: the OS picks one (see `port` after `listen`). */
  port: number;
  /** Largest message, after gzip, in bytes: the HTTP body limit. */
  bodyLimit: number;
  senders: SenderTokens | undefined;
  /** Requests per minute per sender; 0: no limit. */
  rateLimitPerMinute: number;
  retryAfterSeconds: number;
  /** Longest wait for in-flight calls on close before they are cut off. */
  closeTimeoutMillis: number;
  ingestor: Ingestor;
  metrics: CollectorMetrics;
  /** CollectorOptions.redact, as the HTTP routes pass it. */
  redact: ReceiveDeps['redact'];
  log: FastifyBaseLogger;
}

/**
 * OTLP/gRPC: LogsService/Export and TraceService/Export on a grpc-js server, through the
 * same receiveRecords (and receiveTraces) as OTLP/HTTP, so sender rules, validation, dead letters and durability are one. The
 * transport's own rules follow the OTLP specification for gRPC: failures are status codes,
 * and the retryable ones (UNAVAILABLE, RESOURCE_EXHAUSTED) carry a google.rpc.RetryInfo.
 */
export class GrpcReceiver {
  readonly #o: GrpcReceiverOptions;
  readonly #server: grpc.Server;
  readonly #window: RequestWindow;
  #port: number | undefined;

  constructor(options: GrpcReceiverOptions) {
    this.#o = options;
    this.#window = new RequestWindow(options.rateLimitPerMinute);
    this.#server = new grpc.Server({
      // grpc-js applies it to the message after gzip too, while inflating (RESOURCE_EXHAUSTED).
      'grpc.max_receive_message_length': options.bodyLimit,
      // The gate runs on the call's metadata, before its message is read: an unknown or
      // throttled sender does not get to make the collector buffer and inflate 64 MiB.
      interceptors: [(_method, call) => this.#gate(call)],
    });
    // The JSON mapping writes int64 as a decimal string, as proto-loader reads it back.
    this.#server.addService(LOGS, {
      Export: this.#unary('logs batch', async (request, sender, deps) => {
        const outcome = await receiveRecords(recordsOfLogsRequest(request as Msg), sender, deps);
        const { received, rejected, partialSuccess } = outcome;
        return {
          logged: { received, accepted: received - rejected, rejected },
          response: partialSuccess ? { partialSuccess: { rejectedLogRecords: String(rejected), errorMessage: partialSuccess.errorMessage } } : {},
        };
      }),
    });
    // Audit events carried as span events (otlp-traces.ts), as POST /v1/traces reads them.
    this.#server.addService(TRACES, {
      Export: this.#unary('traces batch', async (request, sender, deps) => {
        const outcome = await receiveTraces(readTraceMapping(request, 'OTLP/gRPC', 'base64'), sender, deps);
        const { partialSuccess } = outcome;
        return {
          logged: { spans: outcome.spans, auditEvents: outcome.events, rejectedSpans: outcome.rejectedSpans },
          response: partialSuccess ? { partialSuccess: { rejectedSpans: String(partialSuccess.rejectedSpans), errorMessage: partialSuccess.errorMessage } } : {},
        };
      }),
    });
  }

  /** The bound port, once `listen` resolved. */
  get port(): number | undefined {
    return this.#port;
  }

  async listen(): Promise<number> {
    const { host, port } = this.#o;
    // An IPv6 address needs brackets in a gRPC target.
    const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
    this.#port = await new Promise<number>((resolve, reject) => {
      this.#server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) =>
        // grpc-js says "No address added out of total 1 resolved"; the operator needs the address.
        err ? reject(new Error(`cannot listen for OTLP/gRPC on ${address}: ${err.message}`, { cause: err })) : resolve(bound),
      );
    });
    return this.#port;
  }

  /** Stops accepting calls and waits for those in flight (at most `closeTimeoutMillis`), so none is cut off mid-store. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, this.#o.closeTimeoutMillis);
      this.#server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  #gate(call: grpc.ServerInterceptingCallInterface): grpc.ServerInterceptingCall {
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, pass) => {
            const refusal = this.#admit(metadata, call.getConnectionInfo().remoteAddress ?? 'unknown');
            if (refusal) call.sendStatus(refusal);
            else pass(metadata);
          },
        }),
    });
  }

  /** Sender token and rate limit, as the HTTP route checks them before the body; undefined: go ahead. */
  #admit(metadata: grpc.Metadata, address: string): GrpcFailure | undefined {
    let key = `address:${address}`;
    if (this.#o.senders) {
      const sender = this.#o.senders.senderFor(authorization(metadata));
      if (!sender) return this.#status(new CollectorError('AUDIT_ERR_SENDER_UNAUTHENTICATED'));
      key = `service:${sender.service}`;
    }
    const waitMillis = this.#window.take(key);
    if (waitMillis === undefined) return undefined;
    this.#o.metrics.rateLimitedRequests += 1;
    const seconds = Math.ceil(waitMillis / 1000);
    return this.#status(
      new CollectorError(
        'AUDIT_ERR_RATE_LIMITED',
        `this sender sent more than ${this.#o.rateLimitPerMinute} requests in a minute; retry after ${seconds} s`,
      ),
      waitMillis,
    );
  }

  #unary(what: string, handle: ExportHandler): grpc.handleUnaryCall<unknown, unknown> {
    return (call, callback) => {
      const run = async () => {
        const { request } = call;
        if (request instanceof UndecodableRequest) {
          throw new CollectorError('AUDIT_ERR_BAD_REQUEST', `invalid OTLP/gRPC request: ${request.reason}`);
        }
        // Already authenticated by the gate; read again here, where the call is handled.
        const sender = this.#o.senders?.senderFor(authorization(call.metadata));
        const { ingestor, metrics, redact } = this.#o;
        const { logged, response } = await handle(request, sender, { ingestor, metrics, redact });
        this.#o.log.info({ transport: 'grpc', ...logged }, what);
        return response;
      };
      run().then(
        (response) => callback(null, response),
        (err: unknown) => callback(this.#status(err)),
      );
    };
  }

  /** A failure as the OTLP/gRPC client reads it; the HTTP statuses of the error catalogue map onto gRPC codes. */
  #status(err: unknown, retryDelayMillis = this.#o.retryAfterSeconds * 1000): GrpcFailure & Error {
    const status = err instanceof CollectorError ? err.statusCode : 500;
    const code = GRPC_CODE[status] ?? grpc.status.INTERNAL;
    if (status >= 500) this.#o.log.error({ err, transport: 'grpc' }, 'request failed');
    // Our own errors say what to do; anything else unexpected is not described to the sender.
    const details = err instanceof CollectorError ? err.message : 'internal error';
    const metadata = new grpc.Metadata();
    // OTLP: RESOURCE_EXHAUSTED is retried only when it carries a RetryInfo; UNAVAILABLE
    // always is, and the RetryInfo tells the client how long to wait.
    if (status === 429 || status === 503) metadata.set('grpc-status-details-bin', retryStatusDetails(code, details, retryDelayMillis));
    return Object.assign(new Error(details), { code, details, metadata });
  }
}

// From the error catalogue's HTTP statuses (errors.ts) to gRPC status codes.
const GRPC_CODE: Record<number, grpc.status> = {
  400: grpc.status.INVALID_ARGUMENT,
  401: grpc.status.UNAUTHENTICATED,
  403: grpc.status.PERMISSION_DENIED,
  413: grpc.status.RESOURCE_EXHAUSTED,
  415: grpc.status.INVALID_ARGUMENT,
  429: grpc.status.RESOURCE_EXHAUSTED,
  503: grpc.status.UNAVAILABLE,
};

/** A failed call's status, as a handler's callback and an interceptor's sendStatus both take it. */
type GrpcFailure = Pick<grpc.StatusObject, 'code' | 'details'> & { metadata: grpc.Metadata };

/** The `authorization` metadata, as the HTTP `Authorization` header (`Bearer <token>`). */
function authorization(metadata: grpc.Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  return typeof value === 'string' ? value : undefined;
}
