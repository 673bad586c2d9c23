import { parseArgs } from 'node:util';
import { collectorConfigFromEnv, replayDeadLetters, type ReplayResult } from '@otel-audit/collector';
import { createStore, storeConfigFromEnv, type AuditStore, type DeadLetterReader, type RejectedRecord } from '@otel-audit/store';

/**
 * `otel-audit dead-letters list|show|replay`: what the collector refused, as the sender
 * sent it, and a way to store it once the cause is fixed. Reads the store named by the
 * environment like every command; on Elasticsearch that takes a user who may read
 * audit-rejected-* (the admin), and for replay one who may also create events.
 */
export async function deadLettersCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'list':
      return list(rest);
    case 'show':
      return show(rest);
    case 'replay':
      return replay(rest);
    default:
      throw new Error(`dead-letters: unknown subcommand ${JSON.stringify(sub ?? '')}; use list, show <id> or replay`);
  }
}

const FILTERS = { since: { type: 'string' }, service: { type: 'string' }, json: { type: 'boolean' } } as const;

async function list(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { ...FILTERS, limit: { type: 'string' } }, strict: true });
  const limit = values.limit === undefined ? 1000 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit must be a whole number from 1, got ${JSON.stringify(values.limit)}`);
  await withStore(async (_store, reader) => {
    const letters = await reader.listRejected({ ...query(values), limit });
    if (values.json) return void process.stdout.write(`${JSON.stringify(letters)}\n`);
    for (const l of letters) {
      const kept = l.original === undefined ? 'mapped record only' : isTruncated(l.original) ? 'truncated' : 'as sent';
      process.stdout.write(`${l.receivedAt}  ${l.id}  ${l.serviceName ?? '(no service.name)'}  [${kept}]  ${l.reason}\n`);
    }
    process.stdout.write(`${letters.length} dead letter${letters.length === 1 ? '' : 's'}\n`);
  });
}

async function show(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  const id = positionals[0];
  if (!id || positionals.length > 1) throw new Error('dead-letters show: give one dead-letter id (from dead-letters list)');
  await withStore(async (_store, reader) => {
    const letter = await reader.getRejected(id);
    if (!letter) throw new Error(`no dead letter with id ${JSON.stringify(id)}`);
    if (values.json) return void process.stdout.write(`${JSON.stringify(letter, null, 2)}\n`);
    const out = [`id:        ${letter.id}`, `received:  ${letter.receivedAt}`, `service:   ${letter.serviceName ?? '(no service.name)'}`, 'problems:'];
    const problems = letter.problems ?? [{ field: '(all)', problem: letter.reason }];
    for (const p of problems) out.push(`  ${p.field}: ${p.problem}`);
    if (letter.original === undefined) {
      out.push('as sent:   not kept (refused before the record as sent was kept, or by the store); the mapped record:', indent(JSON.stringify(letter.record, null, 2)));
    } else if (isTruncated(letter.original)) {
      out.push(`as sent:   ${letter.original.originalBytes} bytes, over the dead-letter bound: kept truncated, cannot be replayed. Its start:`, indent(letter.original.head));
    } else {
      // The attributes one per line, as the sender wrote their names: a misspelt one shows here.
      out.push('attributes as sent:');
      for (const [key, value] of attributesOf(letter.original)) out.push(`  ${key} = ${JSON.stringify(value)}`);
      out.push('as sent (OTLP/JSON):', indent(JSON.stringify(letter.original, null, 2)));
    }
    process.stdout.write(`${out.join('\n')}\n`);
  });
}

async function replay(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { ...FILTERS, id: { type: 'string', multiple: true } }, strict: true });
  const collector = collectorConfigFromEnv();
  if (collector.integrity) {
    // A second writer would give positions the collector's chain does not know, or none.
    throw new Error('dead-letters replay stores events without a hash-chain position, and chaining is on (AUDIT_CHAIN / AUDIT_SIGNING_KEY): not replayed');
  }
  await withStore(async (store, reader) => {
    let letters: RejectedRecord[];
    if (values.id && values.id.length > 0) {
      if (values.since !== undefined || values.service !== undefined) throw new Error('dead-letters replay: give --id, or --since / --service, not both');
      letters = [];
      for (const id of values.id) {
        const letter = await reader.getRejected(id);
        if (!letter) throw new Error(`no dead letter with id ${JSON.stringify(id)}`);
        letters.push(letter);
      }
    } else letters = await reader.listRejected({ ...query(values), limit: 10_000 });
    // Oldest first, so events are stored in the order they were refused.
    const results = await replayDeadLetters(store, [...letters].reverse(), { redact: collector.redact });
    if (values.json) process.stdout.write(`${JSON.stringify(results)}\n`);
    else {
      for (const r of results) process.stdout.write(`${line(r)}\n`);
      const count = (s: ReplayResult['status']) => results.filter((r) => r.status === s).length;
      process.stdout.write(
        `${count('stored')} stored, ${count('duplicate')} already stored, ${count('refused')} still refused, ${count('impossible')} not replayable, ${count('failed')} failed\n`,
      );
    }
    // Scripts can tell "all of it is stored now" from "look at what still fails".
    if (results.some((r) => r.status !== 'stored' && r.status !== 'duplicate')) process.exitCode = 1;
  });
}

function line(r: ReplayResult): string {
  switch (r.status) {
    case 'stored':
      return `stored     ${r.id} as event ${r.eventId}`;
    case 'duplicate':
      return `duplicate  ${r.id}: event ${r.eventId} was already stored`;
    case 'refused':
      return `refused    ${r.id}: ${r.reason}`;
    case 'impossible':
      return `impossible ${r.id}: ${r.reason}`;
    case 'failed':
      return `failed     ${r.id}: the store refused event ${r.eventId}: ${r.reason}`;
  }
}

async function withStore(work: (store: AuditStore, reader: DeadLetterReader) => Promise<void>): Promise<void> {
  const store = createStore(storeConfigFromEnv());
  try {
    const reader = store as AuditStore & Partial<DeadLetterReader>;
    if (!reader.listRejected || !reader.getRejected) throw new Error(`${store.description} cannot read dead letters`);
    await work(store, reader as DeadLetterReader);
  } finally {
    await store.close();
  }
}

function query(values: { since?: string | undefined; service?: string | undefined }) {
  return { ...(values.since !== undefined ? { since: sinceDate(values.since) } : {}), ...(values.service !== undefined ? { serviceName: values.service } : {}) };
}

/** `--since 2026-05-01T00:00:00Z`, or a span back from now: `30m`, `24h`, `7d`. */
function sinceDate(value: string): Date {
  const span = /^(\d+)([smhd])$/.exec(value);
  if (span) return new Date(Date.now() - Number(span[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[span[2] as 's' | 'm' | 'h' | 'd']);
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new Error(`--since must be a time (ISO 8601) or a span like 24h or 7d, got ${JSON.stringify(value)}`);
  return d;
}

function isTruncated(v: unknown): v is { truncated: true; originalBytes: number; head: string } {
  return typeof v === 'object' && v !== null && (v as { truncated?: unknown }).truncated === true;
}

/** The log records' attributes (and the resource's) as key and OTLP value, from a one-record OTLP/JSON request. */
function attributesOf(original: unknown): [string, unknown][] {
  const out: [string, unknown][] = [];
  const kvs = (list: unknown, prefix: string) => {
    if (!Array.isArray(list)) return;
    for (const kv of list as { key?: unknown; value?: Record<string, unknown> }[]) {
      if (typeof kv?.key !== 'string') continue;
      const v = kv.value ?? {};
      out.push([`${prefix}${kv.key}`, 'stringValue' in v ? v.stringValue : 'intValue' in v ? v.intValue : 'boolValue' in v ? v.boolValue : v]);
    }
  };
  const o = original as { resourceLogs?: { resource?: { attributes?: unknown }; scopeLogs?: { logRecords?: { attributes?: unknown; eventName?: unknown }[] }[] }[] };
  for (const rl of o.resourceLogs ?? []) {
    kvs(rl.resource?.attributes, 'resource ');
    for (const sl of rl.scopeLogs ?? []) {
      for (const lr of sl.logRecords ?? []) {
        if (typeof lr.eventName === 'string') out.push(['eventName', lr.eventName]);
        kvs(lr.attributes, '');
      }
    }
  }
  return out;
}

function indent(text: string): string {
  return text.replace(/^/gm, '    ');
}
