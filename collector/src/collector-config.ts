import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { ConfigError } from '@otel-audit/contract';
import {
  retentionDaysFromEnv,
  settingsReader,
  signerFromEnv,
  storeConfigFromEnv,
  type DigestSigner,
  type SettingsReader,
  type StoreConfig,
} from '@otel-audit/store';
import type { CollectorOptions } from './build-collector.js';
import { COLLECTOR_SETTINGS } from './collector-settings.js';
import { parseSenderTokens, readSenderTokensFile, type SenderTokenEntry } from './internal/sender-auth.js';

type CollectorSettingsReader = SettingsReader<keyof typeof COLLECTOR_SETTINGS>;

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
 * Reads and validates the collector's environment (COLLECTOR_SETTINGS, plus the store's
 * STORE_SETTINGS), failing fast with a ConfigError that names the variable and its value.
 *
 * A host beyond loopback without sender tokens is refused (anyone who reaches the port
 * could write audit events in any service's name) unless
 * `AUDIT_COLLECTOR_ALLOW_UNAUTHENTICATED=true`, which yields a warning in `warnings`.
 */
export function collectorConfigFromEnv(env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  const store = storeConfigFromEnv(env);
  const read = settingsReader(COLLECTOR_SETTINGS, env);
  const tokens = read.raw('AUDIT_COLLECTOR_TOKENS');
  const tokensFile = read.raw('AUDIT_COLLECTOR_TOKENS_FILE');
  if (tokens && tokensFile) {
    throw new ConfigError('AUDIT_COLLECTOR_TOKENS', 'set AUDIT_COLLECTOR_TOKENS or AUDIT_COLLECTOR_TOKENS_FILE, not both');
  }
  const senderTokens = tokens
    ? parseSenderTokens(env.AUDIT_COLLECTOR_TOKENS!, 'AUDIT_COLLECTOR_TOKENS')
    : tokensFile
      ? readSenderTokensFile(tokensFile)
      : [];
  const spoolDir = read.raw('AUDIT_COLLECTOR_SPOOL_DIR') ?? join(store.dataDir, 'collector-spool');
  const host = read.text('AUDIT_COLLECTOR_HOST')!;
  const warnings: string[] = [];
  const allowUnauthenticated = read.bool('AUDIT_COLLECTOR_ALLOW_UNAUTHENTICATED');
  if (senderTokens.length === 0 && !isLoopbackHost(host)) {
    if (!allowUnauthenticated) {
      throw new ConfigError(
        'AUDIT_COLLECTOR_HOST',
        `AUDIT_COLLECTOR_HOST=${JSON.stringify(host)} listens beyond loopback without sender authentication: ` +
          'set AUDIT_COLLECTOR_TOKENS or AUDIT_COLLECTOR_TOKENS_FILE (token=service.name entries), ' +
          'or set AUDIT_COLLECTOR_ALLOW_UNAUTHENTICATED=true to accept events from anyone who can reach the port',
        { value: host },
      );
    }
    warnings.push(
      `the collector listens on ${host} without sender authentication (AUDIT_COLLECTOR_ALLOW_UNAUTHENTICATED=true): ` +
        'anyone who can reach the port may write audit events in any service.name; set AUDIT_COLLECTOR_TOKENS to stop that',
    );
  }
  const requestTimeoutMillis = read.int('AUDIT_COLLECTOR_REQUEST_TIMEOUT_MS');
  const headersTimeoutMillis = read.int('AUDIT_COLLECTOR_HEADERS_TIMEOUT_MS');
  // Node refuses to start a server whose headers may take longer than the whole request.
  if (headersTimeoutMillis > requestTimeoutMillis) {
    throw new ConfigError(
      'AUDIT_COLLECTOR_HEADERS_TIMEOUT_MS',
      `AUDIT_COLLECTOR_HEADERS_TIMEOUT_MS (${headersTimeoutMillis}) must not exceed AUDIT_COLLECTOR_REQUEST_TIMEOUT_MS (${requestTimeoutMillis})`,
      { value: String(headersTimeoutMillis) },
    );
  }
  const port = read.int('AUDIT_COLLECTOR_PORT');
  const grpcPort = grpcPortFromEnv(read, port);
  return {
    host,
    port,
    grpcPort,
    bodyLimit: read.int('AUDIT_COLLECTOR_BODY_LIMIT'),
    spoolDir,
    spoolMaxBytes: read.int('AUDIT_COLLECTOR_SPOOL_MAX_BYTES'),
    storeTimeoutMillis: read.int('AUDIT_COLLECTOR_STORE_TIMEOUT_MS'),
    deadLetterMaxBytes: read.int('AUDIT_COLLECTOR_DEAD_LETTER_MAX_BYTES'),
    requestTimeoutMillis,
    headersTimeoutMillis,
    connectionTimeoutMillis: read.int('AUDIT_COLLECTOR_CONNECTION_TIMEOUT_MS'),
    keepAliveTimeoutMillis: read.int('AUDIT_COLLECTOR_KEEP_ALIVE_TIMEOUT_MS'),
    rateLimitPerMinute: read.int('AUDIT_COLLECTOR_RATE_LIMIT'),
    senderTokens,
    redact: redactFromEnv(env),
    store,
    retention: retentionConfigFromEnv(env),
    integrity: integrityConfigFromEnv(read, env, spoolDir),
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
function grpcPortFromEnv(read: CollectorSettingsReader, httpPort: number): number | undefined {
  const grpcPort = read.int('AUDIT_COLLECTOR_GRPC_PORT');
  if (!read.bool('AUDIT_COLLECTOR_GRPC')) return undefined;
  if (grpcPort !== 0 && grpcPort === httpPort) {
    throw new ConfigError(
      'AUDIT_COLLECTOR_GRPC_PORT',
      `AUDIT_COLLECTOR_GRPC_PORT (${grpcPort}) must differ from AUDIT_COLLECTOR_PORT (${httpPort}), or set AUDIT_COLLECTOR_GRPC=false`,
      { value: String(grpcPort) },
    );
  }
  return grpcPort;
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
  // Not read.text: a set but empty AUDIT_REDACT_FLAGS means no flags, not the default ones.
  const flags = env.AUDIT_REDACT_FLAGS?.trim() ?? COLLECTOR_SETTINGS.AUDIT_REDACT_FLAGS.default;
  if (env.AUDIT_REDACT_PATTERN !== undefined && !source) {
    throw new ConfigError('AUDIT_REDACT_PATTERN', 'AUDIT_REDACT_PATTERN is empty: it would redact every changes and metadata value; unset it for the default', {
      value: '',
    });
  }
  if (!/^[imsuv]*$/.test(flags)) {
    throw new ConfigError('AUDIT_REDACT_FLAGS', `AUDIT_REDACT_FLAGS may hold only the flags i, m, s, u and v, got ${JSON.stringify(flags)}`, { value: flags });
  }
  try {
    return new RegExp(source ?? COLLECTOR_SETTINGS.AUDIT_REDACT_PATTERN.default, flags);
  } catch (err) {
    throw new ConfigError(
      'AUDIT_REDACT_PATTERN',
      `AUDIT_REDACT_PATTERN ${JSON.stringify(source)} with flags ${JSON.stringify(flags)} is not a valid regular expression: ${(err as Error).message}`,
      { value: source, cause: err },
    );
  }
}

function integrityConfigFromEnv(read: CollectorSettingsReader, env: NodeJS.ProcessEnv, spoolDir: string): IntegrityConfig | undefined {
  // Unset: on exactly when a signing key is set.
  const chain = read.raw('AUDIT_CHAIN') === undefined ? undefined : read.bool('AUDIT_CHAIN');
  const signer = signerFromEnv(env);
  if (chain === true && !signer) {
    throw new ConfigError('AUDIT_CHAIN', 'AUDIT_CHAIN=true needs a signing key: set AUDIT_SIGNING_KEY_FILE or AUDIT_SIGNING_KEY (otel-audit keygen makes one)', {
      value: 'true',
    });
  }
  // Checked even when chaining is off, so a typo does not wait for the day it is turned on.
  const digestIntervalMillis = read.int('AUDIT_DIGEST_INTERVAL_MS');
  const digestEvents = read.int('AUDIT_DIGEST_EVENTS');
  if (chain === false || !signer) return undefined;
  // The chain id lives with the spool: both belong to this one instance and must survive its restarts.
  return { signer, stateDir: spoolDir, digestIntervalMillis, digestEvents };
}

function retentionConfigFromEnv(env: NodeJS.ProcessEnv): RetentionConfig {
  const days = retentionDaysFromEnv(env);
  const username = env.AUDIT_RETENTION_ELASTICSEARCH_USERNAME?.trim();
  const password = env.AUDIT_RETENTION_ELASTICSEARCH_PASSWORD;
  if (Boolean(username) !== Boolean(password)) {
    throw new ConfigError(
      username ? 'AUDIT_RETENTION_ELASTICSEARCH_PASSWORD' : 'AUDIT_RETENTION_ELASTICSEARCH_USERNAME',
      `set both AUDIT_RETENTION_ELASTICSEARCH_USERNAME and AUDIT_RETENTION_ELASTICSEARCH_PASSWORD, or neither (only ${username ? 'the user name' : 'the password'} is set)`,
    );
  }
  return { days, ...(username && password ? { elasticsearch: { username, password } } : {}) };
}
