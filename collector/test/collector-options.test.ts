import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '@otel-audit/store';
import { COLLECTOR_DEFAULTS, buildCollector } from '@otel-audit/collector';
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

  it('refuses a bad value, naming the option and the value', () => {
    expect(() => buildCollector({ store, bodyLimit: -1 })).toThrow('bodyLimit must be a positive integer, not -1');
    expect(() => buildCollector({ store, storeTimeoutMillis: Number.NaN })).toThrow('storeTimeoutMillis must be a positive integer, not NaN');
    expect(() => buildCollector({ store, rateLimitPerMinute: -5 })).toThrow('rateLimitPerMinute must be 0 (no limit) or a positive integer, not -5');
    expect(() => buildCollector({ store, grpc: { port: 70_000 } })).toThrow('grpc.port must be 0 to 65535, not 70000');
  });
});
