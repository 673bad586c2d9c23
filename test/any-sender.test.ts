import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildCollector, collectorConfigFromEnv, collectorOptionsFromConfig } from '@otel-audit/collector';
import type { AuditEvent } from '@otel-audit/contract';
import { createAuditLogger } from '@otel-audit/instrumentation';
import { elasticsearch } from './support/elasticsearch.js';
import { decodeProto, ExportLogsServiceResponse, protobufBody } from './support/otlp-proto.js';
import { elasticsearchStores, eventually, isolatedDay, listen, sqliteStores, type StorePair } from './support/services.js';

/*
 * Issue 14: records from any OpenTelemetry SDK, written here by hand as a Python or Go
 * SDK would send them (no id, no category, no outcome, a v4 id in upper case, times in
 * the wrong unit, a password in `changes`), through a real collector over HTTP.
 */

type Value = string | number | boolean;
const value = (v: Value) =>
  typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
const attrs = (a: Record<string, Value>) => Object.entries(a).map(([key, v]) => ({ key, value: value(v) }));

function request(logRecords: object[], service = 'py-app') {
  return {
    resourceLogs: [{ resource: { attributes: attrs({ 'service.name': service }) }, scopeLogs: [{ scope: { name: 'raw' }, logRecords }] }],
  };
}

const nanos = (date: Date) => String(BigInt(date.getTime()) * 1_000_000n + 123_456n);
const V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function stored(stores: StorePair, day: Date): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of stores.reader.query({ from: day, to: new Date(day.getTime() + 86_400_000) })) out.push(e);
  return out;
}

