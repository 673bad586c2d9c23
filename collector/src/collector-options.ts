import { DEFAULT_REDACT, optionError, positiveIntegerOptions } from '@otel-audit/contract';
import type { FastifyServerOptions } from 'fastify';
import type { AuditStore } from '@otel-audit/store';
import type { IntegrityOptions } from './internal/chain-keeper.js';
import type { RetentionOptions } from './internal/retention.js';
import type { SenderTokenEntry } from './internal/sender-auth.js';

export interface CollectorOptions {
  store: AuditStore;
  /**
   * Folder of the collector's spool: batches the store cannot take now are appended and
   * fsynced there, acknowledged, and replayed when the store answers again. Without it
   * the collector answers 503 while the store is unavailable. Default: none (the CLI
   * sets `AUDIT_DATA_DIR/collector-spool`).
   */
  spoolDir?: string;
  /** Past this many spooled bytes, requests are refused with 503. Default: 1 GiB. */
  spoolMaxBytes?: number;
  /** Longest wait for one store write before the batch is spooled. Default: 5000 ms (OTLP clients time out at 10 s). */
  storeTimeoutMillis?: number;
  /**
   * `[token, service.name, actions?]` entries; when given, senders must present a token and
   * write only for its service, and only the listed actions (exact, or `prefix.*`) when a
   * list is given. Without a list a token may write any action but the reserved
   * `audit_log.*` ones, which only `AUDIT_LOG_SERVICE_NAME` writes. Default: none (tokens
   * off; the reservation then applies to the service.name a record declares).
   */
  senderTokens?: SenderTokenEntry[];
  /** Largest accepted request body in bytes. Default: 64 MiB. */
  bodyLimit?: number;
  /** Seconds a client is told to wait when the store is unavailable. Default: 5. */
  retryAfterSeconds?: number;
  /**
   * Deletes events past `days` (and dead letters), once shortly after start and then
   * every `intervalMs`, and records each deletion as a `retention.delete` system event.
   * Default: none (keep everything).
   */
  retention?: RetentionOptions;
  /**
   * Tamper evidence: every stored event joins this instance's hash chain and signed digests
   * are written every `digestIntervalMillis` or `digestEvents` (INTEGRITY_DEFAULTS).
   * Default: none (no chain, no digests).
   */
  integrity?: IntegrityOptions;
  /**
   * Largest stored JSON of one refused record in the dead-letter store; a larger record is
   * kept as `{ truncated: true, originalBytes, head }`. Default: 16 KiB.
   */
  deadLetterMaxBytes?: number;
  /**
   * Longest time to receive a whole request, headers and body; past it the connection gets
   * 408 and is closed. Default: 30 000 ms (OTLP clients give up after 10 s anyway).
   */
  requestTimeoutMillis?: number;
  /** Longest time to receive the request headers; at most `requestTimeoutMillis`. Default: 10 000 ms. */
  headersTimeoutMillis?: number;
  /**
   * A socket with no traffic for this long is closed, also while a request is handled.
   * Default: 120 000 ms, above any handler's wait at the default store timeout.
   */
  connectionTimeoutMillis?: number;
  /**
   * An idle keep-alive connection is closed after this long. Default: 72 000 ms (Fastify's,
   * above the 60 s idle timeout of common load balancers, so they never reuse a connection
   * the collector is closing).
   */
  keepAliveTimeoutMillis?: number;
  /**
   * Requests per minute to /v1/logs per sender (the token's service.name with tokens on,
   * else the client address); past it, 429 + Retry-After. 0: no limit. Default: 12 000
   * (200/s: an OTLP SDK sends one batch at a time, so this is some 200 busy replicas
   * sharing a token, and ten times the soak test's four senders from one address).
   */
  rateLimitPerMinute?: number;
  /**
   * OTLP/gRPC next to OTLP/HTTP, sharing the store path, sender tokens, body limit and
   * rate limit. `listenCollectorGrpc(app)` binds it (as `app.listen` binds HTTP; `inject`
   * alone never opens a port), closing the app closes it. Default: none (no gRPC); `port`
   * defaults to 4317 (0: the OS picks), `host` to 127.0.0.1.
   */
  grpc?: { host?: string; port?: number };
  /**
   * `changes[].field` and `metadata` keys whose values are stored as `[REDACTED]`, for
   * every sender: the same rule as the Node package's `redact` option, applied again
   * here so that what is stored does not depend on the sender's SDK. Default:
   * DEFAULT_REDACT (password, passphrase, secret, token, api key, private key,
   * credential, authorization, cookie).
   */
  redact?: RegExp;
  /** Fastify logger option. Default: false (silent), the CLI turns it on. */
  logger?: FastifyServerOptions['logger'];
}

