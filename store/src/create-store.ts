import { join } from 'node:path';
import type { AuditStore } from './audit-store.js';
import { ElasticsearchStore, type ElasticsearchStoreOptions } from './elasticsearch-store.js';
import { ElasticsearchExportJobStore, SqliteExportJobStore, type ExportJobStore } from './export-jobs.js';
import { SqliteStore } from './sqlite-store.js';

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
 * Reads the store settings every component shares from the environment:
 * `ELASTICSEARCH_URL`, `ELASTICSEARCH_USERNAME`, `ELASTICSEARCH_PASSWORD`,
 * `ELASTICSEARCH_API_KEY`, `AUDIT_ES_INSTALL_TEMPLATE` (default true), `AUDIT_DATA_DIR`
 * (default `./data`), and `AUDIT_RETENTION_DAYS` for the templates' ILM policy.
 */
export function storeConfigFromEnv(env: NodeJS.ProcessEnv = process.env): StoreConfig {
  const url = env.ELASTICSEARCH_URL?.trim();
  if (url) {
    try {
      new URL(url);
    } catch {
      throw new Error(`ELASTICSEARCH_URL is not a URL: ${JSON.stringify(url)}`);
    }
  }
  const install = env.AUDIT_ES_INSTALL_TEMPLATE?.trim() || 'true';
  if (install !== 'true' && install !== 'false') {
    throw new Error(`AUDIT_ES_INSTALL_TEMPLATE must be true or false, got ${JSON.stringify(install)}`);
  }
  return {
    dataDir: env.AUDIT_DATA_DIR?.trim() || './data',
    elasticsearch: url
      ? {
          url,
          installTemplate: install === 'true',
          retentionDays: retentionDaysFromEnv(env),
          ...(env.ELASTICSEARCH_USERNAME ? { username: env.ELASTICSEARCH_USERNAME } : {}),
          ...(env.ELASTICSEARCH_PASSWORD ? { password: env.ELASTICSEARCH_PASSWORD } : {}),
          ...(env.ELASTICSEARCH_API_KEY ? { apiKey: env.ELASTICSEARCH_API_KEY } : {}),
        }
      : undefined,
  };
}

export const RETENTION_MAX_DAYS = 36_500;

/** `AUDIT_RETENTION_DAYS`: days events are kept, 0 for ever. Default: 365. */
export function retentionDaysFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.AUDIT_RETENTION_DAYS?.trim();
  // Digits only: `1e3`, `0x10` or `30.0` are more likely mistakes than intentions when data gets deleted.
  if (raw && (!/^\d{1,6}$/.test(raw) || Number(raw) > RETENTION_MAX_DAYS)) {
    throw new Error(`AUDIT_RETENTION_DAYS must be a whole number of days from 0 (keep forever) to ${RETENTION_MAX_DAYS}, got ${JSON.stringify(raw)}`);
  }
  return raw ? Number(raw) : 365;
}

/** An integer setting from the environment, or the fallback; out of range fails naming the variable. */
export function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}
