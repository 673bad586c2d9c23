import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collectorConfigFromEnv } from '@otel-audit/collector';
import { exportServiceConfigFromEnv } from '@otel-audit/exporter-service';
import { ConfigError } from '@otel-audit/store';
import { CONFIG_DOC, SETTING_TABLES, configurationDocument } from '../scripts/write-config-docs.js';

const root = join(import.meta.dirname, '..');
const dataDir = mkdtempSync(join(tmpdir(), 'otel-audit-config-docs-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const documented = new Map(SETTING_TABLES.flatMap(({ table }) => Object.entries(table)));

/** Upper-case names the config readers' sources read: `env.NAME`, `env['NAME']` and string literals. */
function namesReadBy(files: string[]): Set<string> {
  const names = new Set<string>();
  for (const file of files) {
    const code = readFileSync(join(root, file), 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line))
      .join('\n');
    for (const m of code.matchAll(/env\.([A-Z][A-Z0-9_]+)|env\[['"]([A-Z][A-Z0-9_]+)['"]\]|['"`]((?:AUDIT|ELASTICSEARCH|KIBANA)_(?!ERR_)[A-Z0-9_]+)['"`]/g)) {
      names.add(m[1] ?? m[2] ?? m[3]!);
    }
  }
  return names;
}

const TABLES = ['store/src/store-settings.ts', 'collector/src/collector-settings.ts', 'exporter-service/src/export-service-settings.ts', 'cli/src/cli-settings.ts'];
// Every source file of the packages that read settings, except the tables themselves.
const READERS = ['store', 'collector', 'exporter-service', 'cli'].flatMap((pkg) =>
  (readdirSync(join(root, pkg, 'src'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `${pkg}/src/${f}`)
    .filter((file) => !TABLES.includes(file)),
);
// Read by the SDKs underneath (OpenTelemetry, AWS), documented with them.
const SDK_VARIABLE = /^(OTEL|AWS)_/;

describe('docs/configuration.md', () => {
  it('matches the settings tables (regenerate: npx tsx scripts/write-config-docs.ts)', () => {
    expect(readFileSync(CONFIG_DOC, 'utf8')).toBe(configurationDocument());
  });

  it('lists every variable the config readers read, and each listed one is read', () => {
    const read = namesReadBy(READERS);
    const notDocumented = [...read].filter((name) => !documented.has(name) && !SDK_VARIABLE.test(name));
    expect(notDocumented).toEqual([]);
    // AUDIT_HEALTHCHECK_URL is read by the Dockerfile's HEALTHCHECK, not by our TypeScript.
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const unread = [...documented.keys()].filter((name) => !read.has(name) && !dockerfile.includes(name));
    expect(unread).toEqual([]);
    // Each variable belongs to one table.
    const all = SETTING_TABLES.flatMap(({ table }) => Object.keys(table));
    expect(all.length).toBe(new Set(all).size);
    for (const file of TABLES) expect(readFileSync(join(root, file), 'utf8')).toContain('settingTable(');
  });
});

describe('the readers apply the tables', () => {
  const collector = SETTING_TABLES.find((t) => t.title === 'Collector')!.table;
  const exportService = SETTING_TABLES.find((t) => t.title === 'Export service')!.table;
  const integers = (table: typeof collector) => Object.entries(table).filter(([, s]) => s.type === 'integer' && typeof s.default === 'number');

  it("an unset integer gets the table's default", () => {
    const c = collectorConfigFromEnv({ AUDIT_DATA_DIR: dataDir });
    expect(c.port).toBe(collector.AUDIT_COLLECTOR_PORT!.default);
    expect(c.bodyLimit).toBe(collector.AUDIT_COLLECTOR_BODY_LIMIT!.default);
    expect(c.rateLimitPerMinute).toBe(collector.AUDIT_COLLECTOR_RATE_LIMIT!.default);
    expect(c.keepAliveTimeoutMillis).toBe(collector.AUDIT_COLLECTOR_KEEP_ALIVE_TIMEOUT_MS!.default);
    const e = exportServiceConfigFromEnv({ AUDIT_DATA_DIR: dataDir });
    expect(e.port).toBe(exportService.AUDIT_EXPORT_PORT!.default);
    expect(e.rowCap).toBe(exportService.AUDIT_EXPORT_ROW_CAP!.default);
    expect(e.jobs.concurrency).toBe(exportService.AUDIT_EXPORT_JOB_CONCURRENCY!.default);
    expect(e.defaultWindowMs).toBe((exportService.AUDIT_EXPORT_DEFAULT_WINDOW_DAYS!.default as number) * 86_400_000);
  });

  it.each([
    ['collector', collectorConfigFromEnv, integers(collector)],
    ['export service', exportServiceConfigFromEnv, integers(exportService)],
  ] as const)("the %s refuses an integer just past the table's bounds with a ConfigError naming it", (_, read, settings) => {
    expect(settings.length).toBeGreaterThan(3);
    for (const [name, s] of settings) {
      for (const bad of [s.max! + 1, s.min! - 1]) {
        let error: unknown;
        try {
          read({ AUDIT_DATA_DIR: dataDir, [name]: String(bad) });
        } catch (err) {
          error = err;
        }
        expect(error, `${name}=${bad}`).toBeInstanceOf(ConfigError);
        expect(error).toMatchObject({ code: 'AUDIT_ERR_CONFIG', key: name, value: String(bad) });
        expect((error as Error).message).toContain(`${name} must be an integer from ${s.min} to ${s.max}`);
      }
    }
  });

  it('never puts a secret in a ConfigError', () => {
    const secret = 'short-secret';
    for (const env of [{ AUDIT_JWT_SECRET: secret }, { AUDIT_EXPORT_LINK_SECRET: secret }, { AUDIT_EXPORT_SENDER_TOKEN: 'has a space in it, long enough' }]) {
      let error: unknown;
      try {
        exportServiceConfigFromEnv({ AUDIT_DATA_DIR: dataDir, ...env });
      } catch (err) {
        error = err;
      }
      const [name, value] = Object.entries(env)[0]!;
      expect(error).toMatchObject({ code: 'AUDIT_ERR_CONFIG', key: name, value: undefined });
      expect((error as Error).message).not.toContain(value);
    }
    let error: unknown;
    try {
      collectorConfigFromEnv({ AUDIT_DATA_DIR: dataDir, AUDIT_COLLECTOR_TOKENS: 'too-short=billing' });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'AUDIT_ERR_CONFIG', key: 'AUDIT_COLLECTOR_TOKENS', value: undefined });
    expect((error as Error).message).not.toContain('too-short');
  });
});