describe('records from any sender (real collector over HTTP, SQLite)', () => {
  let stores: StorePair;
  let app: ReturnType<typeof buildCollector>;
  let url: string;
  let day: Date;
  beforeEach(async () => {
    stores = await sqliteStores();
    app = buildCollector({ store: stores.writer });
    url = `${await listen(app)}/v1/logs`;
    day = isolatedDay();
  });
  afterEach(async () => {
    await app.close();
    await stores.close();
  });

  const postJson = async (body: unknown) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, answer: (await res.json()) as { partialSuccess?: { rejectedLogRecords: string; errorMessage: string } } };
  };
  const postProtobuf = async (body: unknown) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: protobufBody(body) });
    return { status: res.status, answer: decodeProto(ExportLogsServiceResponse, Buffer.from(await res.arrayBuffer())) };
  };

  it('stores a bare event (name and user.id) with the catalogue defaults and a derived id, once however often it is resent', async () => {
    const bare = { timeUnixNano: nanos(day), eventName: 'auth.login', attributes: attrs({ 'user.id': 'u-1' }) };
    const older = { timeUnixNano: nanos(day), attributes: attrs({ 'event.name': 'auth.logout', 'user.id': 'u-1' }) };
    expect(await postJson(request([bare, older]))).toEqual({ status: 200, answer: {} });
    // A retrying SDK resends the same batch, in either encoding.
    expect((await postJson(request([bare, older]))).status).toBe(200);
    expect((await postProtobuf(request([bare]))).status).toBe(200);
    const events = await stored(stores, day);
    expect(events).toHaveLength(2);
    const login = events.find((e) => e.action === 'auth.login')!;
    expect(login).toEqual({
      id: expect.stringMatching(V8),
      time: new Date(day.getTime()).toISOString(),
      action: 'auth.login',
      category: 'authentication',
      outcome: 'success',
      message: 'Logged on',
      actor: { id: 'u-1', type: 'user' },
      service: { name: 'py-app' },
    });
    expect(events.find((e) => e.action === 'auth.logout')).toMatchObject({ category: 'session', message: 'Logged off', id: expect.stringMatching(V8) });
  });

  it('keeps two records that differ only in what the event does not store', async () => {
    const one = (route: string) => ({ timeUnixNano: nanos(day), eventName: 'auth.login', attributes: attrs({ 'user.id': 'u-1', 'http.route': route }) });
    expect((await postJson(request([one('/a'), one('/b')]))).answer).toEqual({});
    expect(await stored(stores, day)).toHaveLength(2);
  });

  it('stores a v4 id sent in upper case in lower case, the same record under the same id whatever its case', async () => {
    const id = 'C56A4180-65AA-42EC-A945-5FD21DEC0538';
    const rec = (uid: string) => ({ timeUnixNano: nanos(day), eventName: 'auth.login', attributes: attrs({ 'log.record.uid': uid, 'user.id': 'u-1', 'audit.outcome': 'failure' }) });
    expect((await postProtobuf(request([rec(id)]))).answer).toEqual({});
    expect((await postJson(request([rec(id.toLowerCase())]))).answer).toEqual({});
    expect(await stored(stores, day)).toEqual([expect.objectContaining({ id: id.toLowerCase(), outcome: 'failure', message: 'Logged on (failed)' })]);
  });

  it('refuses, per record, times in seconds, milliseconds or microseconds, naming the unit, and stores the rest', async () => {
    const at = (timeUnixNano: string | number) => ({ timeUnixNano, eventName: 'auth.login', attributes: attrs({ 'user.id': 'u-1' }) });
    const good = at(nanos(day));
    const { status, answer } = await postJson(request([at('1764000000'), good, at(1764000000000), at('1764000000000000'), at('99999999999999999')]));
    expect(status).toBe(200);
    expect(answer.partialSuccess?.rejectedLogRecords).toBe('4');
    const message = answer.partialSuccess?.errorMessage ?? '';
    expect(message).toContain('time: timeUnixNano 1764000000 looks like seconds since the epoch (2025-11-24T16:00:00.000Z); OTLP wants nanoseconds');
    expect(message).toContain('time: timeUnixNano 1764000000000 looks like milliseconds since the epoch (2025-11-24T16:00:00.000Z)');
    expect(message).toContain('time: timeUnixNano 1764000000000000 looks like microseconds since the epoch');
    expect(message).toContain('time: timeUnixNano 99999999999999999 looks like microseconds');
    expect(await stored(stores, day)).toHaveLength(1);

    // Protobuf carries the fixed64 exactly: the first nanosecond band is accepted, the last microsecond refused.
    const edges = await postProtobuf(request([at('100000000000000000'), at('99999999999999999')]));
    expect(edges.answer.partialSuccess).toMatchObject({ rejectedLogRecords: 1, errorMessage: expect.stringContaining('99999999999999999 looks like microseconds') });
    const accepted = await stored(stores, new Date('1973-03-03T00:00:00Z'));
    expect(accepted.map((e) => e.time)).toEqual(['1973-03-03T09:46:40.000Z']);
  });

  it('stores a secret in changes or metadata from a raw sender as [REDACTED]', async () => {
    const rec = {
      timeUnixNano: nanos(day),
      eventName: 'user.update',
      attributes: attrs({
        'user.id': 'u-1',
        'audit.changes': JSON.stringify([{ field: 'password', from: 'old-secret', to: 'new-secret' }, { field: 'email', from: 'a@x', to: 'b@x' }]),
        'audit.metadata.api_key': 'k-123',
        'audit.metadata.plan': 'pro',
      }),
    };
    expect((await postJson(request([rec]))).answer).toEqual({});
    const [event] = await stored(stores, day);
    expect(event?.changes).toEqual([{ field: 'password', from: '[REDACTED]', to: '[REDACTED]' }, { field: 'email', from: 'a@x', to: 'b@x' }]);
    expect(event?.metadata).toEqual({ api_key: '[REDACTED]', plan: 'pro' });
    expect(JSON.stringify(await stored(stores, day))).not.toContain('secret');
  });

  it('stores the same event for the same input from the Node package and from a raw sender (one set of rules)', async () => {
    const audit = createAuditLogger({ serviceName: 'same-app', endpoint: url.replace(/\/v1\/logs$/, ''), protocol: 'http/json' });
    try {
      audit.record({ action: 'auth.login', outcome: 'failure', time: day, actor: { id: 'u-1', type: 'user' }, changes: [{ field: 'password', to: 'x' }] });
      await audit.flush();
    } finally {
      await audit.shutdown();
    }
    const raw = {
      timeUnixNano: String(BigInt(day.getTime()) * 1_000_000n),
      eventName: 'auth.login',
      attributes: attrs({ 'user.id': 'u-1', 'audit.outcome': 'failure', 'audit.changes': JSON.stringify([{ field: 'password', to: 'x' }]) }),
    };
    expect((await postJson(request([raw], 'same-app'))).answer).toEqual({});
    const events = await stored(stores, day);
    expect(events).toHaveLength(2);
    const fromRaw = events.find((e) => V8.test(e.id));
    const fromNode = events.find((e) => !V8.test(e.id));
    expect({ ...fromRaw, id: undefined }).toEqual({ ...fromNode, id: undefined });
    expect(fromNode).toMatchObject({ category: 'authentication', message: 'Logged on (failed)', changes: [{ field: 'password', to: '[REDACTED]' }] });
  });

  it('redacts with the pattern AUDIT_REDACT_PATTERN sets', async () => {
    const custom = buildCollector({ store: stores.writer, ...collectorOptionsFromConfig(collectorConfigFromEnv({ AUDIT_REDACT_PATTERN: '^pin$|iban' })) });
    try {
      const rec = { timeUnixNano: nanos(day), eventName: 'user.update', attributes: attrs({ 'user.id': 'u-1', 'audit.metadata.PIN': '1234', 'audit.metadata.iban_no': 'FR76', 'audit.metadata.token': 't' }) };
      const res = await custom.inject({ method: 'POST', url: '/v1/logs', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(request([rec])) });
      expect(res.json()).toEqual({});
    } finally {
      await custom.close();
    }
    // The pattern replaces the default (`token` is kept), with the default `i` flag (PIN matches ^pin$).
    expect((await stored(stores, day))[0]?.metadata).toEqual({ PIN: '[REDACTED]', iban_no: '[REDACTED]', token: 't' });
  });
});

