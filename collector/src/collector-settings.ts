import { settingTable } from '@otel-audit/store';
import { COLLECTOR_DEFAULTS } from './build-collector.js';
import { INTEGRITY_DEFAULTS } from './internal/chain-keeper.js';

const D = COLLECTOR_DEFAULTS;
const TIMEOUT = { type: 'integer', min: 1000, max: 3_600_000 } as const;

/**
 * The collector's environment, read by collectorConfigFromEnv (plus STORE_SETTINGS, which
 * every component shares). A new setting is one entry here, read with `read.int(name)` /
 * `read.bool(name)` / `read.text(name)`; docs/configuration.md is generated from this table
 * (npx tsx scripts/write-config-docs.ts).
 */
export const COLLECTOR_SETTINGS = settingTable({
  AUDIT_COLLECTOR_HOST: {
    type: 'text',
    default: '127.0.0.1',
    description: 'listen address of OTLP/HTTP and OTLP/gRPC (`0.0.0.0` in a container); beyond loopback only with sender tokens',
  },
  AUDIT_COLLECTOR_PORT: { type: 'integer', default: 4318, min: 0, max: 65535, description: 'OTLP/HTTP listen port; `0` picks a free one' },
  AUDIT_COLLECTOR_GRPC_PORT: {
    type: 'integer',
    default: D.grpcPort,
    min: 0,
    max: 65535,
    description: 'OTLP/gRPC port on the same host; `0` picks a free one; must differ from `AUDIT_COLLECTOR_PORT`',
  },
  AUDIT_COLLECTOR_GRPC: { type: 'boolean', default: true, description: '`false` turns OTLP/gRPC off' },
  AUDIT_COLLECTOR_BODY_LIMIT: {
    type: 'integer',
    default: D.bodyLimit,
    min: 1024,
    max: 2 ** 31 - 1,
    description: 'largest request body in bytes, after gzip is undone (413 above)',
  },
  AUDIT_COLLECTOR_SPOOL_DIR: {
    type: 'path',
    defaultText: '`$AUDIT_DATA_DIR/collector-spool`',
    description: 'where batches wait, fsynced, while the store is unavailable; also holds the chain id; one process per folder',
  },
  AUDIT_COLLECTOR_SPOOL_MAX_BYTES: {
    type: 'integer',
    default: D.spoolMaxBytes,
    min: 1024 * 1024,
    max: Number.MAX_SAFE_INTEGER,
    description: 'past this, requests get 503 + `Retry-After`',
  },
  AUDIT_COLLECTOR_STORE_TIMEOUT_MS: {
    type: 'integer',
    default: D.storeTimeoutMillis,
    min: 100,
    max: 60_000,
    description: "longest wait for the store before a batch is spooled (below OTLP clients' 10 s timeout)",
  },
  AUDIT_COLLECTOR_TOKENS: {
    type: 'secret',
    description:
      '`token=service.name` pairs, comma-separated: sender authentication on; `token=service.name:invoice.*|payment.create` also limits the token to those actions ([security model](security-model.md))',
  },
  AUDIT_COLLECTOR_TOKENS_FILE: { type: 'path', description: 'the same, one pair per line, from a file (`#` comments); not with `AUDIT_COLLECTOR_TOKENS`' },
  AUDIT_COLLECTOR_ALLOW_UNAUTHENTICATED: {
    type: 'boolean',
    default: false,
    description: '`true` lets the collector listen beyond loopback without sender tokens (refused at start-up otherwise), with a warning at start',
  },
  AUDIT_COLLECTOR_RATE_LIMIT: {
    type: 'integer',
    default: D.rateLimitPerMinute,
    min: 0,
    max: 1_000_000_000,
    description: "requests a minute per sender (its token's service, else its address); past it 429 + `Retry-After`; `0` turns it off",
  },
  AUDIT_COLLECTOR_REQUEST_TIMEOUT_MS: {
    ...TIMEOUT,
    default: D.requestTimeoutMillis,
    description: 'longest time to receive a whole request, body included (408 after)',
  },
  AUDIT_COLLECTOR_HEADERS_TIMEOUT_MS: {
    ...TIMEOUT,
    default: D.headersTimeoutMillis,
    description: 'longest time to receive the headers; at most the request timeout',
  },
  AUDIT_COLLECTOR_CONNECTION_TIMEOUT_MS: {
    ...TIMEOUT,
    default: D.connectionTimeoutMillis,
    description: 'a socket without traffic for this long is closed',
  },
  AUDIT_COLLECTOR_KEEP_ALIVE_TIMEOUT_MS: {
    ...TIMEOUT,
    default: D.keepAliveTimeoutMillis,
    description: "idle keep-alive connections are closed after this (above common load balancers' 60 s)",
  },
  AUDIT_COLLECTOR_DEAD_LETTER_MAX_BYTES: {
    type: 'integer',
    default: D.deadLetterMaxBytes,
    min: 1024,
    max: 16 * 1024 * 1024,
    description: 'largest stored JSON of one refused record; a larger one is kept as its beginning and its original size',
  },
  AUDIT_REDACT_PATTERN: {
    type: 'text',
    default: D.redact.source,
    description:
      "a regular expression's source: which `changes[].field` and `metadata` keys are stored `[REDACTED]`, whoever sent the event (set the same pattern as your apps' `redact` option); replaces the default, never empty",
  },
  AUDIT_REDACT_FLAGS: { type: 'text', default: D.redact.flags, description: 'its flags: any of `i`, `m`, `s`, `u`, `v`' },
  AUDIT_RETENTION_ELASTICSEARCH_USERNAME: {
    type: 'text',
    description: 'the admin (set-up) user retention deletes indices with, on Elasticsearch; unset means retention is off there (one warning at start)',
  },
  AUDIT_RETENTION_ELASTICSEARCH_PASSWORD: { type: 'secret', description: 'its password; both or neither' },
  AUDIT_CHAIN: {
    type: 'boolean',
    defaultText: '`true` when a signing key is set',
    description: '`false` stores events without chain positions (for comparison only); `true` without a key is a start-up error',
  },
  AUDIT_DIGEST_INTERVAL_MS: {
    type: 'integer',
    default: INTEGRITY_DEFAULTS.digestIntervalMillis,
    min: 1000,
    max: 86_400_000,
    description: 'a signed digest at least this often while there are new events',
  },
  AUDIT_DIGEST_EVENTS: {
    type: 'integer',
    default: INTEGRITY_DEFAULTS.digestEvents,
    min: 1,
    max: 10_000_000,
    description: '… and as soon as this many events wait for one',
  },
});
