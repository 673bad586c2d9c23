import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { logs } from '@opentelemetry/api-logs';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { afterAll, describe, expect, it } from 'vitest';
import { createAuditLogger } from '@otel-audit/instrumentation';

describe('an app that already has OpenTelemetry', () => {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
  logs.setGlobalLoggerProvider(provider);
  afterAll(async () => {
    logs.disable();
    await provider.shutdown();
  });

  it('emits through the global LoggerProvider with the documented mapping', async () => {
    const audit = createAuditLogger({ loggerProvider: 'global' });
    const id = audit.record({ action: 'api_token.create', actor: { id: 'u-1', name: 'Ann', type: 'user' }, resource: { type: 'api_token', id: 'tok-1', name: 'CI' } });
    await audit.flush();
    const [record] = exporter.getFinishedLogRecords();
    expect(record?.eventName).toBe('api_token.create');
    expect(record?.severityText).toBe('INFO');
    expect(record?.attributes).toMatchObject({
      'log.record.uid': id,
      'user.id': 'u-1',
      'user.name': 'Ann',
      'audit.category': 'iam',
      'audit.outcome': 'success',
      'audit.resource.type': 'api_token',
      'audit.resource.id': 'tok-1',
    });
    expect(audit.stats().recorded).toBe(1);
  });

  // The SDK reads a numeric time below half of the process's time origin (mid-1998) as a
  // performance.now() offset: handed a number, a 1995 event came out in 2052. The app's own
  // provider is given a Date.
  it('hands the app’s provider the event time as recorded, before and after mid-1998', async () => {
    const audit = createAuditLogger({ loggerProvider: 'global' });
    const times = ['1973-03-03T09:46:40.000Z', '1995-06-01T10:00:00.123Z', '2089-12-31T12:00:00.500Z'];
    const ids = times.map((time) => audit.record({ time, action: 'auth.login', actor: { id: 'u-1', type: 'user' } }));
    await audit.flush();
    const byId = new Map(exporter.getFinishedLogRecords().map((r) => [r.attributes['log.record.uid'], r.hrTime]));
    expect(ids.map((id) => byId.get(id))).toEqual([
      [100_000_000, 0],
      [802_000_800, 123_000_000],
      [3_786_868_800, 500_000_000],
    ]);
  });

  it('refuses a spool with a global provider: delivery is then the app’s', () => {
    expect(() => createAuditLogger({ loggerProvider: 'global', spool: { dir: '/tmp/x' } })).toThrow(/spool/);
  });
});

describe('what an app installs', () => {
  it('pulls in no server framework, store client or spreadsheet library', () => {
    const root = resolve(import.meta.dirname, '../..');
    const tree = JSON.parse(
      execFileSync('npm', ['ls', '--workspace', '@otel-audit/instrumentation', '--omit', 'dev', '--all', '--json'], { cwd: root, encoding: 'utf8' }),
    ) as { dependencies?: Record<string, { dependencies?: unknown }> };
    const names = new Set<string>();
    const walk = (deps: Record<string, { dependencies?: unknown }> | undefined) => {
      for (const [name, dep] of Object.entries(deps ?? {})) {
        if (names.has(name)) continue;
        names.add(name);
        walk(dep.dependencies as Record<string, { dependencies?: unknown }> | undefined);
      }
    };
    walk(tree.dependencies);
    expect(names.has('@otel-audit/instrumentation')).toBe(true);
    expect(names.has('@opentelemetry/sdk-logs')).toBe(true);
    for (const forbidden of ['fastify', 'exceljs', '@elastic/elasticsearch', 'better-sqlite3', 'csv-stringify', 'jose', '@otel-audit/store', '@otel-audit/collector']) {
      expect(names, forbidden).not.toContain(forbidden);
    }
  });
});
