import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS, AUDIT_CATEGORIES, AUDIT_OUTCOMES, EXPORT_COLUMNS, type AuditEvent } from '@otel-audit/contract';
import { buildExportService, DirectoryFileStorage, signToken } from '@otel-audit/exporter-service';
import type { TokenClaims } from '../src/auth.js';
import { elasticsearch } from '../../test/support/elasticsearch.js';
import { validEvent } from '../../test/support/otlp-json.js';
import { elasticsearchStores, eventually, isolatedDay, sqliteStores, type StorePair } from '../../test/support/services.js';

/*
 * Property: whatever query a caller sends to /v1/events, the CSV and XLSX downloads or
 * POST /v1/exports, the answer is a 2xx or a catalogued 4xx (429 and 503 with
 * Retry-After), never another 5xx; no row outside what the token may see; and no store
 * error text or stack trace in any answer. Seeded (AUDIT_FUZZ_SEED), bounded runs here,
 * more in the slow step.
 */

const SECRET = 'query-fuzz-test-secret-of-32-characters!';
const LINK_SECRET = 'query-fuzz-link-secret-of-32-characters!';
const es = elasticsearch();
const slow = process.env.AUDIT_SLOW_TESTS === '1';
const SEED = Number(process.env.AUDIT_FUZZ_SEED ?? 7);
const RUNS = Number(process.env.AUDIT_FUZZ_RUNS ?? (slow ? 3_000 : 200));

// Callers with ids and workspaces no other suite uses: every row they get must be one of ours.
const callers: Record<string, TokenClaims> = {
  alice: { sub: 'fz-u-alice', workspaces: ['fz-ws-a'] },
  bob: { sub: 'fz-u-bob', workspaces: ['fz-ws-b', 'fz-ws-c'] },
  half: { sub: 'fz-u-half', workspaces: ['fz-ws-a'], permissions: ['users:view'] },
  auditor: { sub: 'fz-u-auditor', permissions: ['users:view', 'security-logs:view'] },
  root: { sub: 'fz-u-root', superAdmin: true },
};
const privileged = (c: TokenClaims) => c.superAdmin === true || ['users:view', 'security-logs:view'].every((p) => c.permissions?.includes(p));
const USERS = ['fz-u-alice', 'fz-u-bob', 'fz-u-carol'];
const WORKSPACES = ['fz-ws-a', 'fz-ws-b', 'fz-ws-c'];

/** Whether the caller may see this event in some scope: theirs, or a workspace of theirs, or everything. */
function maySee(caller: TokenClaims, event: Pick<AuditEvent, 'actor' | 'workspace'>): boolean {
  return privileged(caller) || event.actor.id === caller.sub || (event.workspace !== undefined && (caller.workspaces ?? []).includes(event.workspace.id));
}

function dataset(day: Date): AuditEvent[] {
  const actions = Object.keys(AUDIT_ACTIONS).slice(0, 12);
  return Array.from({ length: 36 }, (_, i) => {
    const action = actions[i % actions.length]!;
    const workspace = i % 4 === 3 ? undefined : WORKSPACES[i % 3]!;
    return validEvent({
      time: new Date(day.getTime() + i * 600_000).toISOString(),
      action,
      category: AUDIT_ACTIONS[action as keyof typeof AUDIT_ACTIONS].category,
      outcome: i % 5 === 0 ? 'failure' : 'success',
      actor: { id: USERS[i % 3]!, name: `Fuzz ${i % 3}`, type: 'user' },
      ...(workspace ? { workspace: { id: workspace, ...(i % 2 ? { name: `Team ${workspace}` } : {}) } } : {}),
      client: { ip: i % 2 ? `203.0.113.${i}` : `2001:db8::${i}` },
      resource: { type: 'record', id: `r-${i}`, name: `invoice ${i}` },
      message: `fuzz event ${i} quarterly invoice`,
    });
  });
}

// ---- generators ---------------------------------------------------------------------------

const TRICKY = ['', ' ', '*', '?', '%', '\\', '"', "'", '\u0000', '\uD800', '💥', '..', '../../etc/passwd', '" OR 1=1 --', "'; DROP TABLE audit_events; --", '{"match_all":{}}', 'actor.id:*', '/.*/', '<script>', '=cmd|x', '${jndi:x}', 'a,b,,c', 'NaN', '-1'];
const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 3, arbitrary: fc.constantFrom(...TRICKY) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 3000 }).map((n) => 'ä'.repeat(n)) },
);

