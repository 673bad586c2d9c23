import { join } from 'node:path';
import { ConfigError } from '@otel-audit/contract';
import { settingsReader, signerFromEnv, storeConfigFromEnv, type DigestSigner, type StoreConfig } from '@otel-audit/store';
import { DEFAULT_CLAIMS, loadOrCreateDevSecret, type AuthOptions, type ClaimNames } from './auth.js';
import { exportFileStorageConfigFromEnv, type ExportFileStorageConfig } from './export-file-storage-config.js';
import { EXPORT_SERVICE_SETTINGS } from './export-service-settings.js';
import type { ViewerSignIn } from './internal/web-viewer.js';

const DAY = 86_400_000;

export interface ExportServiceConfig {
  host: string;
  port: number;
  rowCap: number;
  defaultWindowMs: number;
  maxRangeMs: number;
  auth: AuthOptions;
  /** Background exports: files, signed links, runners. */
  jobs: {
    dir: string;
    /** Where the files are kept (AUDIT_EXPORT_STORAGE): `dir`, or an S3 bucket that replicas share. */
    files: ExportFileStorageConfig;
    linkSecret: string;
    linkTtlMs: number;
    concurrency: number;
    webhookUrl: string | undefined;
    signer: DigestSigner | undefined;
  };
  /** The web viewer at `/`: off, or on with how the page gets its token. */
  viewer: { enabled: boolean; signIn: ViewerSignIn };
  /**
   * The service's own audit trail of looks at the log: its sender token at the collector
   * (for `service.name` otel-audit-export-service; none when the collector has no tokens)
   * and the folder of its fsynced spool. The collector's address is OTEL_EXPORTER_OTLP_ENDPOINT.
   */
  audit: { senderToken: string | undefined; spoolDir: string };
  /** True when tokens are checked against the local development secret. */
  devSecret: boolean;
  store: StoreConfig;
}

/**
 * Reads and validates the export service's environment (EXPORT_SERVICE_SETTINGS, plus the
 * store's STORE_SETTINGS), failing fast with a ConfigError that names the variable and, unless
 * it is a secret, its value.
 */
