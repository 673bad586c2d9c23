export { buildCollector, COLLECTOR_DEFAULTS } from './build-collector.js';
export type { CollectorOptions } from './build-collector.js';
export { collectorConfigFromEnv } from './collector-config.js';
export type { CollectorConfig } from './collector-config.js';
export { CollectorError, COLLECTOR_ERRORS } from './errors.js';
export type { CollectorErrorCode } from './errors.js';
export { RetentionJob, retentionCutoff, retentionFromConfig, RETENTION_DEFAULT_INTERVAL_MS } from './internal/retention.js';
export type { RetentionOptions, RetentionSetup } from './internal/retention.js';
export type { RetentionConfig } from './collector-config.js';
