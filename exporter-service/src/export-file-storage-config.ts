import { join } from 'node:path';
import { ConfigError } from '@otel-audit/contract';
import { settingsReader } from '@otel-audit/store';
import { EXPORT_SERVICE_SETTINGS } from './export-service-settings.js';
import { DirectoryFileStorage, type ExportFileStorage } from './export-file-storage.js';
import { S3_BUCKET_PATTERN, S3_PREFIX_PATTERN, S3FileStorage } from './s3-file-storage.js';

/** Where background export files are kept, as the environment says. */
export type ExportFileStorageConfig =
  | { kind: 'directory'; dir: string }
  | { kind: 's3'; bucket: string; prefix: string; endpoint: string | undefined; region: string; forcePathStyle: boolean };

const S3_KEYS = ['AUDIT_EXPORT_S3_BUCKET', 'AUDIT_EXPORT_S3_PREFIX', 'AUDIT_EXPORT_S3_ENDPOINT', 'AUDIT_EXPORT_S3_REGION', 'AUDIT_EXPORT_S3_FORCE_PATH_STYLE'] as const;

/**
 * Reads `AUDIT_EXPORT_STORAGE` and its settings. Settings of the other kind are refused, not
 * ignored: a replica that was meant to share a bucket but writes to its own disk would make
 * links that the other replicas answer with 404.
 */
export function exportFileStorageConfigFromEnv(env: NodeJS.ProcessEnv, dataDir: string): ExportFileStorageConfig {
  const read = settingsReader(EXPORT_SERVICE_SETTINGS, env);
  const kind = read.choice('AUDIT_EXPORT_STORAGE');
  if (kind !== 's3') {
    const stray = S3_KEYS.find((key) => read.raw(key) !== undefined);
    if (stray) throw new ConfigError(stray, `${stray} is set, but AUDIT_EXPORT_STORAGE is not s3: export files would go to a local folder; set AUDIT_EXPORT_STORAGE=s3`);
    return { kind: 'directory', dir: read.raw('AUDIT_EXPORT_DIR') ?? join(dataDir, 'exports') };
  }
  if (read.raw('AUDIT_EXPORT_DIR') !== undefined) {
    throw new ConfigError('AUDIT_EXPORT_DIR', 'AUDIT_EXPORT_DIR is set, but AUDIT_EXPORT_STORAGE=s3 keeps export files in AUDIT_EXPORT_S3_BUCKET; unset one of them');
  }
  const bucket = read.raw('AUDIT_EXPORT_S3_BUCKET');
  if (bucket === undefined) throw new ConfigError('AUDIT_EXPORT_S3_BUCKET', 'AUDIT_EXPORT_STORAGE=s3 needs AUDIT_EXPORT_S3_BUCKET');
  if (!S3_BUCKET_PATTERN.test(bucket)) {
    throw new ConfigError('AUDIT_EXPORT_S3_BUCKET', `AUDIT_EXPORT_S3_BUCKET must follow S3's bucket naming rules (3–63 of a-z 0-9 . -), got ${JSON.stringify(bucket)}`, { value: bucket });
  }
  const prefix = read.raw('AUDIT_EXPORT_S3_PREFIX') ?? '';
  if (!S3_PREFIX_PATTERN.test(prefix)) {
    throw new ConfigError('AUDIT_EXPORT_S3_PREFIX', `AUDIT_EXPORT_S3_PREFIX must be up to 512 of A-Z a-z 0-9 ! _ . * ' ( ) / - and not start with /, got ${JSON.stringify(prefix)}`, {
      value: prefix,
    });
  }
  const endpoint = read.raw('AUDIT_EXPORT_S3_ENDPOINT');
  if (endpoint !== undefined && !isHttpUrl(endpoint)) {
    throw new ConfigError('AUDIT_EXPORT_S3_ENDPOINT', `AUDIT_EXPORT_S3_ENDPOINT must be an http(s) URL, got ${JSON.stringify(endpoint)}`, { value: endpoint });
  }
  // S3-compatible servers answer to any region and most expect us-east-1; AWS itself must be told.
  const region = read.raw('AUDIT_EXPORT_S3_REGION') ?? (env.AWS_REGION?.trim() || undefined) ?? (endpoint ? 'us-east-1' : undefined);
  if (region === undefined) throw new ConfigError('AUDIT_EXPORT_S3_REGION', 'AUDIT_EXPORT_STORAGE=s3 on AWS needs AUDIT_EXPORT_S3_REGION (or AWS_REGION)');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(region)) {
    throw new ConfigError('AUDIT_EXPORT_S3_REGION', `AUDIT_EXPORT_S3_REGION must be a region name such as eu-west-3, got ${JSON.stringify(region)}`, { value: region });
  }
  // Half a key pair would make the SDK skip to the next source of credentials without a word.
  const [id, key] = [env.AWS_ACCESS_KEY_ID?.trim(), env.AWS_SECRET_ACCESS_KEY?.trim()];
  if (Boolean(id) !== Boolean(key)) {
    const missing = id ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID';
    throw new ConfigError(missing, `${id ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY'} is set without ${missing}: give both, or neither to use another source of AWS credentials`);
  }
  return { kind: 's3', bucket, prefix, endpoint, region, forcePathStyle: read.bool('AUDIT_EXPORT_S3_FORCE_PATH_STYLE') };
}

/** The storage a config names; the S3 one takes its credentials from the standard AWS chain. */
export function createExportFileStorage(config: ExportFileStorageConfig): ExportFileStorage {
  if (config.kind === 'directory') return new DirectoryFileStorage(config.dir);
  const { bucket, prefix, endpoint, region, forcePathStyle } = config;
  return new S3FileStorage({ bucket, prefix, endpoint, region, forcePathStyle });
}

function isHttpUrl(text: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(text).protocol);
  } catch {
    return false;
  }
}
