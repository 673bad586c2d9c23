import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { intFromEnv, retentionDaysFromEnv, signerFromEnv, storeConfigFromEnv, type DigestSigner, type StoreConfig } from '@otel-audit/store';
import { INTEGRITY_DEFAULTS } from './internal/chain-keeper.js';
import { COLLECTOR_DEFAULTS, type CollectorOptions } from './build-collector.js';
import { parseSenderTokens, readSenderTokensFile, type SenderTokenEntry } from './internal/sender-auth.js';

export interface CollectorConfig {
  host: string;
  port: number;
  /** OTLP/gRPC port on `host` (0: the OS picks); undefined: gRPC is off. */
  grpcPort: number | undefined;
  bodyLimit: number;
  spoolDir: string;
  spoolMaxBytes: number;
  storeTimeoutMillis: number;
  deadLetterMaxBytes: number;
  requestTimeoutMillis: number;
  headersTimeoutMillis: number;
  connectionTimeoutMillis: number;
  keepAliveTimeoutMillis: number;
  /** Requests per minute per sender; 0: no limit. */
  rateLimitPerMinute: number;
  /** `[token, service.name, actions?]`; empty: sender authentication is off. */
  senderTokens: SenderTokenEntry[];
  /** `changes[].field` and `metadata` keys whose values are stored as `[REDACTED]`. */
  redact: RegExp;
  store: StoreConfig;
  retention: RetentionConfig;
  /** Hash chain and signed digests; undefined when chaining is off. */
  integrity: IntegrityConfig | undefined;
  /** Accepted but risky settings; the caller logs each once at start (as a warning). */
  warnings: string[];
}

export interface IntegrityConfig {
  signer: DigestSigner;
  stateDir: string;
  digestIntervalMillis: number;
  digestEvents: number;
}

export interface RetentionConfig {
  /** 0: keep everything. */
  days: number;
  /** The admin (set-up) user that may delete daily indices, when the store is Elasticsearch. */
  elasticsearch?: { username: string; password: string } | undefined;
}

/**
 * Reads and validates the collector's environment, failing fast with the bad value
 * named: `AUDIT_COLLECTOR_HOST` (default 127.0.0.1), `AUDIT_COLLECTOR_PORT` (4318),
 * `AUDIT_COLLECTOR_GRPC_PORT` (OTLP/gRPC on the same host, 4317) and `AUDIT_COLLECTOR_GRPC`
 * (true / false, default true),
 * `AUDIT_COLLECTOR_BODY_LIMIT` (bytes, 64 MiB), `AUDIT_COLLECTOR_SPOOL_DIR`
 * (`AUDIT_DATA_DIR/collector-spool`), `AUDIT_COLLECTOR_SPOOL_MAX_BYTES` (1 GiB),
 * `AUDIT_COLLECTOR_STORE_TIMEOUT_MS` (5000), `AUDIT_COLLECTOR_TOKENS` /
 * `AUDIT_COLLECTOR_TOKENS_FILE` (sender tokens, off by default), `AUDIT_RETENTION_DAYS`
 * (365; 0 keeps everything), `AUDIT_RETENTION_ELASTICSEARCH_USERNAME` /
 * `_PASSWORD` (both or neither), `AUDIT_CHAIN` (true / false; default: true when a signing
 * key is set), `AUDIT_SIGNING_KEY_FILE` / `AUDIT_SIGNING_KEY` (Ed25519 PEM),
 * `AUDIT_DIGEST_INTERVAL_MS` (60000), `AUDIT_DIGEST_EVENTS` (10000),
 * `AUDIT_COLLECTOR_DEAD_LETTER_MAX_BYTES` (16384), `AUDIT_COLLECTOR_REQUEST_TIMEOUT_MS` (30000),
 * `AUDIT_COLLECTOR_HEADERS_TIMEOUT_MS` (10000, at most the request timeout),
 * `AUDIT_COLLECTOR_CONNECTION_TIMEOUT_MS` (120000), `AUDIT_COLLECTOR_KEEP_ALIVE_TIMEOUT_MS`
 * (72000), `AUDIT_COLLECTOR_RATE_LIMIT` (requests per minute per sender, 12000; 0: off),
 * `AUDIT_COLLECTOR_ALLOW_UNAUTHENTICATED` (true / false, default false), `AUDIT_REDACT_PATTERN`
 * (a regular expression's source; default DEFAULT_REDACT's) with `AUDIT_REDACT_FLAGS`
 * (default `i`), plus the store's.
 * COLLECTOR_DEFAULTS holds the defaults.
 *
 * A host beyond loopback without sender tokens is refused (anyone who reaches the port
 * could write audit events in any service's name) unless
 * `AUDIT_COLLECTOR_ALLOW_UNAUTHENTICATED=true`, which yields a warning in `warnings`.
 */
