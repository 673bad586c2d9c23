import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollectorMetrics, REJECTED_SERVICES_MAX } from '../collector/src/internal/metrics.js';
import { RejectionLog } from '../collector/src/internal/rejection-log.js';
import { otlpJsonBody, validEvent } from './support/otlp-json.js';
import { startSqliteCollector, type SqliteCollector } from './support/sqlite-collector.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'cli', 'bin', 'otel-audit.js');

/** Log lines as pino writes them, parsed. */
function capture(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { stream, lines };
}

/** A request whose record 1 spells audit.category wrong: what a hand-written SDK integration does. */
function bodyWithTypo(service: string): { body: string; typoId: string } {
  const typo = validEvent({ action: 'widget.frobnicated', category: 'iam' as never });
  const parsed = JSON.parse(otlpJsonBody([validEvent(), typo], service)) as {
    resourceLogs: { scopeLogs: { logRecords: { attributes: { key: string }[] }[] }[] }[];
  };
  for (const kv of parsed.resourceLogs[0]!.scopeLogs[0]!.logRecords[1]!.attributes) if (kv.key === 'audit.category') kv.key = 'audit.catgory';
  return { body: JSON.stringify(parsed), typoId: typo.id };
}

describe('dead letters you can see and use (real collector, real SQLite, built CLI)', () => {
  let collector: SqliteCollector;
  const log = capture();
  const cliEnv = () => ({ ...process.env, ELASTICSEARCH_URL: '', AUDIT_DATA_DIR: collector.dir, AUDIT_CHAIN: 'false', AUDIT_SIGNING_KEY: '', AUDIT_SIGNING_KEY_FILE: '' });
  const otel = (...args: string[]) => run(process.execPath, [cli, ...args], { env: cliEnv() }).catch((err: { stdout: string; stderr: string; code: number }) => err);

  beforeAll(async () => {
    collector = await startSqliteCollector({ logger: { level: 'warn', stream: log.stream } });
  });
  afterAll(() => collector.close());

  it('refuses a misspelt attribute, numbers the record in partial_success, keeps it as sent, warns, counts by service and reason', async () => {
    const { body, typoId } = bodyWithTypo('shop');
    const res = await fetch(`${collector.url}/v1/logs`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const answer = (await res.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } };
    expect(answer.partialSuccess.rejectedLogRecords).toBe('1');
    // Numbered from 0, as the sender's batch holds it: record 0 was stored.
    expect(answer.partialSuccess.errorMessage).toMatch(/^record 1: .*category: is required/);

    const [letter] = collector.store.rejected();
    expect(letter).toMatchObject({ serviceName: 'shop', problems: expect.arrayContaining([{ field: 'category', problem: 'is required' }]) });
    const sent = JSON.stringify(letter!.original);
    expect(sent).toContain('"key":"audit.catgory","value":{"stringValue":"iam"}');
    expect(sent).toContain(typoId);

    const warnings = log.lines.filter((l) => l.level === 40 && l.service === 'shop');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ rejected: 1, reason: expect.stringContaining('category: is required') });
    const metrics = await (await fetch(`${collector.url}/metrics`)).text();
    expect(metrics).toContain('otel_audit_records_rejected_total{service="shop",reason="contract"} 1');
  });

  it('dead-letters list filters by --service and --since; show prints the attribute as sent', async () => {
    const [letter] = collector.store.rejected();
    const listed = await otel('dead-letters', 'list', '--service', 'shop');
    expect(listed.stdout).toContain(letter!.id);
    expect(listed.stdout).toContain('1 dead letter\n');
    expect((await otel('dead-letters', 'list', '--service', 'billing')).stdout).toBe('0 dead letters\n');
    expect((await otel('dead-letters', 'list', '--since', new Date(Date.now() + 60_000).toISOString())).stdout).toBe('0 dead letters\n');
    expect((await otel('dead-letters', 'list', '--since', '1h', '--json')).stdout).toContain(letter!.id);

    const shown = await otel('dead-letters', 'show', letter!.id);
    expect(shown.stdout).toContain('category: is required');
    expect(shown.stdout).toContain('audit.catgory = "iam"');
    expect(shown.stdout).toContain('resource service.name = "shop"');
  });

  it('replay stores what passes today (create-only, a second replay is a duplicate) and says what still fails', async () => {
    // Refused by an older rule whose cause is fixed now: the record as sent passes today's contract.
    const fixed = validEvent({ action: 'widget.frobnicated', category: 'iam' as never });
    await collector.store.insertRejected([
      {
        id: 'contract-older-rule',
        receivedAt: new Date().toISOString(),
        reason: 'time: refused by an older rule',
        serviceName: 'shop',
        record: {},
        original: JSON.parse(otlpJsonBody([fixed], 'shop')),
        problems: [{ field: 'time', problem: 'refused by an older rule' }],
      },
    ]);
    const replayed = (await otel('dead-letters', 'replay', '--service', 'shop')) as { stdout: string; code?: number };
    expect(replayed.stdout).toContain(`stored     contract-older-rule as event ${fixed.id}`);
    expect(replayed.stdout).toMatch(/refused {4}contract-[0-9a-f]+: .*category: is required/);
    expect(replayed.stdout).toContain('1 stored, 0 already stored, 1 still refused, 0 not replayable, 0 failed');
    // Something still fails: scripts see it.
    expect(replayed.code).toBe(1);
    const stored = [];
    for await (const e of collector.store.query({ from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) })) stored.push(e.id);
    expect(stored).toContain(fixed.id);

    const again = await otel('dead-letters', 'replay', '--id', 'contract-older-rule');
    expect(again.stdout).toContain(`duplicate  contract-older-rule: event ${fixed.id} was already stored`);
    // Dead letters stay: they record what was refused and when.
    expect(collector.store.rejected().map((l) => l.id)).toContain('contract-older-rule');
  });

  it('refuses to replay when the record as sent was kept truncated', async () => {
    await collector.store.insertRejected([
      { id: 'contract-too-large', receivedAt: new Date().toISOString(), reason: 'message: too long', serviceName: 'big', record: {}, original: { truncated: true, originalBytes: 99_999, head: '{"resourceLogs"' } },
    ]);
    expect((await otel('dead-letters', 'show', 'contract-too-large')).stdout).toContain('cannot be replayed');
    const replayed = await otel('dead-letters', 'replay', '--service', 'big');
    expect(replayed.stdout).toContain('impossible contract-too-large: the record as sent was 99999 bytes');
  });
});

