import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cli = join(resolve(import.meta.dirname, '..'), 'cli', 'bin', 'otel-audit.js');

describe('otel-audit token lifetimes (built CLI)', () => {
  let dataDir: string;
  const env = (extra: Record<string, string> = {}) => ({ ...process.env, AUDIT_DATA_DIR: dataDir, AUDIT_JWT_SECRET: '', AUDIT_JWKS_URL: '', ...extra });

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'otel-audit-cli-token-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const lifetime = (jwt: string) => {
    const { exp, iat } = decodeJwt(jwt.trim());
    return exp! - iat!;
  };

  it('mints 8-hour tokens by default, within the service maximum', async () => {
    expect(lifetime((await run(process.execPath, [cli, 'token', '--sub', 'alice'], { env: env() })).stdout)).toBe(8 * 3600);
    expect(lifetime((await run(process.execPath, [cli, 'token', '--sub', 'alice', '--ttl', '24h'], { env: env() })).stdout)).toBe(24 * 3600);
  });

  it('refuses a --ttl over AUDIT_JWT_MAX_TTL_HOURS, naming the limit', async () => {
    await expect(run(process.execPath, [cli, 'token', '--sub', 'alice', '--ttl', '48h'], { env: env() })).rejects.toMatchObject({
      stderr: expect.stringMatching(/lifetime of 48h is over the 24-hour maximum \(AUDIT_JWT_MAX_TTL_HOURS\)/) as unknown,
    });
    await expect(run(process.execPath, [cli, 'token', '--sub', 'alice'], { env: env({ AUDIT_JWT_MAX_TTL_HOURS: '4' }) })).rejects.toMatchObject({
      stderr: expect.stringMatching(/lifetime of 8h is over the 4-hour maximum/) as unknown,
    });
    expect(lifetime((await run(process.execPath, [cli, 'token', '--sub', 'alice', '--ttl', '4h'], { env: env({ AUDIT_JWT_MAX_TTL_HOURS: '4' }) })).stdout)).toBe(4 * 3600);
  });
});