function params(day: Date) {
  const instant = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: -3 * 86_400, max: 3 * 86_400 }).map((s) => new Date(day.getTime() + s * 1000).toISOString()) },
    { weight: 2, arbitrary: fc.integer({ min: -3, max: 3 }).map((d) => new Date(day.getTime() + d * 86_400_000).toISOString().slice(0, 10)) },
    { weight: 1, arbitrary: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()) },
    {
      weight: 2,
      arbitrary: fc.constantFrom('0000-01-01', '9999-12-31T23:59:59.999999999+14:00', '2024-02-30', '2024-13-01', '2024-01-01T25:61', '1970-01-01T00:00Z', '2024-01-01T00:00:00-23:59', '275760-09-13T00:00:00Z'),
    },
    { weight: 1, arbitrary: text },
  );
  const cursor = fc.oneof(
    fc.tuple(fc.oneof(instant, text, fc.jsonValue({ maxDepth: 1 })), fc.oneof(fc.uuid(), text, fc.jsonValue({ maxDepth: 1 }))).map((c) => Buffer.from(JSON.stringify(c)).toString('base64url')),
    fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify(v) ?? '').toString('base64url')),
    fc.base64String({ maxLength: 40 }),
    text,
  );
  const listOf = (values: readonly string[]) =>
    fc.oneof(fc.constantFrom(...values), fc.array(fc.oneof(fc.constantFrom(...values), text), { maxLength: 4 }).map((v) => v.join(',')), text);
  const ip = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.tuple(fc.ipV4(), fc.integer({ min: -1, max: 40 })).map(([a, b]) => `${a}/${b}`),
    fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 200 })).map(([a, b]) => `${a}/${b}`),
    text,
  );
  const single = {
    scope: fc.oneof({ weight: 10, arbitrary: fc.constantFrom('self', 'workspace', 'user', 'all') }, { weight: 1, arbitrary: fc.constantFrom('ALL', 'self ', 'admin') }, { weight: 1, arbitrary: text }),
    workspace: fc.oneof(fc.constantFrom(...WORKSPACES, 'fz-ws-*', '*'), text),
    user: fc.oneof(fc.constantFrom(...USERS, 'fz-u-*', '*'), text),
    from: instant,
    to: instant,
    action: listOf([...Object.keys(AUDIT_ACTIONS).slice(0, 12), 'auth.*', 'api_token.*', '*']),
    category: listOf(AUDIT_CATEGORIES),
    outcome: listOf(AUDIT_OUTCOMES),
    resourceType: fc.oneof(fc.constant('record'), text),
    resourceId: fc.oneof(fc.constantFrom('r-1', 'r-*'), text),
    actor: fc.oneof(fc.constantFrom(...USERS), text),
    ip,
    traceId: fc.oneof(fc.constantFrom('4bf92f3577b34da6a3ce929d0e0e4736', '4BF92F3577B34DA6A3CE929D0E0E4736', '0'.repeat(32), 'g'.repeat(32)), text),
    q: fc.oneof(fc.constantFrom('invoice', 'quarterly invoice', 'fuzz 7', 'AND OR NOT', '+-&&||!(){}[]^"~*?:\\/'), text),
    sort: fc.oneof(fc.constantFrom('asc', 'desc'), text),
    limit: fc.oneof(fc.integer({ min: 0, max: 200 }).map(String), fc.constantFrom('99999', '00001', '-1', '1e3', '1.5', '0x10'), text),
    cursor,
    columns: fc.oneof(fc.shuffledSubarray(EXPORT_COLUMNS.map((c) => c.key)).map((c) => c.join(',')), listOf(['date', 'eventId', 'nope'])),
    tz: fc.oneof(fc.constantFrom('UTC', 'Europe/Paris', 'Asia/Kolkata', 'America/St_Johns', 'Mars/Olympus', 'Etc/GMT+14', '+05:00'), text),
    dateFormat: fc.oneof(fc.constantFrom('iso', 'MM/DD/YYYY HH:mm:ss'), text),
    delimiter: fc.oneof(fc.constantFrom(',', ';', '\t'), text),
    bom: fc.oneof(fc.constantFrom('true', '1', 'false'), text),
    format: fc.oneof(fc.constantFrom('csv', 'xlsx', 'pdf', 'CSV'), text),
  };
  type Key = keyof typeof single;
  const keys = Object.keys(single) as Key[];
  const pair = fc.oneof(...keys.map((k) => single[k].map((v) => [k, v] as [string, string])));
  // Mostly a few known parameters; sometimes one repeated, or one nobody knows.
  // Most queries ask for a range around the seeded day: without one the default window
  // (the last 30 days) holds none of the seeded events.
  const window = fc
    .tuple(fc.integer({ min: -86_400, max: 86_400 }), fc.integer({ min: 1, max: 3 * 86_400 }))
    .map(([start, length]): [string, string][] => [
      ['from', new Date(day.getTime() + start * 1000).toISOString()],
      ['to', new Date(day.getTime() + (start + length) * 1000).toISOString()],
    ]);
  const rarely = <T,>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });
  return fc.record({
    pairs: fc
      .tuple(fc.option(window, { freq: 5 }), fc.uniqueArray(pair, { selector: ([k]) => k, maxLength: 6 }))
      .map(([w, p]) => [...(w && !p.some(([k]) => k === 'from' || k === 'to') ? w : []), ...p]),
    repeat: rarely(pair),
    unknown: rarely(fc.tuple(text, text)),
    rawSuffix: rarely(fc.constantFrom('&q=%E0%A4%A', '&from=%', '&&&', '&scope', '&=x', '&scope[]=all', '&scope[$ne]=self')),
  });
}

