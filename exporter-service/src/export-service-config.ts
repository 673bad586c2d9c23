import { join } from 'node:path';
import { intFromEnv, signerFromEnv, storeConfigFromEnv, type DigestSigner, type StoreConfig } from '@otel-audit/store';
import { AUTH_DEFAULTS, DEFAULT_CLAIMS, loadOrCreateDevSecret, type AuthOptions, type ClaimNames } from './auth.js';
import { EXPORT_SERVICE_DEFAULTS } from './build-export-service.js';
import { WEB_VIEWER_DEFAULTS, type ViewerSignIn } from './internal/web-viewer.js';

const DAY = 86_400_000;

export interface ExportServiceConfig {
  host: string;
  port: number;
  rowCap: number;
  defaultWindowMs: number;
  maxRangeMs: number;
  auth: AuthOptions;
  /** Background exports: files, signed links, runners. */
  jobs: { dir: string; linkSecret: string; linkTtlMs: number; concurrency: number; webhookUrl: string | undefined; signer: DigestSigner | undefined };
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
 * Reads and validates the export service's environment: `AUDIT_EXPORT_HOST` (default
 * 127.0.0.1), `AUDIT_EXPORT_PORT` (8080), `AUDIT_JWT_SECRET` or `AUDIT_JWKS_URL` (neither:
 * the development secret under `AUDIT_DATA_DIR`), `AUDIT_JWT_ISSUER`, `AUDIT_JWT_AUDIENCE` (both
 * required with `AUDIT_JWKS_URL`), `AUDIT_JWT_MAX_TTL_HOURS` (24),
 * `AUDIT_EXPORT_ROW_CAP` (100 000), `AUDIT_EXPORT_DEFAULT_WINDOW_DAYS` (30),
 * `AUDIT_EXPORT_MAX_RANGE_DAYS` (366), `AUDIT_EXPORT_DIR` (`AUDIT_DATA_DIR/exports`),
 * `AUDIT_EXPORT_LINK_SECRET` (else a development secret under the data dir),
 * `AUDIT_EXPORT_LINK_TTL_HOURS` (24), `AUDIT_EXPORT_JOB_CONCURRENCY` (2), `AUDIT_EXPORT_WEBHOOK_URL`,
 * `AUDIT_SIGNING_KEY_FILE` / `AUDIT_SIGNING_KEY` (signs export manifests),
 * `AUDIT_VIEWER` (`on` or `off`; default on), `AUDIT_VIEWER_SIGN_IN` (`token`, or `front-door`
 * behind an authenticating proxy; default token), `AUDIT_EXPORT_SENDER_TOKEN` (the collector's
 * sender token for the service's own audit events; default none), `AUDIT_EXPORT_AUDIT_SPOOL_DIR`
 * (`AUDIT_DATA_DIR/export-audit-spool`).
 */
export function exportServiceConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ExportServiceConfig {
  const store = storeConfigFromEnv(env);
  const jwksUrl = env.AUDIT_JWKS_URL?.trim() || undefined;
  if (jwksUrl) {
    try {
      new URL(jwksUrl);
    } catch {
      throw new Error(`AUDIT_JWKS_URL is not a URL: ${JSON.stringify(jwksUrl)}`);
    }
    const missing = ['AUDIT_JWT_ISSUER', 'AUDIT_JWT_AUDIENCE'].filter((name) => !env[name]?.trim());
    if (missing.length > 0) {
      // The provider's keys sign tokens for its other applications too: iss and aud are what keep those out.
      throw new Error(`AUDIT_JWKS_URL needs ${missing.join(' and ')} (the issuer and the audience tokens for this service carry)`);
    }
  }
  let secret = env.AUDIT_JWT_SECRET || undefined;
  if (secret !== undefined && secret.length < 32) {
    // HS256 with a short secret can be brute-forced offline from any one token.
    throw new Error('AUDIT_JWT_SECRET must be at least 32 characters');
  }
  const linkSecret = env.AUDIT_EXPORT_LINK_SECRET || loadOrCreateDevSecret(store.dataDir, 'dev-link-secret');
  if (linkSecret.length < 32) throw new Error('AUDIT_EXPORT_LINK_SECRET must be at least 32 characters');
  const webhookUrl = env.AUDIT_EXPORT_WEBHOOK_URL?.trim() || undefined;
  if (webhookUrl && !/^https?:\/\//.test(webhookUrl)) throw new Error(`AUDIT_EXPORT_WEBHOOK_URL must be an http(s) URL, got ${JSON.stringify(webhookUrl)}`);
  const viewer = env.AUDIT_VIEWER?.trim().toLowerCase() || 'on';
  if (viewer !== 'on' && viewer !== 'off') throw new Error(`AUDIT_VIEWER must be on or off, got ${JSON.stringify(env.AUDIT_VIEWER)}`);
  const signIn = env.AUDIT_VIEWER_SIGN_IN?.trim().toLowerCase() || WEB_VIEWER_DEFAULTS.signIn;
  if (signIn !== 'token' && signIn !== 'front-door') {
    throw new Error(`AUDIT_VIEWER_SIGN_IN must be token or front-door, got ${JSON.stringify(env.AUDIT_VIEWER_SIGN_IN)}`);
  }
  const devSecret = !secret && !jwksUrl;
  if (devSecret) secret = loadOrCreateDevSecret(store.dataDir);
  const senderToken = env.AUDIT_EXPORT_SENDER_TOKEN?.trim() || undefined;
  // The collector's own rule for tokens; the value is a secret, so only its length is told.
  if (senderToken !== undefined && (senderToken.length < 16 || /\s/.test(senderToken))) {
    throw new Error(`AUDIT_EXPORT_SENDER_TOKEN must be at least 16 characters without spaces (got ${senderToken.length} characters)`);
  }
  return {
    host: env.AUDIT_EXPORT_HOST?.trim() || '127.0.0.1',
    port: intFromEnv(env, 'AUDIT_EXPORT_PORT', 8080, 0, 65535),
    rowCap: intFromEnv(env, 'AUDIT_EXPORT_ROW_CAP', EXPORT_SERVICE_DEFAULTS.rowCap, 1, 10_000_000),
    defaultWindowMs: intFromEnv(env, 'AUDIT_EXPORT_DEFAULT_WINDOW_DAYS', 30, 1, 3660) * DAY,
    maxRangeMs: intFromEnv(env, 'AUDIT_EXPORT_MAX_RANGE_DAYS', 366, 1, 3660) * DAY,
    auth: {
      secret,
      jwksUrl,
      issuer: env.AUDIT_JWT_ISSUER || undefined,
      audience: env.AUDIT_JWT_AUDIENCE || undefined,
      claims: claimNamesFromEnv(env.AUDIT_JWT_CLAIMS),
      maxTokenTtlMs: maxTokenTtlMsFromEnv(env),
    },
    jobs: {
      dir: env.AUDIT_EXPORT_DIR?.trim() || join(store.dataDir, 'exports'),
      linkSecret,
      linkTtlMs: intFromEnv(env, 'AUDIT_EXPORT_LINK_TTL_HOURS', 24, 1, 24 * 30) * 3_600_000,
      concurrency: intFromEnv(env, 'AUDIT_EXPORT_JOB_CONCURRENCY', 2, 1, 32),
      webhookUrl,
      // The collector's signing key (AUDIT_SIGNING_KEY_FILE / AUDIT_SIGNING_KEY): manifests of finished exports.
      signer: signerFromEnv(env),
    },
    viewer: { enabled: viewer === 'on', signIn },
    audit: { senderToken, spoolDir: env.AUDIT_EXPORT_AUDIT_SPOOL_DIR?.trim() || join(store.dataDir, 'export-audit-spool') },
    devSecret,
    store,
  };
}

/** `AUDIT_JWT_MAX_TTL_HOURS` (default 24, 1–720): the longest token lifetime accepted, and `otel-audit token --ttl` may ask for. */
export function maxTokenTtlMsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return intFromEnv(env, 'AUDIT_JWT_MAX_TTL_HOURS', AUTH_DEFAULTS.maxTokenTtlMs / 3_600_000, 1, 720) * 3_600_000;
}

/** `AUDIT_JWT_CLAIMS=sub=uid,workspaces=groups`: claim names of an identity provider that uses others. */
function claimNamesFromEnv(raw: string | undefined): Partial<ClaimNames> {
  const names: Partial<ClaimNames> = {};
  for (const pair of (raw ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, value] = pair.split('=').map((p) => p.trim());
    if (!key || !value || !(key in DEFAULT_CLAIMS)) {
      throw new Error(`AUDIT_JWT_CLAIMS: ${JSON.stringify(pair)} must be <${Object.keys(DEFAULT_CLAIMS).join('|')}>=<claim name>`);
    }
    names[key as keyof ClaimNames] = value;
  }
  return names;
}
