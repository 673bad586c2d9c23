import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCollector, collectorConfigFromEnv, retentionFromConfig } from '@otel-audit/collector';
import { retentionCutoff } from '../src/internal/retention.js';
import { validateAuditEvent, type AuditEvent } from '@otel-audit/contract';
import { SqliteStore } from '@otel-audit/store';
import { eventually } from '../../test/support/services.js';
import { validEvent } from '../../test/support/otlp-json.js';

const DAY = 86_400_000;

async function all(store: SqliteStore): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of store.query({ from: new Date(0), to: new Date(Date.now() + DAY) })) out.push(e);
  return out;
}

describe('collector retention on a real SQLite file', () => {
  let dir: string;
  let store: SqliteStore;
  let app: ReturnType<typeof buildCollector> | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-collector-retention-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deletes events older than the period and records the deletion as a system event', async () => {
    const now = Date.now();
    const old = [validEvent({ time: new Date(now - 45 * DAY).toISOString() }), validEvent({ time: new Date(now - 400 * DAY).toISOString() })];
    const young = [validEvent({ time: new Date(now - 29 * DAY).toISOString() }), validEvent({ time: new Date(now - 60_000).toISOString() })];
    await store.insert([...old, ...young]);
    const told: AuditEvent[] = [];
    app = buildCollector({ store, retention: { days: 30, store, intervalMs: 50, audit: (e) => told.push(e) } });

    const events = await eventually(() => all(store), (es) => es.some((e) => e.action === 'retention.delete'));
    const recorded = events.filter((e) => e.action === 'retention.delete');
    expect(recorded).toHaveLength(1);
    const record = recorded[0]!;
    const cutoff = retentionCutoff(30).toISOString();
    expect(validateAuditEvent(record).ok).toBe(true);
    expect(record).toMatchObject({
      category: 'system',
      outcome: 'success',
      actor: { id: 'otel-audit-collector', type: 'system' },
      message: `Deleted 2 events older than ${cutoff}`,
      metadata: { days: 30, deleted: 2, units: `audit_events < ${cutoff}` },
    });
    expect(told.map((e) => e.id)).toEqual([record.id]);
    expect(events.filter((e) => e.action !== 'retention.delete').map((e) => e.id).sort()).toEqual(young.map((e) => e.id).sort());

    // Later runs find nothing more to delete, and record nothing.
    await new Promise((r) => setTimeout(r, 300));
    expect((await all(store)).filter((e) => e.action === 'retention.delete')).toHaveLength(1);
  });

  it('survives a failing deletion and tries again at the next interval', async () => {
    const now = Date.now();
    await store.insert([validEvent({ time: new Date(now - 90 * DAY).toISOString() })]);
    let calls = 0;
    const flaky = Object.create(store, {
      deleteOlderThan: {
        value: async (cutoff: Date) => {
          calls += 1;
          if (calls === 1) throw new Error('store unavailable');
          return store.deleteOlderThan(cutoff);
        },
      },
    }) as SqliteStore;
    app = buildCollector({ store, retention: { days: 30, store: flaky, intervalMs: 50 } });
    const events = await eventually(() => all(store), (es) => es.some((e) => e.action === 'retention.delete'));
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(events.map((e) => e.action)).toEqual(['retention.delete']);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});

describe('retention configuration', () => {
  const base = { AUDIT_DATA_DIR: '/tmp/otel-audit-config-test' };

  it('defaults to 365 days, 0 keeps everything, and anything but whole days fails naming the value', () => {
    expect(collectorConfigFromEnv(base).retention).toEqual({ days: 365 });
    expect(collectorConfigFromEnv({ ...base, AUDIT_RETENTION_DAYS: '0' }).retention.days).toBe(0);
    for (const bad of ['-1', '1e3', '30.5', 'forever', '0x10', '36501']) {
      expect(() => collectorConfigFromEnv({ ...base, AUDIT_RETENTION_DAYS: bad })).toThrow(`AUDIT_RETENTION_DAYS must be a whole number of days from 0 (keep forever) to 36500, got "${bad}"`);
    }
    expect(() => collectorConfigFromEnv({ ...base, AUDIT_RETENTION_ELASTICSEARCH_USERNAME: 'audit-admin' })).toThrow(/AUDIT_RETENTION_ELASTICSEARCH_PASSWORD/);
  });

  it('is off with a warning on Elasticsearch without the retention credentials; on SQLite it uses the same store', async () => {
    const store = new SqliteStore({ path: join(mkdtempSync(join(tmpdir(), 'otel-audit-cfg-')), 'audit.sqlite') });
    const onEs = collectorConfigFromEnv({ ...base, ELASTICSEARCH_URL: 'http://127.0.0.1:9' });
    const off = retentionFromConfig(onEs, store);
    expect(off.options).toBeUndefined();
    expect(off.warning).toMatch(/retention is off.*AUDIT_RETENTION_ELASTICSEARCH_USERNAME/);
    const onEsWithAdmin = retentionFromConfig(
      collectorConfigFromEnv({ ...base, ELASTICSEARCH_URL: 'http://127.0.0.1:9', AUDIT_RETENTION_ELASTICSEARCH_USERNAME: 'a', AUDIT_RETENTION_ELASTICSEARCH_PASSWORD: 'b' }),
      store,
    );
    expect(onEsWithAdmin.options?.store.kind).toBe('elasticsearch');
    await onEsWithAdmin.close();
    const sqlite = retentionFromConfig(collectorConfigFromEnv(base), store);
    expect(sqlite.options).toEqual({ days: 365, store });
    expect(sqlite.warning).toBeUndefined();
    expect(retentionFromConfig(collectorConfigFromEnv({ ...base, AUDIT_RETENTION_DAYS: '0' }), store).options).toBeUndefined();
    await store.close();
  });
});