describe('rejection warnings and metrics stay bounded', () => {
  it('warns once per sender per minute, with the count, and reports the quiet ones with the next warning', () => {
    const { stream, lines } = capture();
    let now = Date.UTC(2026, 0, 1, 12, 0, 5);
    const rejections = new RejectionLog(Fastify({ logger: { level: 'warn', stream } }).log, () => now);
    rejections.note('shop', 3, 'category: is required');
    rejections.note('shop', 2, 'category: is required');
    rejections.note('billing', 1, 'time: is required');
    now += 60_000;
    rejections.note('shop', 1, 'actor.id: is required');
    expect(lines.map(({ service, rejected, reason, rejectedUnreported }) => ({ service, rejected, reason, rejectedUnreported }))).toEqual([
      { service: 'shop', rejected: 3, reason: 'category: is required', rejectedUnreported: undefined },
      { service: 'billing', rejected: 1, reason: 'time: is required', rejectedUnreported: undefined },
      { service: 'shop', rejected: 1, reason: 'actor.id: is required', rejectedUnreported: 2 },
    ]);
  });

  it('counts at most REJECTED_SERVICES_MAX service labels, the rest as other, and escapes label values', () => {
    const metrics = new CollectorMetrics(() => ({ records: 0, bytes: 0 }));
    for (let i = 0; i < REJECTED_SERVICES_MAX + 5; i++) metrics.reject('contract', 1, `svc-${i}`);
    metrics.reject('contract', 1, 'svc-0');
    const text = metrics.render();
    expect(text).toContain('otel_audit_records_rejected_total{service="svc-0",reason="contract"} 2');
    expect(text).toContain('otel_audit_records_rejected_total{service="other",reason="contract"} 5');
    expect(text).not.toContain(`svc-${REJECTED_SERVICES_MAX}"`);
    expect(text.split('\n').filter((l) => l.startsWith('otel_audit_records_rejected_total{')).length).toBe(REJECTED_SERVICES_MAX + 1);
    // A declared service.name is the sender's text: it must not break the exposition format.
    const escaped = new CollectorMetrics(() => ({ records: 0, bytes: 0 }));
    escaped.reject('contract', 1, 'a"b\\c\nd');
    expect(escaped.render()).toContain('otel_audit_records_rejected_total{service="a\\"b\\\\c\\nd",reason="contract"} 1');
  });
});
