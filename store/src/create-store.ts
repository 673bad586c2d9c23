import { join } from 'node:path';
import { ConfigError } from '@otel-audit/contract';
import type { AuditStore } from './audit-store.js';
import { ElasticsearchStore, type ElasticsearchStoreOptions } from './elasticsearch-store.js';
import { ElasticsearchExportJobStore, SqliteExportJobStore, type ExportJobStore } from './export-jobs.js';
import { SqliteStore } from './sqlite-store.js';
import { settingsReader } from './env-settings.js';
import { STORE_SETTINGS } from './store-settings.js';
import { indexLayoutFromEnv } from './internal/index-settings.js';

export interface StoreConfig {
  /** When set, events live in Elasticsearch; otherwise in SQLite under `dataDir`. */
  elasticsearch?: ElasticsearchStoreOptions | undefined;
  /** Folder of the embedded store. */
  dataDir: string;
}

export const SQLITE_FILE = 'audit.sqlite';

export function createStore(config: StoreConfig): AuditStore {
  return config.elasticsearch
    ? new ElasticsearchStore(config.elasticsearch)
    : new SqliteStore({ path: join(config.dataDir, SQLITE_FILE) });
}

/**
 * Where background export jobs live: next to the events, so that every replica of the
 * export service sees the same jobs. On SQLite, pass the event store to share its
 * connection; otherwise the job store opens the same file (WAL allows both).
 */
export function createExportJobStore(config: StoreConfig, events?: AuditStore): ExportJobStore {
  if (config.elasticsearch) {
    const { url, username, password, apiKey } = config.elasticsearch;
    return new ElasticsearchExportJobStore({ url, username, password, apiKey });
  }
  return events instanceof SqliteStore
    ? new SqliteExportJobStore({ database: events.database })
    : new SqliteExportJobStore({ path: join(config.dataDir, SQLITE_FILE) });
}

/**
 * Reads the store settings every component shares from the environment (STORE_SETTINGS):
 * where events live, `AUDIT_RETENTION_DAYS` for the templates' ILM policy, and the index
 * layout of a cluster (AUDIT_ES_SHARDS, AUDIT_ES_REPLICAS, AUDIT_ES_REFRESH_INTERVAL,
 * AUDIT_ES_WAIT_FOR_ACTIVE_SHARDS), checked even without ELASTICSEARCH_URL so that a typo
 * does not wait for the day Elasticsearch is turned on.
 */
export function storeConfigFromEnv(env: NodeJS.ProcessEnv = process.env): StoreConfig {
  const read = settingsReader(STORE_SETTINGS, env);
  const url = read.raw('ELASTICSEARCH_URL');
  if (url) {
    try {
      new URL(url);
    } catch (err) {
      throw new ConfigError('ELASTICSEARCH_URL', `ELASTICSEARCH_URL is not a URL: ${JSON.stringify(url)}`, { value: url, cause: err });
    }
  }
  const layout = indexLayoutFromEnv(env);
  return {
    dataDir: read.text('AUDIT_DATA_DIR')!,
    elasticsearch: url
      ? {
          url,
          installTemplate: read.bool('AUDIT_ES_INSTALL_TEMPLATE'),
          retentionDays: retentionDaysFromEnv(env),
          ...layout,
          ...(env.ELASTICSEARCH_USERNAME ? { username: env.ELASTICSEARCH_USERNAME } : {}),
          ...(env.ELASTICSEARCH_PASSWORD ? { password: env.ELASTICSEARCH_PASSWORD } : {}),
          ...(env.ELASTICSEARCH_API_KEY ? { apiKey: env.ELASTICSEARCH_API_KEY } : {}),
        }
      : undefined,
  };
}

/** `AUDIT_RETENTION_DAYS`: days events are kept, 0 for ever. */
export function retentionDaysFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.AUDIT_RETENTION_DAYS?.trim();
  const { default: days, max } = STORE_SETTINGS.AUDIT_RETENTION_DAYS;
  // Digits only: `1e3`, `0x10` or `30.0` are more likely mistakes than intentions when data gets deleted.
  if (raw && (!/^\d{1,6}$/.test(raw) || Number(raw) > max)) {
    throw new ConfigError('AUDIT_RETENTION_DAYS', `AUDIT_RETENTION_DAYS must be a whole number of days from 0 (keep forever) to ${max}, got ${JSON.stringify(raw)}`, {
      value: raw,
    });
  }
  return raw ? Number(raw) : days;
}
