import { join } from 'node:path';
import { intFromEnv, retentionDaysFromEnv, storeConfigFromEnv, type StoreConfig } from '@otel-audit/store';
import { COLLECTOR_DEFAULTS } from './build-collector.js';
import { parseSenderTokens, readSenderTokensFile } from './internal/sender-auth.js';

export interface CollectorConfig {
  host: string;
  port: number;
  bodyLimit: number;
  spoolDir: string;
  spoolMaxBytes: number;
  storeTimeoutMillis: number;
  /** Empty: sender authentication is off. */
  senderTokens: [string, string][];
  store: StoreConfig;
  retention: RetentionConfig;
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
 * `AUDIT_COLLECTOR_BODY_LIMIT` (bytes, 64 MiB), `AUDIT_COLLECTOR_SPOOL_DIR`
 * (`AUDIT_DATA_DIR/collector-spool`), `AUDIT_COLLECTOR_SPOOL_MAX_BYTES` (1 GiB),
 * `AUDIT_COLLECTOR_STORE_TIMEOUT_MS` (5000), `AUDIT_COLLECTOR_TOKENS` /
 * `AUDIT_COLLECTOR_TOKENS_FILE` (sender tokens, off by default), `AUDIT_RETENTION_DAYS`
 * (365; 0 keeps everything), `AUDIT_RETENTION_ELASTICSEARCH_USERNAME` /
 * `_PASSWORD` (both or neither), plus the store's.
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
  return {
    host: env.AUDIT_COLLECTOR_HOST?.trim() || '127.0.0.1',
    port: intFromEnv(env, 'AUDIT_COLLECTOR_PORT', 4318, 0, 65535),
    bodyLimit: intFromEnv(env, 'AUDIT_COLLECTOR_BODY_LIMIT', COLLECTOR_DEFAULTS.bodyLimit, 1024, 2 ** 31 - 1),
    spoolDir: env.AUDIT_COLLECTOR_SPOOL_DIR?.trim() || join(store.dataDir, 'collector-spool'),
    spoolMaxBytes: intFromEnv(env, 'AUDIT_COLLECTOR_SPOOL_MAX_BYTES', COLLECTOR_DEFAULTS.spoolMaxBytes, 1024 * 1024, Number.MAX_SAFE_INTEGER),
    storeTimeoutMillis: intFromEnv(env, 'AUDIT_COLLECTOR_STORE_TIMEOUT_MS', COLLECTOR_DEFAULTS.storeTimeoutMillis, 100, 60_000),
    senderTokens,
    store,
    retention: retentionConfigFromEnv(env),
  };
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