type Generated = fc.Arbitrary<ReturnType<typeof params> extends fc.Arbitrary<infer T> ? T : never>;

function queryString(g: { pairs: [string, string][]; repeat: [string, string] | null; unknown: [string, string] | null; rawSuffix: string | null }): string {
  const search = new URLSearchParams(g.pairs);
  if (g.repeat) search.append(...g.repeat);
  if (g.repeat && g.pairs.length > 0) search.append(g.pairs[0]![0], g.repeat[1]);
  if (g.unknown) search.append(...g.unknown);
  return search.toString() + (g.rawSuffix ?? '');
}

// ---- checks -----------------------------------------------------------------------------

/** What must never reach a client: store error text, driver names, stack frames. */
const LEAK = /search_phase_execution_exception|illegal_argument_exception|query_shard_exception|parse_exception|x_content|ResponseError|SqliteError|SQLITE_|node_modules|\bat [^\s]+ \([^)]*:\d+:\d+\)/i;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/** Rows of non-privileged callers that were checked: the property must not pass on empty pages alone. */
let rowsChecked = 0;

function checkAnswer(caller: TokenClaims | undefined, route: string, res: Answer, ours: Map<string, AuditEvent>): string | undefined {
  if (res.status >= 500 && !(res.status === 503 && res.headers['retry-after'])) return `status ${res.status}: ${res.body.slice(0, 300)}`;
  if (res.status === 429 && !res.headers['retry-after']) return '429 without Retry-After';
  const binary = route.includes('.xlsx') && res.status === 200;
  if (!binary && LEAK.test(res.body)) return `leaked: ${res.body.slice(0, 300)}`;
  if (res.status >= 400) {
    const error = (JSON.parse(res.body) as { error?: { code?: string; message?: string } }).error;
    if (!error?.code?.startsWith('AUDIT_ERR_') || !error.message) return `error without a catalogued code and a message: ${res.body.slice(0, 300)}`;
    return undefined;
  }
  if (res.status !== 200 || !caller) return undefined;
  // Every row: one the caller may see. Their ids and workspaces are ours alone, so a row
  // that is not ours is a scope escape unless they may see everything.
  const seen = (id: string | undefined, fromRow?: Pick<AuditEvent, 'actor' | 'workspace'>) => {
    const event = (id && ours.get(id)) || fromRow;
    if (privileged(caller)) return undefined;
    rowsChecked += 1;
    if (!event || !ours.has(id ?? '') || !maySee(caller, event)) return `${caller.sub} got event ${id} (${JSON.stringify(fromRow ?? event)})`;
    return undefined;
  };
  if (route === '/v1/events') {
    for (const e of (JSON.parse(res.body) as { events: AuditEvent[] }).events) {
      const problem = seen(e.id, e);
      if (problem) return problem;
    }
  } else if (route.endsWith('.csv')) {
    const text = res.body.replace(/^\uFEFF/, '');
    for (const delimiter of [',', ';']) {
      let rows: Record<string, string>[];
      try {
        rows = parse(text, { columns: true, delimiter, relax_column_count: false }) as Record<string, string>[];
      } catch {
        continue;
      }
      const idColumn = Object.keys(rows[0] ?? {}).find((h) => h === 'Event ID');
      if (!idColumn) return undefined;
      for (const row of rows) {
        const problem = seen(row[idColumn]);
        if (problem) return problem;
      }
      return undefined;
    }
    return `CSV that parses with neither delimiter: ${text.slice(0, 200)}`;
  }
  return undefined;
}

// ---- the suites ---------------------------------------------------------------------------

const kinds = [
  { name: 'SQLite', open: sqliteStores, enabled: true },
  { name: 'Elasticsearch', open: () => elasticsearchStores(es!), enabled: es !== null },
];

