import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElasticsearchStore, SqliteStore, type AuditStore, type DeadLetterReader, type RejectedRecord } from '@otel-audit/store';
import { elasticsearch } from '../../test/support/elasticsearch.js';
import { isolatedDay } from '../../test/support/services.js';

const es = elasticsearch();

const kinds = [
  {
    name: 'SQLite',
    enabled: true,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'otel-audit-dead-'));
      const store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
      return { writer: store as AuditStore, reader: store as DeadLetterReader, close: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })) };
    },
  },
  {
    name: 'Elasticsearch',
    enabled: es !== null,
    async open() {
      const admin = new ElasticsearchStore({ url: es!.url, ...es!.admin });
      await admin.init();
      // The collector's least-privilege writer writes; only the admin may read dead letters.
      const writer = new ElasticsearchStore({ url: es!.url, ...es!.writer, installTemplate: false });
      return { writer: writer as AuditStore, reader: admin as DeadLetterReader, close: async () => (await writer.close(), await admin.close()) };
    },
  },
];

for (const kind of kinds) {
  describe.skipIf(!kind.enabled)(`${kind.name} dead-letter store`, () => {
    let stores: Awaited<ReturnType<(typeof kinds)[number]['open']>>;
    beforeAll(async () => {
      stores = await kind.open();
    });
    afterAll(async () => stores?.close());

    it('keeps the record as sent and the problems per field, lists newest first by --since and service, and reads old-format letters', async () => {
      // A service name of this run alone: the Elasticsearch node is shared.
      const service = `dead-letter-test-${process.pid}-${Date.now()}`;
      const day = isolatedDay().getTime();
      const original = { resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeLogs: [{ logRecords: [{ attributes: [{ key: 'audit.catgory', value: { stringValue: 'iam' } }] }] }] }] };
      const fresh: RejectedRecord = {
        id: `contract-${service}-new`,
        receivedAt: new Date(day + 3_600_000).toISOString(),
        reason: 'category: is required',
        serviceName: service,
        record: { action: 'user.login' },
        original,
        problems: [{ field: 'category', problem: 'is required' }],
      };
      // As the collector wrote dead letters before issue 14: no original, no problems.
      const old: RejectedRecord = { id: `contract-${service}-old`, receivedAt: new Date(day).toISOString(), reason: 'time: is required', serviceName: service, record: { action: 'x.y' } };
      const other: RejectedRecord = { ...fresh, id: `contract-${service}-other`, serviceName: `${service}-other` };
      await stores.writer.insertRejected([fresh, old, other]);

      expect(await stores.reader.listRejected({ serviceName: service })).toEqual([fresh, old]);
      expect(await stores.reader.listRejected({ serviceName: service, since: new Date(day + 60_000) })).toEqual([fresh]);
      expect(await stores.reader.getRejected(fresh.id)).toEqual(fresh);
      expect(await stores.reader.getRejected(old.id)).toEqual(old);
      expect(await stores.reader.getRejected(`${service}-absent`)).toBeUndefined();
    });
  });
}

describe('SQLite dead letters written before issue 14', () => {
  it('stay readable after the migration that adds original and problems', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otel-audit-dead-migrate-'));
    try {
      const path = join(dir, 'audit.sqlite');
      const old = new Database(path);
      old.exec(`CREATE TABLE audit_rejected (id TEXT PRIMARY KEY, received_ms INTEGER NOT NULL, reason TEXT NOT NULL, service_name TEXT,
        record TEXT NOT NULL) WITHOUT ROWID`);
      old.prepare('INSERT INTO audit_rejected VALUES (?, ?, ?, ?, ?)').run('contract-old', 0, 'category: is required', 'billing', '{"action":"invoice.paid"}');
      old.close();
      const store = new SqliteStore({ path });
      expect(await store.getRejected('contract-old')).toEqual({
        id: 'contract-old',
        receivedAt: new Date(0).toISOString(),
        reason: 'category: is required',
        serviceName: 'billing',
        record: { action: 'invoice.paid' },
      });
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