export function exportServiceConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ExportServiceConfig {
  const store = storeConfigFromEnv(env);
  const read = settingsReader(EXPORT_SERVICE_SETTINGS, env);
  const jwksUrl = read.raw('AUDIT_JWKS_URL');
  if (jwksUrl) {
    try {
      new URL(jwksUrl);
    } catch (err) {
      throw new ConfigError('AUDIT_JWKS_URL', `AUDIT_JWKS_URL is not a URL: ${JSON.stringify(jwksUrl)}`, { value: jwksUrl, cause: err });
    }
    const missing = (['AUDIT_JWT_ISSUER', 'AUDIT_JWT_AUDIENCE'] as const).filter((name) => !read.raw(name));
    if (missing.length > 0) {
      // The provider's keys sign tokens for its other applications too: iss and aud are what keep those out.
      throw new ConfigError(missing[0]!, `AUDIT_JWKS_URL needs ${missing.join(' and ')} (the issuer and the audience tokens for this service carry)`);
    }
  }
  let secret = env.AUDIT_JWT_SECRET || undefined;
  if (secret !== undefined && secret.length < 32) {
    // HS256 with a short secret can be brute-forced offline from any one token.
    throw new ConfigError('AUDIT_JWT_SECRET', 'AUDIT_JWT_SECRET must be at least 32 characters');
  }
  const linkSecret = env.AUDIT_EXPORT_LINK_SECRET || loadOrCreateDevSecret(store.dataDir, 'dev-link-secret');
  if (linkSecret.length < 32) throw new ConfigError('AUDIT_EXPORT_LINK_SECRET', 'AUDIT_EXPORT_LINK_SECRET must be at least 32 characters');
  const webhookUrl = read.raw('AUDIT_EXPORT_WEBHOOK_URL');
  if (webhookUrl && !/^https?:\/\//.test(webhookUrl)) {
    throw new ConfigError('AUDIT_EXPORT_WEBHOOK_URL', `AUDIT_EXPORT_WEBHOOK_URL must be an http(s) URL, got ${JSON.stringify(webhookUrl)}`, { value: webhookUrl });
  }
  const viewer = read.choice('AUDIT_VIEWER');
  const signIn = read.choice('AUDIT_VIEWER_SIGN_IN') as ViewerSignIn;
  const devSecret = !secret && !jwksUrl;
  if (devSecret) secret = loadOrCreateDevSecret(store.dataDir);
  const senderToken = read.raw('AUDIT_EXPORT_SENDER_TOKEN');
  // The collector's own rule for tokens; the value is a secret, so only its length is told.
  if (senderToken !== undefined && (senderToken.length < 16 || /\s/.test(senderToken))) {
    throw new ConfigError('AUDIT_EXPORT_SENDER_TOKEN', `AUDIT_EXPORT_SENDER_TOKEN must be at least 16 characters without spaces (got ${senderToken.length} characters)`);
  }
  return {
    host: read.text('AUDIT_EXPORT_HOST')!,
    port: read.int('AUDIT_EXPORT_PORT'),
    rowCap: read.int('AUDIT_EXPORT_ROW_CAP'),
    defaultWindowMs: read.int('AUDIT_EXPORT_DEFAULT_WINDOW_DAYS') * DAY,
    maxRangeMs: read.int('AUDIT_EXPORT_MAX_RANGE_DAYS') * DAY,
    auth: {
      secret,
      jwksUrl,
      issuer: env.AUDIT_JWT_ISSUER || undefined,
      audience: env.AUDIT_JWT_AUDIENCE || undefined,
      claims: claimNamesFromEnv(env.AUDIT_JWT_CLAIMS),
      maxTokenTtlMs: maxTokenTtlMsFromEnv(env),
    },
    jobs: {
      dir: read.raw('AUDIT_EXPORT_DIR') ?? join(store.dataDir, 'exports'),
      files: exportFileStorageConfigFromEnv(env, store.dataDir),
      linkSecret,
      linkTtlMs: read.int('AUDIT_EXPORT_LINK_TTL_HOURS') * 3_600_000,
      concurrency: read.int('AUDIT_EXPORT_JOB_CONCURRENCY'),
      webhookUrl,
      // The collector's signing key (AUDIT_SIGNING_KEY_FILE / AUDIT_SIGNING_KEY): manifests of finished exports.
      signer: signerFromEnv(env),
    },
    viewer: { enabled: viewer === 'on', signIn },
    audit: { senderToken, spoolDir: read.raw('AUDIT_EXPORT_AUDIT_SPOOL_DIR') ?? join(store.dataDir, 'export-audit-spool') },
    devSecret,
    store,
  };
}

/** `AUDIT_JWT_MAX_TTL_HOURS`: the longest token lifetime accepted, and `otel-audit token --ttl` may ask for. */
export function maxTokenTtlMsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return settingsReader(EXPORT_SERVICE_SETTINGS, env).int('AUDIT_JWT_MAX_TTL_HOURS') * 3_600_000;
}

/** `AUDIT_JWT_CLAIMS=sub=uid,workspaces=groups`: claim names of an identity provider that uses others. */
function claimNamesFromEnv(raw: string | undefined): Partial<ClaimNames> {
  const names: Partial<ClaimNames> = {};
  for (const pair of (raw ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, value] = pair.split('=').map((p) => p.trim());
    if (!key || !value || !(key in DEFAULT_CLAIMS)) {
      throw new ConfigError('AUDIT_JWT_CLAIMS', `AUDIT_JWT_CLAIMS: ${JSON.stringify(pair)} must be <${Object.keys(DEFAULT_CLAIMS).join('|')}>=<claim name>`, {
        value: raw,
      });
    }
    names[key as keyof ClaimNames] = value;
  }
  return names;
}
