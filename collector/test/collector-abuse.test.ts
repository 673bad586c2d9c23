import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCollector } from '@otel-audit/collector';
import { SqliteStore } from '@otel-audit/store';
import { elasticsearch } from '../../test/support/elasticsearch.js';
import { otlpJsonBody, validEvent } from '../../test/support/otlp-json.js';
import { decodeProto, protobufBody, RpcStatus } from '../../test/support/otlp-proto.js';
import { elasticsearchStores, listen, type StorePair } from '../../test/support/services.js';

/*
 * Finding 6: the collector could be exhausted by a huge refused record kept whole, a body
 * sent at a byte per second, or one sender's flood. Real collector on a real port.
 */

const json = { 'content-type': 'application/json' };
const es = elasticsearch();

/** A record the contract refuses (message over 4096 characters) carrying about `bytes` of payload. */
function hugeRefusedBody(bytes: number, service = 'test-app'): { body: string; id: string } {
  const event = validEvent({ message: 'x'.repeat(bytes) });
  return { body: otlpJsonBody([event], service), id: event.id };
}

describe('collector: bounded dead letters, timeouts, rate limits (SQLite)', () => {
  let dir: string;
  let store: SqliteStore;
  let app: ReturnType<typeof buildCollector> | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-abuse-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a refused 10 MB record as a bounded dead-letter row that says how large it was', async () => {
    app = buildCollector({ store });
    const url = await listen(app);
    const { body, id } = hugeRefusedBody(10 * 1024 * 1024);
    const res = await fetch(`${url}/v1/logs`, { method: 'POST', headers: json, body });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { partialSuccess: { errorMessage: string } }).partialSuccess.errorMessage).toContain('message: must not have more than 4096 characters');

    const dead = store.rejected();
    expect(dead).toHaveLength(1);
    const record = dead[0]!.record as { truncated: boolean; originalBytes: number; head: string };
    expect(Buffer.byteLength(JSON.stringify(record))).toBeLessThanOrEqual(16 * 1024);
    expect(record.truncated).toBe(true);
    expect(record.originalBytes).toBeGreaterThan(10 * 1024 * 1024);
    // The head is the start of the record's JSON: enough to see what was sent and by whom.
    expect(record.head.startsWith('{')).toBe(true);
    expect(record.head).toContain(id);
    expect(dead[0]!.serviceName).toBe('test-app');
    expect(dead[0]!.reason).toContain('message: must not have more than 4096 characters');
  });

  it('keeps a small refused record whole', async () => {
    app = buildCollector({ store, deadLetterMaxBytes: 16 * 1024 });
    const bad = validEvent({ action: 'Bad Action' });
    await app.inject({ method: 'POST', url: '/v1/logs', payload: otlpJsonBody([bad]), headers: json });
    expect(store.rejected()[0]!.record).toMatchObject({ id: bad.id, action: 'Bad Action' });
  });

  it('cuts off a body sent a byte at a time at the request timeout, and keeps serving others meanwhile', async () => {
    app = buildCollector({ store, requestTimeoutMillis: 1000, headersTimeoutMillis: 1000 });
    const url = await listen(app);
    const { port } = new URL(url);
    const payload = otlpJsonBody([validEvent()]);
    const socket = connect({ host: '127.0.0.1', port: Number(port) });
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(`POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n`);
    // One byte per 100 ms: the whole body would take minutes; stop trying once the collector hung up.
    let sent = 0;
    let open = true;
    void closed.then(() => (open = false));
    const dribble = (async () => {
      while (open && sent < payload.length) {
        socket.write(payload[sent]!);
        sent += 1;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    // Meanwhile a well-behaved sender is served.
    const good = validEvent();
    const res = await fetch(`${url}/v1/logs`, { method: 'POST', headers: json, body: otlpJsonBody([good]) });
    expect(res.status).toBe(200);

    await closed;
    await dribble;
    expect(sent).toBeLessThan(payload.length);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    const stored: string[] = [];
    for await (const e of store.query({ from: new Date(0), to: new Date(Date.now() + 86_400_000) })) stored.push(e.id);
    expect(stored).toEqual([good.id]);
    expect((await app.inject('/metrics')).body).toContain('otel_audit_requests_timed_out_total 1');
  });

  it('rate-limits per sender token with 429 + Retry-After and an OTLP status; other senders and probes are unaffected', async () => {
    const billing = 'token-for-billing-0123456789';
    const payroll = 'token-for-payroll-0123456789';
    app = buildCollector({ store, rateLimitPerMinute: 3, senderTokens: [[billing, 'billing'], [payroll, 'payroll']] });
    const url = await listen(app);
    const post = (token: string, service: string, protobuf = false) => {
      const body = otlpJsonBody([validEvent()], service);
      return fetch(`${url}/v1/logs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': protobuf ? 'application/x-protobuf' : 'application/json' },
        body: protobuf ? protobufBody(JSON.parse(body)) : body,
      });
    };
    for (let i = 0; i < 3; i++) expect((await post(billing, 'billing')).status).toBe(200);
    const limited = await post(billing, 'billing');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    const status = (await limited.json()) as { code: number; message: string };
    expect(status.code).toBe(8);
    expect(status.message).toMatch(/^this sender sent more than 3 requests in a minute; retry after \d+ s$/);
    const limitedProto = await post(billing, 'billing', true);
    expect(limitedProto.status).toBe(429);
    expect(limitedProto.headers.get('content-type')).toBe('application/x-protobuf');
    expect(decodeProto(RpcStatus, Buffer.from(await limitedProto.arrayBuffer()))).toMatchObject({ code: 8 });

    expect((await post(payroll, 'payroll')).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('otel_audit_requests_rate_limited_total 2');
    expect(metrics).toContain('otel_audit_records_stored_total 4');
  });

  it('without tokens, rate-limits per client address', async () => {
    app = buildCollector({ store, rateLimitPerMinute: 2 });
    const post = (remoteAddress: string) =>
      app!.inject({ method: 'POST', url: '/v1/logs', payload: otlpJsonBody([validEvent()]), headers: json, remoteAddress });
    expect((await post('10.0.0.1')).statusCode).toBe(200);
    expect((await post('10.0.0.1')).statusCode).toBe(200);
    const limited = await post('10.0.0.1');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect((await post('10.0.0.2')).statusCode).toBe(200);
  });

  it('rateLimitPerMinute: 0 turns the limit off', async () => {
    app = buildCollector({ store, rateLimitPerMinute: 0 });
    for (let i = 0; i < 5; i++) {
      expect((await app.inject({ method: 'POST', url: '/v1/logs', payload: otlpJsonBody([validEvent()]), headers: json })).statusCode).toBe(200);
    }
  });
});

describe.skipIf(!es)('collector: bounded dead letters on Elasticsearch', () => {
  let stores: StorePair;
  beforeEach(async () => {
    stores = await elasticsearchStores(es!);
  });
  afterEach(async () => {
    await stores.close();
  });

  it('keeps a refused 10 MB record as a bounded dead-letter document', async () => {
    const app = buildCollector({ store: stores.writer });
    const url = await listen(app);
    // A service name of its own: the node and today's dead-letter index are shared with other suites.
    const service = `abuse-${process.pid}-${Date.now()}`;
    const { body, id } = hugeRefusedBody(10 * 1024 * 1024, service);
    const res = await fetch(`${url}/v1/logs`, { method: 'POST', headers: json, body });
    expect(res.status).toBe(200);
    await app.close();

    // Read back as an operator would, with the admin user (event.original is stored, not indexed).
    const auth = `Basic ${Buffer.from(`${es!.admin.username}:${es!.admin.password}`).toString('base64')}`;
    await fetch(`${es!.url}/audit-rejected-*/_refresh`, { method: 'POST', headers: { authorization: auth } });
    const search = await fetch(`${es!.url}/audit-rejected-*/_search`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ query: { term: { 'service.name': service } }, size: 5 }),
    });
    const hits = ((await search.json()) as { hits: { hits: { _source: { event: { original: string }; error: { message: string } } }[] } }).hits.hits;
    expect(hits).toHaveLength(1);
    const original = hits[0]!._source.event.original;
    expect(Buffer.byteLength(original)).toBeLessThanOrEqual(16 * 1024);
    const record = JSON.parse(original) as { truncated: boolean; originalBytes: number; head: string };
    expect(record).toMatchObject({ truncated: true });
    expect(record.originalBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(record.head).toContain(id);
    expect(hits[0]!._source.error.message).toContain('message: must not have more than 4096 characters');
  });
});