export function collectorConfigFromEnv(env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  const store = storeConfigFromEnv(env);
  if (env.AUDIT_COLLECTOR_TOKENS?.trim() && env.AUDIT_COLLECTOR_TOKENS_FILE?.trim()) {
    throw new Error('set AUDIT_COLLECTOR_TOKENS or AUDIT_COLLECTOR_TOKENS_FILE, not both');
  }
  const senderTokens = env.AUDIT_COLLECTOR_TOKENS?.trim()
    ? parseSenderTokens(env.AUDIT_COLLECTOR_TOKENS, 'AUDIT_COLLECTOR_TOKENS')
    : env.AUDIT_COLLECTOR_TOKENS_FILE?.trim()
      ? readSenderTokensFile(env.AUDIT_COLLECTOR_TOKENS_FILE.trim())
      : [];
  const spoolDir = env.AUDIT_COLLECTOR_SPOOL_DIR?.trim() || join(store.dataDir, 'collector-spool');
  const host = env.AUDIT_COLLECTOR_HOST?.trim() || '127.0.0.1';
  const warnings: string[] = [];
  const allowUnauthenticated = booleanFromEnv(env, 'AUDIT_COLLECTOR_ALLOW_UNAUTHENTICATED');
  if (senderTokens.length === 0 && !isLoopbackHost(host)) {
    if (!allowUnauthenticated) {
      throw new Error(
        `AUDIT_COLLECTOR_HOST=${JSON.stringify(host)} listens beyond loopback without sender authentication: ` +
          'set AUDIT_COLLECTOR_TOKENS or AUDIT_COLLECTOR_TOKENS_FILE (token=service.name entries), ' +
          'or set AUDIT_COLLECTOR_ALLOW_UNAUTHENTICATED=true to accept events from anyone who can reach the port',
      );
    }
    warnings.push(
      `the collector listens on ${host} without sender authentication (AUDIT_COLLECTOR_ALLOW_UNAUTHENTICATED=true): ` +
        'anyone who can reach the port may write audit events in any service.name; set AUDIT_COLLECTOR_TOKENS to stop that',
    );
  }
  const D = COLLECTOR_DEFAULTS;
  const requestTimeoutMillis = intFromEnv(env, 'AUDIT_COLLECTOR_REQUEST_TIMEOUT_MS', D.requestTimeoutMillis, 1000, 3_600_000);
  const headersTimeoutMillis = intFromEnv(env, 'AUDIT_COLLECTOR_HEADERS_TIMEOUT_MS', D.headersTimeoutMillis, 1000, 3_600_000);
  // Node refuses to start a server whose headers may take longer than the whole request.
  if (headersTimeoutMillis > requestTimeoutMillis) {
    throw new Error(
      `AUDIT_COLLECTOR_HEADERS_TIMEOUT_MS (${headersTimeoutMillis}) must not exceed AUDIT_COLLECTOR_REQUEST_TIMEOUT_MS (${requestTimeoutMillis})`,
    );
  }
  const port = intFromEnv(env, 'AUDIT_COLLECTOR_PORT', 4318, 0, 65535);
  const grpcPort = grpcPortFromEnv(env, port);
  return {
    host,
    port,
    grpcPort,
    bodyLimit: intFromEnv(env, 'AUDIT_COLLECTOR_BODY_LIMIT', COLLECTOR_DEFAULTS.bodyLimit, 1024, 2 ** 31 - 1),
    spoolDir,
    spoolMaxBytes: intFromEnv(env, 'AUDIT_COLLECTOR_SPOOL_MAX_BYTES', COLLECTOR_DEFAULTS.spoolMaxBytes, 1024 * 1024, Number.MAX_SAFE_INTEGER),
    storeTimeoutMillis: intFromEnv(env, 'AUDIT_COLLECTOR_STORE_TIMEOUT_MS', COLLECTOR_DEFAULTS.storeTimeoutMillis, 100, 60_000),
    deadLetterMaxBytes: intFromEnv(env, 'AUDIT_COLLECTOR_DEAD_LETTER_MAX_BYTES', D.deadLetterMaxBytes, 1024, 16 * 1024 * 1024),
    requestTimeoutMillis,
    headersTimeoutMillis,
    connectionTimeoutMillis: intFromEnv(env, 'AUDIT_COLLECTOR_CONNECTION_TIMEOUT_MS', D.connectionTimeoutMillis, 1000, 3_600_000),
    keepAliveTimeoutMillis: intFromEnv(env, 'AUDIT_COLLECTOR_KEEP_ALIVE_TIMEOUT_MS', D.keepAliveTimeoutMillis, 1000, 3_600_000),
    rateLimitPerMinute: intFromEnv(env, 'AUDIT_COLLECTOR_RATE_LIMIT', D.rateLimitPerMinute, 0, 1_000_000_000),
    senderTokens,
    redact: redactFromEnv(env),
    store,
    retention: retentionConfigFromEnv(env),
    integrity: integrityConfigFromEnv(env, spoolDir),
    warnings,
  };
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/**
 * Only `localhost` and loopback addresses count: any other name may resolve to an
 * interface others can reach, and the collector cannot tell which.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIPv4(h)) return LOOPBACK.check(h, 'ipv4');
  if (isIPv6(h)) return LOOPBACK.check(h, 'ipv6');
  return false;
}

/**
 * OTLP/gRPC shares the host, and so the loopback/token rule above. Checked even when gRPC
 * is off, so a typo does not wait for the day it is turned on.
 */
function grpcPortFromEnv(env: NodeJS.ProcessEnv, httpPort: number): number | undefined {
  const grpcPort = intFromEnv(env, 'AUDIT_COLLECTOR_GRPC_PORT', COLLECTOR_DEFAULTS.grpcPort, 0, 65535);
  const raw = env.AUDIT_COLLECTOR_GRPC?.trim();
  if (raw && raw !== 'true' && raw !== 'false') throw new Error(`AUDIT_COLLECTOR_GRPC must be true or false, got ${JSON.stringify(raw)}`);
  if (raw === 'false') return undefined;
  if (grpcPort !== 0 && grpcPort === httpPort) {
    throw new Error(`AUDIT_COLLECTOR_GRPC_PORT (${grpcPort}) must differ from AUDIT_COLLECTOR_PORT (${httpPort}), or set AUDIT_COLLECTOR_GRPC=false`);
  }
  return grpcPort;
}

function booleanFromEnv(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name]?.trim();
  if (!raw) return false;
  if (raw !== 'true' && raw !== 'false') throw new Error(`${name} must be true or false, got ${JSON.stringify(raw)}`);
  return raw === 'true';
}

