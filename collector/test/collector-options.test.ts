import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@otel-audit/contract';
import { SqliteStore } from '@otel-audit/store';
import { COLLECTOR_DEFAULTS, buildCollector, type CollectorOptions } from '@otel-audit/collector';
import { resolveCollectorOptions } from '../src/collector-options.js';

const dir = mkdtempSync(join(tmpdir(), 'collector-options-'));
const store = new SqliteStore({ path: join(dir, 'audit.db') });
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('buildCollector options', () => {
  it('keeps the default body limit when bodyLimit is given as undefined: a gzip bomb is still refused', async () => {
    const app = buildCollector({ store, bodyLimit: undefined, rateLimitPerMinute: undefined });
    try {
      // 1 MiB more than the default limit once inflated, some 65 KiB on the wire.
      const bomb = gzipSync(Buffer.alloc(COLLECTOR_DEFAULTS.bodyLimit + 1024 * 1024, 0x20));
      const res = await app.inject({
        method: 'POST',
        url: '/v1/logs',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        payload: bomb,
      });
      expect(res.statusCode).toBe(413);
      expect(res.json().message).toContain(`more than ${COLLECTOR_DEFAULTS.bodyLimit} bytes`);
    } finally {
      await app.close();
    }
  });

  it('applies every default for an option given as undefined, and freezes the result', () => {
    const resolved = resolveCollectorOptions({
      store,
      bodyLimit: undefined,
      retryAfterSeconds: undefined,
      spoolMaxBytes: undefined,
      storeTimeoutMillis: undefined,
      deadLetterMaxBytes: undefined,
      requestTimeoutMillis: undefined,
      headersTimeoutMillis: undefined,
      connectionTimeoutMillis: undefined,
      keepAliveTimeoutMillis: undefined,
      rateLimitPerMinute: undefined,
      redact: undefined,
      grpc: { host: undefined, port: undefined },
    });
    const { grpcHost, grpcPort, ...rest } = COLLECTOR_DEFAULTS;
    expect(resolved).toMatchObject({ ...rest, grpc: { host: grpcHost, port: grpcPort } });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(Object.isFrozen(resolved.grpc)).toBe(true);
  });

  it('refuses a bad value with AUDIT_ERR_CONFIG, naming the option and the value', () => {
    const refused = (opts: Partial<CollectorOptions>) => {
      try {
        buildCollector({ store, ...opts });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return { code: (err as ConfigError).code, key: (err as ConfigError).key, value: (err as ConfigError).value, message: (err as Error).message };
      }
      throw new Error('accepted');
    };
    expect(refused({ bodyLimit: -1 })).toEqual({ code: 'AUDIT_ERR_CONFIG', key: 'bodyLimit', value: '-1', message: 'buildCollector: option bodyLimit must be a positive integer, got -1' });
    expect(refused({ storeTimeoutMillis: Number.NaN })).toMatchObject({ key: 'storeTimeoutMillis', value: 'NaN', message: expect.stringContaining('storeTimeoutMillis must be a positive integer, got NaN') });
    expect(refused({ rateLimitPerMinute: -5 })).toMatchObject({ key: 'rateLimitPerMinute', value: '-5', message: expect.stringContaining('rateLimitPerMinute must be 0 (no limit) or a positive integer, got -5') });
    expect(refused({ grpc: { port: 70_000 } })).toMatchObject({ key: 'grpc.port', value: '70000', message: expect.stringContaining('grpc.port must be 0 to 65535, got 70000') });
    expect(refused({ store: undefined as never })).toMatchObject({ code: 'AUDIT_ERR_CONFIG', key: 'store', value: undefined });
  });
});
