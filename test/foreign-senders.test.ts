import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCollector } from '@otel-audit/collector';
import { actionDefinition, REDACTED, type AuditEvent } from '@otel-audit/contract';
import { buildExportService, signToken } from '@otel-audit/exporter-service';
import type { DeadLetterReader } from '@otel-audit/store';
import { goUnavailableReason, javaUnavailableReason, prepareForeignSdks, pythonUnavailableReason, type ForeignSdks } from '../scripts/foreign-sdks.js';
import { eventually, listen, sqliteStores, type StorePair } from './support/services.js';

/**
 * Real senders in other languages: the examples of docs/wire-contract.md, run with the
 * OpenTelemetry Python SDK (a venv under .cache/), the Go SDK and the Java SDK (both built
 * into .cache/), against a real collector on a real store; what they sent is read back through the export
 * service and compared field by field.
 */
const run = promisify(execFile);
const SECRET = 'foreign-senders-test-secret-of-at-least-32-chars';
const example = (path: string) => fileURLToPath(new URL(`../examples/${path}`, import.meta.url));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Sent {
  id?: string;
  action: string;
  timeUnixNano?: string;
  traceId?: string;
  spanId?: string;
  source?: string;
}

const missing = [pythonUnavailableReason(), goUnavailableReason()].filter((r): r is string => r !== undefined).join('; ');
/** Java is needed only by its own case: without a JDK and Maven the others still run. */
const javaMissing = javaUnavailableReason() ?? '';
const required = process.env.CI === 'true';

if (missing && required) {
  // As with Elasticsearch: under CI a missing toolchain is a failure, never a silent skip.
  describe('foreign OpenTelemetry senders', () => {
    it('has python3 (with venv) and go, as CI=true requires', () => {
      throw new Error(`foreign senders cannot run: ${missing}`);
    });
  });
}
if (javaMissing && required) {
  describe('foreign OpenTelemetry senders: Java', () => {
    it('has a JDK and Maven, as CI=true requires', () => {
      throw new Error(`the Java sender cannot run: ${javaMissing}`);
    });
  });
}

