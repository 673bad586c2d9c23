import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectorConfigFromEnv } from '@otel-audit/collector';
import { AUDIT_LOG_SERVICE_NAME, type AuditEvent } from '@otel-audit/contract';
import type { SqliteStore } from '@otel-audit/store';
import { otlpJsonBody, validEvent } from '../../test/support/otlp-json.js';
import { decodeProto, ExportLogsServiceResponse, protobufBody } from '../../test/support/otlp-proto.js';
import { startSqliteCollector, type SqliteCollector } from '../../test/support/sqlite-collector.js';
import { parseSenderTokens } from '../src/internal/sender-auth.js';

/*
 * Finding 5: a sender token vouched for service.name only, so a billing token could write
 * audit_log.export for anyone. A token may now be limited to actions, and the reserved
 * audit_log.* actions belong to the export service. Real collector on a real port, real SQLite.
 */

const BILLING = 'token-for-billing-0123456789';
const LIMITED = 'token-for-payments-0123456789';
const EXPORTER = 'token-for-export-service-0123456789';
const SECOND_READER = 'token-for-second-reader-0123456789';

async function ids(store: SqliteStore): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.query({ from: new Date(0), to: new Date(Date.now() + 86_400_000) })) out.push(e.id);
  return out.sort();
}

describe('collector: which actions a sender may write (real HTTP, real SQLite)', () => {
  let collector: SqliteCollector;

  const post = async (body: string | Uint8Array, token?: string, contentType = 'application/json') =>
    fetch(`${collector.url}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });

  describe('with sender tokens', () => {
    beforeEach(async () => {
      const tokens = parseSenderTokens(
        [
          `${BILLING}=billing`,
          `${LIMITED}=payments:invoice.*|payment.create`,
          `${EXPORTER}=${AUDIT_LOG_SERVICE_NAME}`,
          `${SECOND_READER}=second-reader:audit_log.*`,
        ].join(','),
        'test',
      );
      collector = await startSqliteCollector({ senderTokens: tokens });
    });
    afterEach(() => collector.close());

    it('refuses a billing token writing audit_log.export per record, stores its other records, keeps the attempt as a dead letter', async () => {
      const login = validEvent();
      const forged = validEvent({ action: 'audit_log.export', category: 'data', actor: { id: 'u-victim', type: 'user' }, time: '2001-01-01T00:00:00.000Z' });
      const invoice = validEvent({ action: 'invoice.create', category: 'data' });
      const res = await post(otlpJsonBody([login, forged, invoice], 'billing'), BILLING);
      expect(res.status).toBe(200);
      const answer = (await res.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } };
      expect(answer.partialSuccess.rejectedLogRecords).toBe('1');
      expect(answer.partialSuccess.errorMessage).toBe(
        `record 1: action "audit_log.export" is reserved for service.name "${AUDIT_LOG_SERVICE_NAME}"; refused from the sender token of service.name "billing"`,
      );
      expect(await ids(collector.store)).toEqual([login.id, invoice.id].sort());

      const dead = collector.store.rejected();
      expect(dead).toHaveLength(1);
      expect(dead[0]!.reason).toContain('"audit_log.export" is reserved');
      expect(dead[0]!.serviceName).toBe('billing');
      expect(dead[0]!.record).toMatchObject({ id: forged.id, action: 'audit_log.export', actor: { id: 'u-victim' } });
      const metrics = await (await fetch(`${collector.url}/metrics`)).text();
      expect(metrics).toContain('otel_audit_records_rejected_total{service="billing",reason="action_forbidden"} 1');
      expect(metrics).toContain('otel_audit_records_stored_total 2');
    });

    it('answers the refusal as protobuf partial_success to a protobuf sender', async () => {
      const forged = validEvent({ action: 'audit_log.search', category: 'search' });
      const res = await post(protobufBody(JSON.parse(otlpJsonBody([forged, validEvent()], 'billing'))), BILLING, 'application/x-protobuf');
      expect(res.status).toBe(200);
      const answer = decodeProto(ExportLogsServiceResponse, Buffer.from(await res.arrayBuffer())) as { partialSuccess?: { rejectedLogRecords: number; errorMessage: string } };
      expect(answer.partialSuccess).toMatchObject({ rejectedLogRecords: 1, errorMessage: expect.stringContaining('"audit_log.search" is reserved') });
      expect(await ids(collector.store)).toHaveLength(1);
    });

    it('a token with an action list writes only those actions (exact and prefix.*)', async () => {
      const allowed = [
        validEvent({ action: 'invoice.create', category: 'data' }),
        validEvent({ action: 'invoice.line.update', category: 'data' }),
        validEvent({ action: 'payment.create', category: 'data' }),
      ];
      const refused = [validEvent({ action: 'payment.refund', category: 'data' }), validEvent(), validEvent({ action: 'audit_log.export', category: 'data' })];
      const res = await post(otlpJsonBody([...allowed, ...refused], 'payments'), LIMITED);
      expect(res.status).toBe(200);
      const answer = (await res.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } };
      expect(answer.partialSuccess.rejectedLogRecords).toBe('3');
      expect(answer.partialSuccess.errorMessage).toContain(
        'action "payment.refund" is not among the actions the sender token of service.name "payments" may write (invoice.*|payment.create)',
      );
      expect(answer.partialSuccess.errorMessage).toContain('action "auth.login" is not among');
      expect(await ids(collector.store)).toEqual(allowed.map((e) => e.id).sort());
      expect(collector.store.rejected().map((d) => (d.record as AuditEvent).id).sort()).toEqual(refused.map((e) => e.id).sort());
    });

    it('the export service token writes audit_log.* actions; so does a token whose list names them', async () => {
      const search = validEvent({ action: 'audit_log.search', category: 'search' });
      const exported = validEvent({ action: 'audit_log.export', category: 'data' });
      const res = await post(otlpJsonBody([search, exported], AUDIT_LOG_SERVICE_NAME), EXPORTER);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({});
      const second = validEvent({ action: 'audit_log.export', category: 'data' });
      const res2 = await post(otlpJsonBody([second], 'second-reader'), SECOND_READER);
      expect(await res2.json()).toEqual({});
      expect(await ids(collector.store)).toEqual([search.id, exported.id, second.id].sort());
      expect(collector.store.rejected()).toEqual([]);
    });

    it('the export service name does not help a token issued to another service', async () => {
      // service.name is still bound to the token: claiming the export service is a 403 for the batch.
      const res = await post(otlpJsonBody([validEvent({ action: 'audit_log.export', category: 'data' })], AUDIT_LOG_SERVICE_NAME), BILLING);
      expect(res.status).toBe(403);
      expect(await ids(collector.store)).toEqual([]);
    });
  });

  describe('with sender tokens off (loopback only)', () => {
    beforeEach(async () => {
      collector = await startSqliteCollector();
    });
    afterEach(() => collector.close());

    it('reserves audit_log.* for the declared service.name of the export service', async () => {
      const forged = validEvent({ action: 'audit_log.export', category: 'data' });
      const ok = validEvent();
      const res = await post(otlpJsonBody([forged, ok], 'billing'));
      const answer = (await res.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } };
      expect(answer.partialSuccess).toEqual({
        rejectedLogRecords: '1',
        errorMessage: `record 0: action "audit_log.export" is reserved for service.name "${AUDIT_LOG_SERVICE_NAME}"; refused from service.name "billing" (declared; sender tokens are off)`,
      });
      const genuine = validEvent({ action: 'audit_log.export', category: 'data' });
      expect(await (await post(otlpJsonBody([genuine], AUDIT_LOG_SERVICE_NAME))).json()).toEqual({});
      expect(await ids(collector.store)).toEqual([ok.id, genuine.id].sort());
      expect(collector.store.rejected()).toHaveLength(1);
    });
  });
});

describe('sender token entries', () => {
  it('reads plain entries and entries with an action list', () => {
    expect(parseSenderTokens(`${BILLING}=billing\n# comment\n${LIMITED}=payments:invoice.*|payment.create`, 'X')).toEqual([
      [BILLING, 'billing'],
      [LIMITED, 'payments', ['invoice.*', 'payment.create']],
    ]);
    expect(collectorConfigFromEnv({ AUDIT_COLLECTOR_TOKENS: `${LIMITED}=payments: audit_log.* ` }).senderTokens).toEqual([[LIMITED, 'payments', ['audit_log.*']]]);
  });

  it('fails start-up on a bad action naming the entry, never the token', () => {
    for (const bad of [`${BILLING}=billing:`, `${BILLING}=billing:Invoice.Create`, `${BILLING}=billing:invoice*`, `${BILLING}=billing:*`, `${BILLING}=billing:a.b||c.d`]) {
      let message = '';
      try {
        collectorConfigFromEnv({ AUDIT_COLLECTOR_TOKENS: `${EXPORTER}=x,${bad}` });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^AUDIT_COLLECTOR_TOKENS: entry 2 has an invalid action/);
      expect(message).not.toContain(BILLING);
    }
    expect(() => parseSenderTokens(`${BILLING}=:invoice.*`, 'X')).toThrow('X: entry 1 must be token=service.name or token=service.name:action|prefix.*');
  });
});
