export type { AuditStore, EventCursor, EventFilter, EventQuery, InsertResult, InsertFailure, RejectedRecord, DeadLetterProblem, DeadLetterQuery, DeadLetterReader } from './audit-store.js';
export { ElasticsearchStore } from './elasticsearch-store.js';
export type { ElasticsearchStoreOptions } from './elasticsearch-store.js';
export type { IndexLayout } from './internal/index-settings.js';
export { SqliteStore } from './sqlite-store.js';
export type { SqliteStoreOptions } from './sqlite-store.js';
export { ElasticsearchExportJobStore, SqliteExportJobStore } from './export-jobs.js';
export type {
  ElasticsearchExportJobStoreOptions,
  ExportJob,
  ExportJobStatus,
  ExportJobStore,
  SqliteExportJobStoreOptions,
} from './export-jobs.js';
export { createExportJobStore, createStore, storeConfigFromEnv, retentionDaysFromEnv, SQLITE_FILE } from './create-store.js';
export { RETENTION_MAX_DAYS, STORE_SETTINGS } from './store-settings.js';
export { intFromEnv, settingTable, settingsReader } from './env-settings.js';
// Thrown by the env readers above; re-exported so their callers need not depend on the contract.
export { CodedError, ConfigError } from '@otel-audit/contract';
export type { Setting, SettingTable, SettingType, SettingsReader } from './env-settings.js';
export { RETENTION_POLICY_NAME } from './index-names.js';
export type { StoreConfig } from './create-store.js';
// The Elasticsearch layout operators see (index names, the read alias); mappings and templates stay inside.
export { INDEX_PREFIX, READ_ALIAS, DIGESTS_INDEX, indexFor } from './index-names.js';
export { AUDIT_ROLES, AUDIT_USERS } from './security-roles.js';
export { HashChain, GENESIS_HASH, canonicalEvent, chainHash } from './hash-chain.js';
export type { ChainPosition, ChainedEvent, ChainSpan, ChainTail } from './hash-chain.js';
export { Ed25519Signer, generateSigningKey, publicKeyRing, signRecord, signerFromEnv } from './digest-signing.js';
export type { ChainDigest, DigestSigner, SignedDigest } from './digest-signing.js';
export { verifyIntegrity } from './verify-integrity.js';
export type { IntegrityProblem, IntegrityReport, VerifyOptions } from './verify-integrity.js';
export { digestStream, signManifest, verifyExportFile } from './export-manifest.js';
export type { ExportManifest, SignedManifest } from './export-manifest.js';
