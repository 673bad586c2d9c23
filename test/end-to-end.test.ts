import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCollector } from '@otel-audit/collector';
import { buildExportService, signToken } from '@otel-audit/exporter-service';
import { actionDefinition, createAuditLogger, type AuditEvent, type AuditEventInput } from '@otel-audit/instrumentation';
import { elasticsearch } from './support/elasticsearch.js';
import { elasticsearchStores, eventually, isolatedDay, listen, sqliteStores, type StorePair } from './support/services.js';

const SECRET = 'end-to-end-test-secret-of-at-least-32-chars';
const es = elasticsearch();

/** Events that exercise every field and the awkward characters a CSV must survive. */
function sampleEvents(day: Date): AuditEventInput[] {
  const at = (minutes: number) => new Date(day.getTime() + minutes * 60_000);
  const alice = { id: 'u-alice', name: 'Alice "Al" Martin', type: 'user' as const, email: 'alice@example.com', roles: ['admin', 'auditor'] };
  const client = { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64), like Gecko' };
  const workspace = { id: 'acme', name: 'Acme, Inc.' };
  return [
    { time: at(1), action: 'auth.login', category: 'authentication', outcome: 'failure', reason: 'wrong password', actor: alice, client, workspace, message: 'Log on failed' },
    { time: at(2), action: 'auth.login', category: 'authentication', actor: alice, client, workspace, sessionId: 's-1', message: 'Logged on' },
    {
      time: at(3),
      action: 'user.update',
      category: 'iam',
      actor: alice,
      client,
      workspace,
      resource: { type: 'user', id: 'u-bob', name: 'Bob Ñúñez 🚀' },
      changes: [
        { field: 'email', from: 'bob@old.example', to: 'bob@example.com' },
        { field: 'manager', from: null, to: 'u-alice' },
      ],
      message: 'Changed profile:\nemail, manager',
    },
    {
      time: at(4),
      action: 'file.create',
      category: 'data',
      actor: { id: 'svc-sync', type: 'service' },
      workspace,
      resource: { type: 'file', id: 'f-9', name: '=HYPERLINK("http://evil.example")', href: 'https://cyberpass.example/files/f-9' },
      request: { id: 'r-2', parentId: 'r-1' },
      metadata: { sizeBytes: 52_311, scanned: true, note: '+1; -2; @SUM(A1)' },
      message: 'Uploaded\ta file',
    },
    { time: at(5), action: 'auth.logout', actor: alice, client, workspace, sessionId: 's-1', correlationId: 'req-5' },
  ];
}

const kinds: { name: string; open: () => Promise<StorePair>; enabled: boolean }[] = [
  { name: 'SQLite', open: sqliteStores, enabled: true },
  { name: `Elasticsearch ${es?.version ?? '(not available)'}`, open: () => elasticsearchStores(es!), enabled: es !== null },
];

for (const kind of kinds) {
  describe.skipIf(!kind.enabled)(`record() → OTLP/HTTP → collector → ${kind.name} → CSV over HTTP`, () => {
    let stores: StorePair;
    let collectorUrl: string;
    let exportUrl: string;
    const apps: { close(): Promise<unknown> }[] = [];

    beforeAll(async () => {
      stores = await kind.open();
      const collector = buildCollector({ store: stores.writer });
      const exporter = buildExportService({ store: stores.reader, auth: { secret: SECRET } });
      apps.push(collector, exporter);
      collectorUrl = await listen(collector);
      exportUrl = await listen(exporter);
    });

    afterAll(async () => {
      await Promise.all(apps.map((a) => a.close()));
      await stores?.close();
    });

    it('stores every recorded event once, and the CSV parsed back equals what was recorded', async () => {
      const day = isolatedDay();
      const inputs = sampleEvents(day);
      const audit = createAuditLogger({ serviceName: 'e2e-app', endpoint: collectorUrl });
      const ids = inputs.map((e) => audit.record(e));
      await audit.shutdown();

      const expected: AuditEvent[] = inputs.map((input, i) => ({
        ...input,
        id: ids[i]!,
        time: new Date(input.time!).toISOString(),
        outcome: input.outcome ?? 'success',
        category: input.category ?? actionDefinition(input.action)!.category,
        // The catalogue's default message fills in when the app gives none.
        ...(input.message || actionDefinition(input.action) ? { message: input.message ?? actionDefinition(input.action)!.message } : {}),
        service: { name: 'e2e-app' },
      }));
      const range = { from: day, to: new Date(day.getTime() + 86_400_000) };

      // The store holds exactly the recorded events, every field intact.
      const stored = await eventually(
        async () => {
          const out: AuditEvent[] = [];
          for await (const e of stores.reader.query(range)) out.push(e);
          return out;
        },
        (events) => events.length >= expected.length,
      );
      expect(stored).toEqual(expected);

      const token = await signToken(SECRET, { sub: 'u-auditor', permissions: ['users:view', 'security-logs:view'] });
      const res = await fetch(`${exportUrl}/v1/exports/events.csv?scope=all&from=${range.from.toISOString()}&to=${range.to.toISOString()}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="audit-log_all-users_.+\.csv"$/);
      const rows = parse(await res.text(), { columns: true }) as Record<string, string>[];
      expect(rows).toHaveLength(expected.length);
      rows.forEach((row, i) => {
        const e = expected[i]!;
        expect(row['Event ID']).toBe(e.id);
        expect(row['Date (UTC)']).toBe(e.time);
        expect(row['User']).toBe(e.actor.name ?? e.actor.id);
        expect(row['User ID']).toBe(e.actor.id);
        expect(row['Workspace']).toBe('Acme, Inc.');
        expect(row['Action']).toBe(e.action);
        expect(row['Category']).toBe(e.category);
        expect(row['Resource']).toBe(e.resource?.type ?? '');
        expect(row['Outcome']).toBe(e.outcome);
        expect(row['IP address']).toBe(e.client?.ip ?? '');
        expect(row['User agent']).toBe(e.client?.userAgent ?? '');
      });
      expect(rows[0]!['Details']).toBe('Log on failed — wrong password');
      expect(rows[2]!['Target']).toBe('Bob Ñúñez 🚀');
      expect(rows[2]!['Details']).toBe('Changed profile:\nemail, manager');
      // A formula-looking value is exported as text, never as a formula.
      expect(rows[3]!['Target']).toBe(`'=HYPERLINK("http://evil.example")`);
      expect(rows[3]!['User']).toBe('svc-sync');
      expect(rows[4]!['Details']).toBe(actionDefinition('auth.logout')!.message);
    });

    it('stores a batch sent twice only once', async () => {
      const day = isolatedDay();
      const audit = createAuditLogger({ serviceName: 'e2e-app', endpoint: collectorUrl });
      const input: AuditEventInput = { time: day, action: 'auth.login', category: 'authentication', actor: { id: 'u-carol', type: 'user' } };
      const id = audit.record(input);
      await audit.shutdown();
      const range = { from: day, to: new Date(day.getTime() + 60_000) };
      const first: AuditEvent[] = [];
      await eventually(
        async () => {
          first.length = 0;
          for await (const e of stores.reader.query(range)) first.push(e);
          return first.length;
        },
        (n) => n === 1,
      );
      // Replaying the stored event (what a retry after a lost acknowledgement does)
      // is a duplicate, not a second copy.
      const again = await stores.writer.insert(first);
      expect(again).toEqual({ created: 0, duplicates: 1, failed: [] });
      const after: AuditEvent[] = [];
      for await (const e of stores.reader.query(range)) after.push(e);
      expect(after.map((e) => e.id)).toEqual([id]);
    });
  });
}
