import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCollector, collectorConfigFromEnv } from '@otel-audit/collector';
import type { AuditEvent } from '@otel-audit/contract';
import { ElasticsearchStore, SqliteStore } from '@otel-audit/store';
import { otlpJsonBody, validEvent } from '../../test/support/otlp-json.js';

async function all(store: SqliteStore): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of store.query({ from: new Date(0), to: new Date(Date.now() + 86_400_000) })) out.push(e);
  return out;
}

describe('collector /v1/logs on a real SQLite file', () => {
  let dir: string;
  let store: SqliteStore;
  let app: ReturnType<typeof buildCollector>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-collector-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    app = buildCollector({ store, bodyLimit: 64 * 1024 });
  });
  afterEach(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (payload: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    app.inject({ method: 'POST', url: '/v1/logs', payload, headers });

  it('stores valid records and answers an empty OTLP response', async () => {
    const events = [validEvent(), validEvent({ action: 'auth.logout', category: 'session' })];
    const res = await post(otlpJsonBody(events));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({});
    expect((await all(store)).map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect((await all(store))[0]!.service).toEqual({ name: 'test-app' });
  });

  it('rejects records that break the contract with partial success, and keeps the rest', async () => {
    const good = validEvent();
    const noActor = validEvent();
    const badAction = validEvent({ action: 'Not An Action' });
    const body = JSON.parse(otlpJsonBody([good, noActor, badAction]));
    const records = body.resourceLogs[0].scopeLogs[0].logRecords;
    records[1].attributes = records[1].attributes.filter((a: { key: string }) => !a.key.startsWith('user.'));
    const res = await post(JSON.stringify(body));
    expect(res.statusCode).toBe(200);
    const answer = res.json();
    expect(answer.partialSuccess.rejectedLogRecords).toBe('2');
    expect(answer.partialSuccess.errorMessage).toContain('actor.id');
    expect(answer.partialSuccess.errorMessage).toContain('action');
    expect((await all(store)).map((e) => e.id)).toEqual([good.id]);
  });

  it('answers 400 with a google.rpc.Status for a body that is not JSON, and keeps serving', async () => {
    const res = await post('{"resourceLogs": [');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 3 });
    expect(res.json().message).toMatch(/JSON/i);
    const next = await post(otlpJsonBody([validEvent()]));
    expect(next.statusCode).toBe(200);
    expect(await all(store)).toHaveLength(1);
  });

  it('answers 400 naming the field when the OTLP structure is wrong', async () => {
    const res = await post(JSON.stringify({ resourceLogs: [{ scopeLogs: 'nope' }] }));
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain('resourceLogs[0].scopeLogs must be an array');
  });

  it('answers 415 for a content type it does not speak', async () => {
    const res = await post('hello', { 'content-type': 'text/plain' });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe(3);
  });

  it('answers 413 for a body over the limit', async () => {
    const big = otlpJsonBody(Array.from({ length: 40 }, () => validEvent({ message: 'x'.repeat(4000) })));
    expect(big.length).toBeGreaterThan(64 * 1024);
    const res = await post(big);
    expect(res.statusCode).toBe(413);
    expect(await all(store)).toHaveLength(0);
  });

  it('accepts gzip bodies', async () => {
    const event = validEvent();
    const res = await post(gzipSync(otlpJsonBody([event])), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(res.statusCode).toBe(200);
    expect((await all(store)).map((e) => e.id)).toEqual([event.id]);
  });

  it('refuses a gzip bomb with 413 without inflating it whole', async () => {
    // 64 MiB of zeros compresses to about 64 KiB; the limit here is 64 KiB inflated.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(64 * 1024 * 1.1);
    const app2 = buildCollector({ store, bodyLimit: 128 * 1024 });
    const res = await app2.inject({ method: 'POST', url: '/v1/logs', payload: bomb, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
    expect(res.statusCode).toBe(413);
    expect(res.json().message).toContain('inflates to more than');
    await app2.close();
  });

  it('answers 400 for a body that claims gzip but is not', async () => {
    const res = await post('plain text', { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain('invalid gzip');
  });

  it('answers 415 for a content encoding it does not speak', async () => {
    const res = await post('{}', { 'content-type': 'application/json', 'content-encoding': 'br' });
    expect(res.statusCode).toBe(415);
    expect(res.json().message).toContain('"br"');
  });

  it('refuses records with huge or mistyped values by field, and keeps the rest', async () => {
    const huge = validEvent({ message: 'x'.repeat(10_000) });
    const body = JSON.parse(otlpJsonBody([validEvent(), huge]));
    body.resourceLogs[0].scopeLogs[0].logRecords[0].attributes.push({ key: 'user.roles', value: { intValue: '7' } });
    const res = await post(JSON.stringify(body));
    expect(res.statusCode).toBe(200);
    expect(res.json().partialSuccess.rejectedLogRecords).toBe('2');
    expect(res.json().partialSuccess.errorMessage).toContain('actor.roles: must be array');
    expect(res.json().partialSuccess.errorMessage).toContain('message: must not have more than 4096 characters');
    expect(await all(store)).toHaveLength(0);
  });

  it('serves /healthz', async () => {
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
  });
});

describe('collector with an unreachable store', () => {
  it('answers 503 with Retry-After, so OTLP clients retry instead of losing the batch', async () => {
    // Port 9 (discard) on loopback: nothing listens there, the connection is refused.
    const store = new ElasticsearchStore({ url: 'http://127.0.0.1:9', installTemplate: false });
    const app = buildCollector({ store, retryAfterSeconds: 7 });
    const res = await app.inject({ method: 'POST', url: '/v1/logs', payload: otlpJsonBody([validEvent()]), headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.json()).toEqual({ code: 14, message: 'the audit store is unavailable; retry later' });
    await app.close();
    await store.close();
  });
});

describe('collector configuration', () => {
  it('fails fast naming the bad variable', () => {
    expect(() => collectorConfigFromEnv({ AUDIT_COLLECTOR_PORT: 'http' })).toThrow(/AUDIT_COLLECTOR_PORT .*"http"/);
    expect(() => collectorConfigFromEnv({ ELASTICSEARCH_URL: 'not a url' })).toThrow(/ELASTICSEARCH_URL/);
    expect(collectorConfigFromEnv({})).toMatchObject({ host: '127.0.0.1', port: 4318, bodyLimit: 64 * 1024 * 1024 });
  });
});
