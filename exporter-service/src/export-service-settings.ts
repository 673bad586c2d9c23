import { settingTable } from '@otel-audit/store';
import { AUTH_DEFAULTS, DEFAULT_CLAIMS } from './auth.js';
import { EXPORT_SERVICE_DEFAULTS } from './build-export-service.js';
import { WEB_VIEWER_DEFAULTS } from './internal/web-viewer.js';

const DAY = 86_400_000;

/**
 * The export service's environment, read by exportServiceConfigFromEnv (plus STORE_SETTINGS,
 * which every component shares). A new setting is one entry here, read with `read.int(name)` /
 * `read.choice(name)` / `read.text(name)`; docs/configuration.md is generated from this table
 * (npx tsx scripts/write-config-docs.ts).
 */
export const EXPORT_SERVICE_SETTINGS = settingTable({
  AUDIT_EXPORT_HOST: { type: 'text', default: '127.0.0.1', description: 'listen address' },
  AUDIT_EXPORT_PORT: { type: 'integer', default: 8080, min: 0, max: 65535, description: 'listen port; `0` picks a free one' },
  AUDIT_JWT_SECRET: {
    type: 'secret',
    defaultText: 'a development secret under `AUDIT_DATA_DIR`, when `AUDIT_JWKS_URL` is unset too',
    description: 'HS256 secret tokens are verified with (and `otel-audit token` signs with), at least 32 characters',
  },
  AUDIT_JWKS_URL: { type: 'url', description: "verify RS256/ES256 tokens with the identity provider's keys instead" },
  AUDIT_JWT_ISSUER: { type: 'text', description: 'tokens must carry this `iss`; required with `AUDIT_JWKS_URL`' },
  AUDIT_JWT_AUDIENCE: { type: 'text', description: 'tokens must carry this `aud`; required with `AUDIT_JWKS_URL`' },
  AUDIT_JWT_MAX_TTL_HOURS: {
    type: 'integer',
    default: AUTH_DEFAULTS.maxTokenTtlMs / 3_600_000,
    min: 1,
    max: 720,
    description: 'tokens must carry `exp` and live at most this long; also the longest `otel-audit token --ttl`',
  },
  AUDIT_JWT_CLAIMS: {
    type: 'list',
    description: `other claim names, \`<${Object.keys(DEFAULT_CLAIMS).join('|')}>=<claim>\` pairs, e.g. \`sub=employee_id,workspaces=groups\``,
  },
  AUDIT_EXPORT_ROW_CAP: {
    type: 'integer',
    default: EXPORT_SERVICE_DEFAULTS.rowCap,
    min: 1,
    max: 10_000_000,
    description: 'largest direct CSV/XLSX download (413 above: use a background export)',
  },
  AUDIT_EXPORT_DEFAULT_WINDOW_DAYS: {
    type: 'integer',
    default: EXPORT_SERVICE_DEFAULTS.defaultWindowMs / DAY,
    min: 1,
    max: 3660,
    description: 'the range when a query gives no `from`',
  },
  AUDIT_EXPORT_MAX_RANGE_DAYS: {
    type: 'integer',
    default: EXPORT_SERVICE_DEFAULTS.maxRangeMs / DAY,
    min: 1,
    max: 3660,
    description: 'the longest `from`–`to` range',
  },
  AUDIT_EXPORT_DIR: { type: 'path', defaultText: '`$AUDIT_DATA_DIR/exports`', description: 'where background export files wait for their download' },
  AUDIT_EXPORT_STORAGE: {
    type: 'choice',
    default: 'directory',
    choices: ['directory', 's3'],
    description:
      'where background export files are kept: `directory` (`AUDIT_EXPORT_DIR`) or `s3`, an S3-compatible bucket every replica reaches ([several replicas](exports.md#background-exports-on-several-replicas))',
  },
  AUDIT_EXPORT_S3_BUCKET: { type: 'text', description: 'the bucket of export files; required with `AUDIT_EXPORT_STORAGE=s3` (S3 bucket naming rules)' },
  AUDIT_EXPORT_S3_PREFIX: { type: 'text', description: 'put before every object name, e.g. `otel-audit/exports/`; S3-safe characters, not starting with `/`' },
  AUDIT_EXPORT_S3_ENDPOINT: { type: 'url', defaultText: 'AWS S3', description: 'an http(s) URL of an S3-compatible server (MinIO, versitygw, Ceph, R2…)' },
  AUDIT_EXPORT_S3_REGION: {
    type: 'text',
    defaultText: '`AWS_REGION`; with an endpoint, `us-east-1`',
    description: 'the bucket\'s region; required with AWS S3 when `AWS_REGION` is unset',
  },
  AUDIT_EXPORT_S3_FORCE_PATH_STYLE: {
    type: 'boolean',
    default: false,
    description: '`true`: `https://host/bucket/key` instead of `https://bucket.host/key`, as most S3-compatible servers want. Credentials come from the standard AWS chain (`AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, web identity, container or instance role), never from a setting of ours',
  },
  AUDIT_EXPORT_LINK_SECRET: {
    type: 'secret',
    defaultText: 'a development secret under `AUDIT_DATA_DIR`',
    description: 'HMAC key of download links and (derived) of `/v1/events` cursors, at least 32 characters; the same on every replica',
  },
  AUDIT_EXPORT_LINK_TTL_HOURS: {
    type: 'integer',
    default: 24,
    min: 1,
    max: 24 * 30,
    description: "how long a finished export's link works (410 after, and the file is deleted)",
  },
  AUDIT_EXPORT_JOB_CONCURRENCY: { type: 'integer', default: 2, min: 1, max: 32, description: 'background exports this replica runs at once' },
  AUDIT_EXPORT_WEBHOOK_URL: { type: 'url', description: 'an http(s) URL told about every finished or failed background export' },
  AUDIT_VIEWER: { type: 'choice', default: 'on', choices: ['on', 'off'], description: 'the web viewer at `/` (`off`: the API only)' },
  AUDIT_VIEWER_SIGN_IN: {
    type: 'choice',
    default: WEB_VIEWER_DEFAULTS.signIn,
    choices: ['token', 'front-door'],
    description: '`token`: the page asks for a token; `front-door`: an authenticating proxy in front adds it ([exports and viewer](exports.md#web-viewer))',
  },
  AUDIT_EXPORT_SENDER_TOKEN: {
    type: 'secret',
    defaultText: 'none (`otel-audit start`: made per process when the collector has tokens)',
    description:
      "its own collector sender token, listed there as `<token>=otel-audit-export-service`: the records of every look at the log are sent with it; at least 16 characters, no spaces",
  },
  AUDIT_EXPORT_AUDIT_SPOOL_DIR: {
    type: 'path',
    defaultText: '`$AUDIT_DATA_DIR/export-audit-spool`',
    description: 'fsynced spool of those records until the collector acknowledges them; one per replica',
  },
});