export const COLLECTOR_DEFAULTS = {
  bodyLimit: 64 * 1024 * 1024,
  retryAfterSeconds: 5,
  spoolMaxBytes: 1024 * 1024 * 1024,
  storeTimeoutMillis: 5000,
  deadLetterMaxBytes: 16 * 1024,
  requestTimeoutMillis: 30_000,
  headersTimeoutMillis: 10_000,
  connectionTimeoutMillis: 120_000,
  keepAliveTimeoutMillis: 72_000,
  rateLimitPerMinute: 12_000,
  redact: DEFAULT_REDACT,
  grpcHost: '127.0.0.1',
  grpcPort: 4317,
} as const;

/** The options with every default applied, checked and frozen: what buildCollector works from. */
export type ResolvedCollectorOptions = Readonly<
  Omit<CollectorOptions, keyof typeof COLLECTOR_DEFAULTS | 'grpc'> & {
    [K in Exclude<keyof typeof COLLECTOR_DEFAULTS, 'grpcHost' | 'grpcPort'>]: (typeof COLLECTOR_DEFAULTS)[K] extends RegExp ? RegExp : number;
  } & { grpc: Readonly<{ host: string; port: number }> | undefined }
>;

const POSITIVE = ['bodyLimit', 'retryAfterSeconds', 'spoolMaxBytes', 'storeTimeoutMillis', 'deadLetterMaxBytes', 'requestTimeoutMillis', 'headersTimeoutMillis', 'connectionTimeoutMillis', 'keepAliveTimeoutMillis'] as const;

/**
 * The one place defaults are applied: each with `??`, so an option given as `undefined`
 * keeps its default (a spread of the options over the defaults let `{ bodyLimit: undefined }`
 * turn the gzip-bomb limit off). Then checked, naming the bad value, and frozen.
 */
export function resolveCollectorOptions(opts: CollectorOptions): ResolvedCollectorOptions {
  const D = COLLECTOR_DEFAULTS;
  const bad = (option: string, value: unknown, expected: string) => optionError('buildCollector', option, value, expected);
  if (!opts.store) throw bad('store', opts.store, 'an AuditStore (it is required)');
  const o = {
    ...opts,
    ...positiveIntegerOptions('buildCollector', opts, D, POSITIVE),
    rateLimitPerMinute: opts.rateLimitPerMinute ?? D.rateLimitPerMinute,
    redact: opts.redact ?? D.redact,
    grpc: opts.grpc && Object.freeze({ host: opts.grpc.host ?? D.grpcHost, port: opts.grpc.port ?? D.grpcPort }),
  };
  if (!Number.isSafeInteger(o.rateLimitPerMinute) || o.rateLimitPerMinute < 0) throw bad('rateLimitPerMinute', o.rateLimitPerMinute, '0 (no limit) or a positive integer');
  if (o.grpc && (!Number.isSafeInteger(o.grpc.port) || o.grpc.port < 0 || o.grpc.port > 65535)) throw bad('grpc.port', o.grpc.port, '0 to 65535');
  return Object.freeze(o);
}