const es = elasticsearch();

describe.skipIf(!es)('records from any sender, on Elasticsearch', () => {
  let stores: StorePair;
  let app: ReturnType<typeof buildCollector>;
  beforeAll(async () => {
    stores = await elasticsearchStores(es!);
    app = buildCollector({ store: stores.writer });
  });
  afterAll(async () => {
    await app.close();
    await stores.close();
  });

  it('stores a resent id-less record once, and an upper-case v4 id in lower case', async () => {
    const day = isolatedDay();
    const bare = { timeUnixNano: nanos(day), eventName: 'auth.login', attributes: attrs({ 'user.id': 'u-es' }) };
    const v4 = { ...bare, attributes: attrs({ 'user.id': 'u-es', 'log.record.uid': 'C56A4180-65AA-42EC-A945-5FD21DEC0538' }) };
    const url = `${await listen(app)}/v1/logs`;
    for (let i = 0; i < 2; i += 1) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request([bare, v4])) });
      expect(await res.json()).toEqual({});
    }
    // Elasticsearch shows writes after its refresh interval.
    const events = await eventually(() => stored(stores, day), (found) => found.length >= 2);
    // Two ids: the v4 one in lower case, and the one derived for the id-less record (a UUIDv8
    // whose place in sorted order depends on the record's content, so not compared by position).
    const ids = events.map((e) => e.id);
    expect(ids).toHaveLength(2);
    expect(ids).toContain('c56a4180-65aa-42ec-a945-5fd21dec0538');
    expect(ids.filter((id) => id !== 'c56a4180-65aa-42ec-a945-5fd21dec0538')).toEqual([expect.stringMatching(V8)]);
  });
});