/**
 * The buildCollector options a config sets, so a setting added here reaches the collector
 * without the caller listing it: `buildCollector({ store, ...collectorOptionsFromConfig(config) })`.
 */
export function collectorOptionsFromConfig(config: CollectorConfig): Omit<CollectorOptions, 'store' | 'retention' | 'logger'> {
  return {
    bodyLimit: config.bodyLimit,
    spoolDir: config.spoolDir,
    spoolMaxBytes: config.spoolMaxBytes,
    storeTimeoutMillis: config.storeTimeoutMillis,
    senderTokens: config.senderTokens,
    deadLetterMaxBytes: config.deadLetterMaxBytes,
    requestTimeoutMillis: config.requestTimeoutMillis,
    headersTimeoutMillis: config.headersTimeoutMillis,
    connectionTimeoutMillis: config.connectionTimeoutMillis,
    keepAliveTimeoutMillis: config.keepAliveTimeoutMillis,
    rateLimitPerMinute: config.rateLimitPerMinute,
    redact: config.redact,
    ...(config.grpcPort !== undefined ? { grpc: { host: config.host, port: config.grpcPort } } : {}),
    ...(config.integrity ? { integrity: config.integrity } : {}),
  };
}

/**
 * The redaction pattern: replaces DEFAULT_REDACT (to extend it, repeat its source). The
 * `g` and `y` flags are refused: they make a RegExp remember where it last matched, which
 * has no meaning for a name test. An empty pattern would redact every value, which is
 * not redaction but loss.
 */
