import { intFromEnv, storeConfigFromEnv, type StoreConfig } from '@otel-audit/store';
import { COLLECTOR_DEFAULTS } from './build-collector.js';

export interface CollectorConfig {
  host: string;
  port: number;
  bodyLimit: number;
  store: StoreConfig;
}

/**
 * Reads and validates the collector's environment, failing fast with the bad value
 * named: `AUDIT_COLLECTOR_HOST` (default 127.0.0.1), `AUDIT_COLLECTOR_PORT` (4318),
 * `AUDIT_COLLECTOR_BODY_LIMIT` (bytes, 64 MiB), plus the shared store variables.
 */
export function collectorConfigFromEnv(env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  return {
    host: env.AUDIT_COLLECTOR_HOST?.trim() || '127.0.0.1',
    port: intFromEnv(env, 'AUDIT_COLLECTOR_PORT', 4318, 0, 65535),
    bodyLimit: intFromEnv(env, 'AUDIT_COLLECTOR_BODY_LIMIT', COLLECTOR_DEFAULTS.bodyLimit, 1024, 2 ** 31 - 1),
    store: storeConfigFromEnv(env),
  };
}
