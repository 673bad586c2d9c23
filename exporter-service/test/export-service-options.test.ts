import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@otel-audit/contract';
import { EXPORT_SERVICE_DEFAULTS, buildExportService, signToken, type ExportServiceOptions } from '@otel-audit/exporter-service';
import { SqliteStore } from '@otel-audit/store';
import { validEvent } from '../../test/support/otlp-json.js';

const SECRET = 'export-service-options-secret-32-chars!';
const DAY = '2021-03-04';

describe('buildExportService options (real SQLite file)', () => {
  let dir: string;
  let store: SqliteStore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-options-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    await store.insert(Array.from({ length: 3 }, (_, i) => validEvent({ time: `${DAY}T10:0${i}:00.000Z` })));
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps each default when an option is given as undefined', async () => {
    const app = buildExportService({ store, auth: { secret: SECRET }, rowCap: undefined, maxPageSize: undefined, defaultWindowMs: undefined, maxRangeMs: undefined });
    try {
      const token = await signToken(SECRET, { sub: 'root', superAdmin: true });
      const headers = { authorization: `Bearer ${token}` };
      const me = await app.inject({ url: '/v1/me', headers });
      expect(me.json().limits).toEqual({
        rowCap: EXPORT_SERVICE_DEFAULTS.rowCap,
        maxPageSize: EXPORT_SERVICE_DEFAULTS.maxPageSize,
        defaultWindowDays: EXPORT_SERVICE_DEFAULTS.defaultWindowMs / 86_400_000,
        maxRangeDays: EXPORT_SERVICE_DEFAULTS.maxRangeMs / 86_400_000,
      });
      // The row limit is in force (a spread of `{ rowCap: undefined }` turned it off: `total > undefined` is false).
      const csv = await app.inject({ url: `/v1/exports/events.csv?scope=all&from=${DAY}T00:00:00Z&to=${DAY}T23:00:00Z`, headers });
      expect(csv.statusCode).toBe(200);
      expect(csv.body.trim().split('\n')).toHaveLength(4);
      // The range limit is in force too: 367 days is one too many.
      const wide = await app.inject({ url: `/v1/events?scope=all&from=2020-01-01T00:00:00Z&to=2021-01-02T00:00:00Z`, headers });
      expect(wide.statusCode).toBe(400);
      expect(wide.json().error.message).toContain('at most 366 days');
    } finally {
      await app.close();
    }
  });

  it('refuses a limit that is not a positive integer with AUDIT_ERR_CONFIG, naming the option and its value', () => {
    const refused = (opts: Partial<ExportServiceOptions>) => {
      try {
        buildExportService({ store, auth: { secret: SECRET }, ...opts });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return { code: (err as ConfigError).code, key: (err as ConfigError).key, value: (err as ConfigError).value, message: (err as Error).message };
      }
      throw new Error('accepted');
    };
    expect(refused({ rowCap: 0 })).toEqual({ code: 'AUDIT_ERR_CONFIG', key: 'rowCap', value: '0', message: 'buildExportService: option rowCap must be a positive integer, got 0' });
    expect(refused({ maxRangeMs: Number.NaN })).toMatchObject({ key: 'maxRangeMs', value: 'NaN', message: expect.stringContaining('maxRangeMs must be a positive integer, got NaN') });
    expect(refused({ maxPageSize: 2.5 })).toMatchObject({ key: 'maxPageSize', value: '2.5', message: expect.stringContaining('maxPageSize must be a positive integer, got 2.5') });
    expect(refused({ store: undefined as never })).toMatchObject({ code: 'AUDIT_ERR_CONFIG', key: 'store', value: undefined });
    expect(refused({ auth: undefined as never })).toMatchObject({ code: 'AUDIT_ERR_CONFIG', key: 'auth', value: undefined });
  });

  it('keeps the published defaults from being changed', () => {
    expect(Object.isFrozen(EXPORT_SERVICE_DEFAULTS)).toBe(true);
  });
});