for (const kind of kinds) {
  describe.skipIf(!kind.enabled)(`export query parameters fuzzed (fast-check), on ${kind.name}`, () => {
    let stores: StorePair;
    let dir: string;
    let app: ReturnType<typeof buildExportService>;
    let jobs: ReturnType<StorePair['exportJobs']>;
    let day: Date;
    const ours = new Map<string, AuditEvent>();
    const tokens: Record<string, string> = {};

    beforeAll(async () => {
      stores = await kind.open();
      dir = mkdtempSync(join(tmpdir(), 'otel-audit-query-fuzz-'));
      day = isolatedDay();
      const events = dataset(day);
      for (const e of events) ours.set(e.id, e);
      await stores.writer.insert(events);
      const range = { from: day, to: new Date(day.getTime() + 86_400_000) };
      await eventually(() => stores.reader.count(range), (n) => n === events.length);
      jobs = stores.exportJobs('query-fuzz');
      app = buildExportService({
        store: stores.reader,
        auth: { secret: SECRET },
        // A big enough limit that the fuzzer does not spend its runs on 429s (the limiter has its own test).
        jobs: { store: jobs, files: new DirectoryFileStorage(dir), linkSecret: LINK_SECRET, concurrency: 1, pollIntervalMs: 200, postsPerMinute: 1_000_000 },
      });
      await app.ready();
      for (const [name, claims] of Object.entries(callers)) tokens[name] = await signToken(SECRET, claims);
    });
    afterAll(async () => {
      await app?.close();
      await jobs?.close();
      await stores?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const caller = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...Object.keys(callers)) }, { weight: 1, arbitrary: fc.constantFrom('nobody', 'forged') });
    const header = (name: string) =>
      name === 'nobody' ? {} : { authorization: `Bearer ${name === 'forged' ? `${tokens.root}x` : tokens[name]}` };

    // Time enough for a busy machine: about 20 ms a query on Elasticsearch, five times over.
    it(`GET /v1/events and the CSV/XLSX downloads: ${RUNS} generated queries, no 5xx, no scope escape, no store error text`, { timeout: 60_000 + RUNS * 100 }, async () => {
      const routes = fc.constantFrom('/v1/events', '/v1/events', '/v1/exports/events.csv', '/v1/exports/events.xlsx');
      await fc.assert(
        fc.asyncProperty(caller, routes, params(day) as Generated, async (who, route, g) => {
          const res = await app.inject({ method: 'GET', url: `${route}?${queryString(g)}`, headers: header(who) });
          const problem = checkAnswer(callers[who], route, { status: res.statusCode, headers: res.headers, body: res.body }, ours);
          if (problem) throw new Error(problem);
        }),
        { seed: SEED, numRuns: RUNS },
      );
      expect(rowsChecked).toBeGreaterThan(0);
    });

    it(`POST /v1/exports and GET /v1/exports/<id>: ${Math.round(RUNS / 3)} generated bodies, no 5xx, no store error text`, { timeout: 60_000 + RUNS * 100 }, async () => {
      let accepted = 0;
      // Mostly JSON with a format (as clients send it), so most bodies reach the job store;
      // sometimes a form body, which the route does not take (415).
      const encoding = fc.oneof({ weight: 8, arbitrary: fc.constantFrom('csv', 'xlsx') }, { weight: 1, arbitrary: fc.constant('form') });
      await fc.assert(
        fc.asyncProperty(caller, params(day) as Generated, encoding, async (who, g, format) => {
          const asJson = format !== 'form';
          const body = asJson ? JSON.stringify({ format, ...Object.fromEntries([...g.pairs, ...(g.repeat ? [g.repeat] : [])]) }) : queryString(g);
          const res = await app.inject({
            method: 'POST',
            url: '/v1/exports',
            headers: { ...header(who), 'content-type': asJson ? 'application/json' : 'application/x-www-form-urlencoded' },
            payload: body,
          });
          let problem = checkAnswer(callers[who], '/v1/exports', { status: res.statusCode, headers: res.headers, body: res.body }, ours);
          if (!problem && res.statusCode === 202) {
            accepted += 1;
            const status = await app.inject({ url: `/v1/exports/${(res.json() as { id: string }).id}`, headers: header(who) });
            problem = status.statusCode === 200 ? checkAnswer(callers[who], '/v1/exports/id', { status: status.statusCode, headers: status.headers, body: status.body }, ours) : `status of a new export: ${status.statusCode}`;
          }
          if (problem) throw new Error(problem);
        }),
        { seed: SEED + 1, numRuns: Math.round(RUNS / 3) },
      );
      expect(accepted).toBeGreaterThan(0);
      expect((await app.inject('/healthz')).statusCode).toBe(200);
    });
  });
}
