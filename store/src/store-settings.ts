import { settingTable } from './env-settings.js';

export const RETENTION_MAX_DAYS = 36_500;

/** The settings every component shares (the store's, retention, the signing key): read by storeConfigFromEnv, retentionDaysFromEnv and signerFromEnv. */
export const STORE_SETTINGS = settingTable({
  ELASTICSEARCH_URL: { type: 'url', description: 'Elasticsearch node URL; unset means the embedded SQLite store' },
  ELASTICSEARCH_USERNAME: { type: 'text', description: 'basic auth user for Elasticsearch' },
  ELASTICSEARCH_PASSWORD: { type: 'secret', description: 'basic auth password for Elasticsearch' },
  ELASTICSEARCH_API_KEY: { type: 'secret', description: 'API key auth for Elasticsearch (instead of user and password)' },
  AUDIT_ES_INSTALL_TEMPLATE: {
    type: 'boolean',
    default: true,
    description: 'install the index templates (and the ILM policy) at start; `false` when the collector runs as the create-only writer',
  },
  AUDIT_DATA_DIR: {
    type: 'path',
    default: './data',
    description: 'folder of the SQLite file (`audit.sqlite`), the development secrets and the default spool and export folders',
  },
  AUDIT_RETENTION_DAYS: {
    type: 'integer',
    default: 365,
    min: 0,
    max: RETENTION_MAX_DAYS,
    description:
      'events and dead letters older than this many days (from the start of today, UTC) are deleted; `0` keeps everything; digits only. `setup` (and a collector that installs the templates) puts it in the ILM policy where the cluster has ILM',
  },
  AUDIT_ES_SHARDS: {
    type: 'integer',
    default: 1,
    min: 1,
    max: 1024,
    description: 'primary shards of each daily event index (docs/running-on-a-cluster.md); new indices only, an existing one keeps its count',
  },
  AUDIT_ES_REPLICAS: {
    type: 'text',
    default: '0-1',
    description:
      'replicas of every audit index: a count (`1`: each shard on two nodes) or an `auto_expand_replicas` range (`0-1` follows the number of nodes, up to one)',
  },
  AUDIT_ES_REFRESH_INTERVAL: {
    type: 'text',
    defaultText: "Elasticsearch's (`1s`, skipped while no one searches)",
    description: '`index.refresh_interval` of the daily event indices (`5s`, `30s`, `-1`): how soon a stored event shows in searches and exports',
  },
  AUDIT_ES_WAIT_FOR_ACTIVE_SHARDS: {
    type: 'text',
    defaultText: "Elasticsearch's (`1`, the primary)",
    description:
      'copies of a shard (primary included) that must be up before a bulk write goes ahead, a count or `all`; at most the replicas plus one',
  },
  AUDIT_SIGNING_KEY_FILE: {
    type: 'path',
    description: 'Ed25519 private key (PEM, `otel-audit keygen`): turns on hash chains and signed digests in the collector, and signs export manifests',
  },
  AUDIT_SIGNING_KEY: { type: 'secret', description: 'the same key as PEM text (`\\n` for line breaks), instead of the file; not both' },
});
