import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@otel-audit/contract';
import { DirectoryFileStorage, S3FileStorage, createExportFileStorage, exportServiceConfigFromEnv } from '@otel-audit/exporter-service';

const dataDir = mkdtempSync(join(tmpdir(), 'otel-audit-storage-config-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const config = (env: NodeJS.ProcessEnv) => exportServiceConfigFromEnv({ AUDIT_DATA_DIR: dataDir, ...env }).jobs.files;
const s3 = { AUDIT_EXPORT_STORAGE: 's3', AUDIT_EXPORT_S3_BUCKET: 'audit-exports', AUDIT_EXPORT_S3_ENDPOINT: 'http://127.0.0.1:7070' };

/** The ConfigError a bad environment fails with. */
function refusal(env: NodeJS.ProcessEnv): ConfigError {
  try {
    config(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`accepted: ${JSON.stringify(env)}`);
}

describe('AUDIT_EXPORT_STORAGE and its settings', () => {
  it('keeps files in AUDIT_EXPORT_DIR, or the data folder, by default', () => {
    expect(config({})).toEqual({ kind: 'directory', dir: join(dataDir, 'exports') });
    expect(config({ AUDIT_EXPORT_DIR: '/srv/exports' })).toEqual({ kind: 'directory', dir: '/srv/exports' });
    expect(createExportFileStorage(config({}))).toBeInstanceOf(DirectoryFileStorage);
  });

  it('reads an S3 bucket with its prefix, endpoint, region and path style', () => {
    expect(config({ ...s3, AUDIT_EXPORT_S3_PREFIX: 'otel-audit/exports/', AUDIT_EXPORT_S3_FORCE_PATH_STYLE: 'true' })).toEqual({
      kind: 's3',
      bucket: 'audit-exports',
      prefix: 'otel-audit/exports/',
      endpoint: 'http://127.0.0.1:7070',
      // An S3-compatible server without a region given: the one they all accept.
      region: 'us-east-1',
      forcePathStyle: true,
    });
    // AWS itself: the region from the standard variable when ours is unset.
    expect(config({ AUDIT_EXPORT_STORAGE: 's3', AUDIT_EXPORT_S3_BUCKET: 'audit-exports', AWS_REGION: 'eu-west-3' })).toMatchObject({ endpoint: undefined, region: 'eu-west-3', forcePathStyle: false, prefix: '' });
    expect(config({ ...s3, AUDIT_EXPORT_S3_REGION: 'eu-central-1', AWS_REGION: 'eu-west-3' })).toMatchObject({ region: 'eu-central-1' });
    const storage = createExportFileStorage(config({ ...s3, AUDIT_EXPORT_S3_PREFIX: 'p/' }));
    expect(storage).toBeInstanceOf(S3FileStorage);
    expect(storage).toMatchObject({ bucket: 'audit-exports', prefix: 'p/' });
    (storage as S3FileStorage).close();
  });

  it('fails at start-up naming the bad setting and its value', () => {
    const cases: [NodeJS.ProcessEnv, string, RegExp][] = [
      [{ AUDIT_EXPORT_STORAGE: 'nfs' }, 'AUDIT_EXPORT_STORAGE', /must be directory or s3, got "nfs"/],
      [{ AUDIT_EXPORT_STORAGE: 's3' }, 'AUDIT_EXPORT_S3_BUCKET', /needs AUDIT_EXPORT_S3_BUCKET/],
      [{ ...s3, AUDIT_EXPORT_S3_BUCKET: 'Audit_Exports' }, 'AUDIT_EXPORT_S3_BUCKET', /naming rules .*got "Audit_Exports"/],
      [{ ...s3, AUDIT_EXPORT_S3_PREFIX: '/exports/' }, 'AUDIT_EXPORT_S3_PREFIX', /not start with \/, got "\/exports\/"/],
      [{ ...s3, AUDIT_EXPORT_S3_PREFIX: 'a b/' }, 'AUDIT_EXPORT_S3_PREFIX', /got "a b\/"/],
      [{ ...s3, AUDIT_EXPORT_S3_ENDPOINT: 'minio:9000' }, 'AUDIT_EXPORT_S3_ENDPOINT', /http\(s\) URL, got "minio:9000"/],
      [{ ...s3, AUDIT_EXPORT_S3_REGION: 'eu west' }, 'AUDIT_EXPORT_S3_REGION', /got "eu west"/],
      [{ AUDIT_EXPORT_STORAGE: 's3', AUDIT_EXPORT_S3_BUCKET: 'audit-exports' }, 'AUDIT_EXPORT_S3_REGION', /needs AUDIT_EXPORT_S3_REGION \(or AWS_REGION\)/],
      [{ ...s3, AUDIT_EXPORT_S3_FORCE_PATH_STYLE: 'yes' }, 'AUDIT_EXPORT_S3_FORCE_PATH_STYLE', /true or false, got "yes"/],
      // A replica meant to share the bucket but writing to its own disk: refused, not ignored.
      [{ AUDIT_EXPORT_S3_BUCKET: 'audit-exports' }, 'AUDIT_EXPORT_S3_BUCKET', /AUDIT_EXPORT_STORAGE is not s3/],
      [{ ...s3, AUDIT_EXPORT_DIR: '/srv/exports' }, 'AUDIT_EXPORT_DIR', /unset one of them/],
    ];
    for (const [env, key, message] of cases) {
      const err = refusal(env);
      expect({ key: err.key, code: err.code }).toEqual({ key, code: 'AUDIT_ERR_CONFIG' });
      expect(err.message).toMatch(message);
    }
  });

  it('refuses half an AWS key pair without printing either half', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const err = refusal({ ...s3, AWS_SECRET_ACCESS_KEY: secret });
    expect(err.key).toBe('AWS_ACCESS_KEY_ID');
    expect(err.message).toBe('AWS_SECRET_ACCESS_KEY is set without AWS_ACCESS_KEY_ID: give both, or neither to use another source of AWS credentials');
    expect(JSON.stringify({ ...err, message: err.message })).not.toContain(secret);
    expect(refusal({ ...s3, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE' }).key).toBe('AWS_SECRET_ACCESS_KEY');
    // Both, or neither (the rest of the chain: profile, web identity, instance role), are fine.
    expect(config({ ...s3, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: secret }).kind).toBe('s3');
  });
});