function redactFromEnv(env: NodeJS.ProcessEnv): RegExp {
  const source = env.AUDIT_REDACT_PATTERN?.trim();
  const flags = env.AUDIT_REDACT_FLAGS?.trim() ?? COLLECTOR_DEFAULTS.redact.flags;
  if (env.AUDIT_REDACT_PATTERN !== undefined && !source) {
    throw new Error('AUDIT_REDACT_PATTERN is empty: it would redact every changes and metadata value; unset it for the default');
  }
  if (!/^[imsuv]*$/.test(flags)) {
    throw new Error(`AUDIT_REDACT_FLAGS may hold only the flags i, m, s, u and v, got ${JSON.stringify(flags)}`);
  }
  try {
    return new RegExp(source ?? COLLECTOR_DEFAULTS.redact.source, flags);
  } catch (err) {
    throw new Error(`AUDIT_REDACT_PATTERN ${JSON.stringify(source)} with flags ${JSON.stringify(flags)} is not a valid regular expression: ${(err as Error).message}`);
  }
}

function integrityConfigFromEnv(env: NodeJS.ProcessEnv, spoolDir: string): IntegrityConfig | undefined {
  const raw = env.AUDIT_CHAIN?.trim();
  if (raw && raw !== 'true' && raw !== 'false') throw new Error(`AUDIT_CHAIN must be true or false, got ${JSON.stringify(raw)}`);
  const signer = signerFromEnv(env);
  if (raw === 'true' && !signer) throw new Error('AUDIT_CHAIN=true needs a signing key: set AUDIT_SIGNING_KEY_FILE or AUDIT_SIGNING_KEY (otel-audit keygen makes one)');
  // Checked even when chaining is off, so a typo does not wait for the day it is turned on.
  const digestIntervalMillis = intFromEnv(env, 'AUDIT_DIGEST_INTERVAL_MS', INTEGRITY_DEFAULTS.digestIntervalMillis, 1000, 86_400_000);
  const digestEvents = intFromEnv(env, 'AUDIT_DIGEST_EVENTS', INTEGRITY_DEFAULTS.digestEvents, 1, 10_000_000);
  if (raw === 'false' || !signer) return undefined;
  // The chain id lives with the spool: both belong to this one instance and must survive its restarts.
  return { signer, stateDir: spoolDir, digestIntervalMillis, digestEvents };
}

function retentionConfigFromEnv(env: NodeJS.ProcessEnv): RetentionConfig {
  const days = retentionDaysFromEnv(env);
  const username = env.AUDIT_RETENTION_ELASTICSEARCH_USERNAME?.trim();
  const password = env.AUDIT_RETENTION_ELASTICSEARCH_PASSWORD;
  if (Boolean(username) !== Boolean(password)) {
    throw new Error(
      `set both AUDIT_RETENTION_ELASTICSEARCH_USERNAME and AUDIT_RETENTION_ELASTICSEARCH_PASSWORD, or neither (only ${username ? 'the user name' : 'the password'} is set)`,
    );
  }
  return { days, ...(username && password ? { elasticsearch: { username, password } } : {}) };
}