describe.skipIf(missing !== '')(`foreign OpenTelemetry senders (Python SDK, Go SDK, Java SDK, curl) → collector → SQLite → /v1/events${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let sdks: ForeignSdks;
  let stores: StorePair;
  let collectorUrl: string;
  let exportUrl: string;
  let token: string;
  const apps: { close(): Promise<unknown> }[] = [];

  beforeAll(async () => {
    // The first run on a machine installs the venv, fetches Go modules and the Java SDK; later runs reuse .cache/.
    sdks = await prepareForeignSdks({ java: javaMissing === '' });
    stores = await sqliteStores();
    const collector = buildCollector({ store: stores.writer });
    const exporter = buildExportService({ store: stores.reader, auth: { secret: SECRET } });
    apps.push(collector, exporter);
    collectorUrl = await listen(collector);
    exportUrl = await listen(exporter);
    token = await signToken(SECRET, { sub: 'u-auditor', permissions: ['users:view', 'security-logs:view'] });
  }, 600_000);

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await stores?.close();
  });

  const env = (service: string) => ({ ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl, OTEL_SERVICE_NAME: service, PYTHONWARNINGS: 'ignore' });
  const lines = (stdout: string) =>
    stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Sent);

  /** Every event of one service, through the export service as an auditor reads them. */
  async function readBack(service: string, count: number): Promise<AuditEvent[]> {
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    return eventually(
      async () => {
        const res = await fetch(`${exportUrl}/v1/events?scope=all&sort=asc&limit=1000&from=${from}&to=${to}`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
        const { events } = (await res.json()) as { events: AuditEvent[] };
        return events.filter((e) => e.service?.name === service);
      },
      (events) => events.length >= count,
    );
  }

  // Events of one millisecond come back in id order: compare as sets, in a fixed order.
  const byId = (events: AuditEvent[]) => [...events].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const isoOf = (nanos: string) => new Date(Number(BigInt(nanos) / 1_000_000n)).toISOString();
  const alice = { id: 'u-alice', name: 'Alice Martin', type: 'user', email: 'alice@example.com', roles: ['admin', 'auditor'] };
  const client = { ip: '203.0.113.7', userAgent: 'example-agent/1.0' };
  const workspace = { id: 'acme', name: 'Acme' };

  /** The two log events send_audit_events.py and the Go and Java examples all send. */
  function expectedLogEvents(service: string, sent: Sent[]): AuditEvent[] {
    const [login, update] = sent;
    return [
      {
        id: login!.id!.toLowerCase(),
        time: isoOf(login!.timeUnixNano!),
        action: 'auth.login',
        // Not sent: the catalogue's category.
        category: actionDefinition('auth.login')!.category,
        outcome: 'failure',
        reason: 'wrong password',
        actor: alice,
        client,
        workspace,
        message: 'Log on failed',
        service: { name: service },
      } as AuditEvent,
      {
        id: update!.id!.toLowerCase(),
        time: isoOf(update!.timeUnixNano!),
        action: 'user.update',
        category: 'iam',
        outcome: 'success',
        actor: alice,
        client,
        workspace,
        sessionId: 's-1',
        resource: { type: 'user', id: 'u-bob', name: 'Bob Builder' },
        // The password's values never reach the store; the field name does.
        changes: [
          { field: 'email', from: 'bob@old.example', to: 'bob@example.com' },
          { field: 'password', from: REDACTED, to: REDACTED },
        ],
        request: { id: 'r-2', parentId: 'r-1' },
        correlationId: 'req-42',
        // No body: the catalogue's message.
        message: actionDefinition('user.update')!.message,
        metadata: { ticket: 'CHG-42', attempts: 3, dry_run: false, api_key: REDACTED },
        service: { name: service },
        // Recorded inside a span: the LogRecord's trace context is kept.
        traceId: update!.traceId!,
        spanId: update!.spanId!,
      } as AuditEvent,
    ];
  }

  it('Python SDK: logs (LoggerProvider + OTLPLogExporter) and a span event (TracerProvider) are stored, every field as sent', async () => {
    const service = 'python-sdk-app';
    const started = Date.now();
    const { stdout } = await run(sdks.python, [example('python/send_audit_events.py')], { env: env(service) });
    const sent = lines(stdout);
    expect(sent.map((s) => s.action)).toEqual(['auth.login', 'user.update', 'auth.logout']);
    const stored = await readBack(service, 3);
    const logs = stored.filter((e) => e.action !== 'auth.logout');
    expect(byId(logs)).toEqual(byId(expectedLogEvents(service, sent)));

    // The span event, sent to /v1/traces: an audit event with the span's trace context.
    const spanEvent = sent[2]!;
    const logout = stored.filter((e) => e.action === 'auth.logout');
    expect(logout).toHaveLength(1);
    const { id, time, ...rest } = logout[0]!;
    expect(id).toMatch(UUID);
    expect(Date.parse(time)).toBeGreaterThanOrEqual(started - 1000);
    expect(Date.parse(time)).toBeLessThanOrEqual(Date.now());
    expect(rest).toEqual({
      action: 'auth.logout',
      category: actionDefinition('auth.logout')!.category,
      outcome: 'success',
      actor: alice,
      client,
      workspace,
      sessionId: 's-1',
      message: actionDefinition('auth.logout')!.message,
      service: { name: service },
      traceId: spanEvent.traceId,
      spanId: spanEvent.spanId,
    });
  });

  it('Python stdlib logging through LoggingHandler: the event.name attribute, the message as body, extra as attributes', async () => {
    const service = 'python-logging-app';
    const started = Date.now();
    const { stdout } = await run(sdks.python, [example('python/logging_bridge.py')], { env: env(service) });
    const [sent] = lines(stdout);
    const stored = await readBack(service, 1);
    expect(stored).toHaveLength(1);
    const { time, ...rest } = stored[0]!;
    // logging.LogRecord.created, which the script does not print: within the run.
    expect(Date.parse(time)).toBeGreaterThanOrEqual(started - 1000);
    expect(Date.parse(time)).toBeLessThanOrEqual(Date.now());
    expect(rest).toEqual({
      id: sent!.id,
      action: 'auth.login',
      category: 'authentication',
      outcome: 'success',
      actor: { id: 'u-alice', name: 'Alice Martin', type: 'user' },
      client: { ip: '198.51.100.4' },
      sessionId: 's-9',
      message: 'Alice signed on from the VPN',
      // code.* attributes the handler adds are not audit fields: not stored.
      metadata: { mfa: true },
      service: { name: service },
    });
  });

  it('Go SDK (otlploghttp + log SDK): the same events, every field as sent', async () => {
    const service = 'go-sdk-app';
    const { stdout } = await run(sdks.goSender, [], { env: env(service) });
    const sent = lines(stdout);
    expect(sent.map((s) => s.action)).toEqual(['auth.login', 'user.update']);
    expect(byId(await readBack(service, 2))).toEqual(byId(expectedLogEvents(service, sent)));
  });

  it.skipIf(javaMissing !== '')(`Java SDK (OtlpHttpLogRecordExporter + log SDK): the same events, every field as sent${javaMissing ? ` (skipped: ${javaMissing})` : ''}`, async () => {
    const service = 'java-sdk-app';
    const { stdout } = await run(sdks.javaSender!.command, sdks.javaSender!.args, { env: env(service) });
    const sent = lines(stdout);
    expect(sent.map((s) => s.action)).toEqual(['auth.login', 'user.update']);
    expect(byId(await readBack(service, 2))).toEqual(byId(expectedLogEvents(service, sent)));
  });

  it('raw OTLP/JSON with curl: stored, and a millisecond time is refused with the unit named in the answer', async () => {
    const service = 'curl-app';
    const { stdout } = await run('bash', [example('curl/send.sh')], { env: env(service) });
    const sent = JSON.parse(stdout) as Sent & { answer: unknown };
    expect(sent.answer).toEqual({});
    const stored = await readBack(service, 1);
    expect(stored).toEqual([
      {
        id: sent.id,
        time: isoOf(sent.timeUnixNano!),
        action: 'api_token.create',
        category: 'iam',
        outcome: 'success',
        actor: { id: 'u-alice', type: 'user', roles: ['admin'] },
        client: { ip: '192.0.2.10' },
        resource: { type: 'api_token', id: 'tok-7' },
        message: 'API token created for the CI pipeline',
        metadata: { expires_in_days: 90 },
        service: { name: service },
      },
    ]);

    // What a hand-written sender sees when it writes milliseconds: a partial success
    // naming the unit, and send.sh's non-zero exit.
    const millis = String(Date.now());
    const failed = await run('bash', [example('curl/send.sh')], { env: { ...env(service), AUDIT_TIME_UNIX_NANO: millis } }).then(
      () => undefined,
      (err: { code: number; stdout: string }) => err,
    );
    expect(failed?.code).toBe(2);
    const { answer } = JSON.parse(failed!.stdout) as { answer: { partialSuccess: { rejectedLogRecords: string; errorMessage: string } } };
    expect(answer.partialSuccess.rejectedLogRecords).toBe('1');
    expect(answer.partialSuccess.errorMessage).toContain(`timeUnixNano ${millis} looks like milliseconds`);
  });

  it('Python SDK: a record sent twice without an id is stored once; a millisecond time lands in the dead letters', async () => {
    const service = 'python-edge-cases';
    const { stdout } = await run(sdks.python, [fileURLToPath(new URL('./fixtures/python/edge_cases.py', import.meta.url))], { env: env(service) });
    const { duplicateTimeUnixNano, millis } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { duplicateTimeUnixNano: string; millis: string };
    const stored = await readBack(service, 1);
    // The second copy is a duplicate of the first (same derived id), the millisecond one refused.
    expect(stored).toEqual([
      {
        id: expect.stringMatching(UUID) as unknown as string,
        time: isoOf(duplicateTimeUnixNano),
        action: 'auth.logout',
        category: 'session',
        outcome: 'success',
        actor: { id: 'u-dup', type: 'user' },
        message: 'Logged off (retried)',
        service: { name: service },
      },
    ]);
    // The Python SDK does not surface partial_success: the dead-letter store is where the
    // refusal is visible (`otel-audit dead-letters list` reads the same).
    // sqliteStores() hands out a SqliteStore, which is also the dead-letter reader.
    const deadLetters = await (stores.writer as unknown as DeadLetterReader).listRejected({ serviceName: service });
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]!.reason).toContain(`timeUnixNano ${millis} looks like milliseconds`);
  });
});
