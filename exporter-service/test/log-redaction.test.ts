import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryFileStorage, buildExportService, signToken, type ExportServiceOptions } from '@otel-audit/exporter-service';
import { SqliteExportJobStore, SqliteStore } from '@otel-audit/store';
import { validEvent } from '../../test/support/otlp-json.js';
import { eventually } from '../../test/support/services.js';

const SECRET = 'log-redaction-test-secret-of-32-chars';
const LINK_SECRET = 'log-redaction-link-secret-of-32-chars!';

/** Every line the service logs, as pino writes them. */
function captured(): { stream: Writable; text: () => string; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const text = () => chunks.join('');
  return { stream, text, lines: () => text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('signed download links stay out of the log (real SQLite store, job store and files)', () => {
  let dir: string;
  let store: SqliteStore;
  let token: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-log-redaction-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    await store.insert([validEvent({ time: '2020-02-02T10:00:00.000Z' })]);
    token = await signToken(SECRET, { sub: 'root', superAdmin: true });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const loggers: [string, (stream: Writable) => ExportServiceOptions['logger']][] = [
    ['the options otel-audit start passes ({ level })', (stream) => ({ level: 'info', stream })],
    ['debug level', (stream) => ({ level: 'debug', stream })],
    ['a caller serializer of its own that logs the URL', (stream) => ({ level: 'info', stream, serializers: { req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url }) } })],
  ];

  for (const [name, logger] of loggers) {
    it(`logs no signature with ${name}`, async () => {
      const log = captured();
      const space = name.replace(/\W+/g, '-');
      const jobs = new SqliteExportJobStore({ path: join(dir, `jobs-${space}.sqlite`) });
      const app = buildExportService({
        store,
        auth: { secret: SECRET },
        jobs: { store: jobs, files: new DirectoryFileStorage(join(dir, `exports-${space}`)), linkSecret: LINK_SECRET, pollIntervalMs: 50 },
        logger: logger(log.stream),
      });
      try {
        await app.ready();
        const auth = { authorization: `Bearer ${token}` };
        const started = await app.inject({ method: 'POST', url: '/v1/exports', headers: auth, payload: { scope: 'all', from: '2020-02-02', to: '2020-02-03', format: 'csv' } });
        expect(started.statusCode).toBe(202);
        const status = await eventually(
          async () => (await app.inject({ url: started.json<{ statusUrl: string }>().statusUrl, headers: auth })).json<{ status: string; downloadUrl?: string }>(),
          (s) => s.status === 'done' || s.status === 'failed',
        );
        const signature = /[?&]signature=([0-9a-f]{64})/.exec(status.downloadUrl ?? '')?.[1];
        expect(signature).toBeDefined();
        const download = await app.inject({ url: status.downloadUrl! });
        expect(download.statusCode).toBe(200);
        expect(download.body).toContain('Date (UTC)');
        // A mistyped link (Fastify's 404 logs the URL) and a tampered one (403).
        expect((await app.inject({ url: status.downloadUrl!.replace('/download?', '/downlaod?') })).statusCode).toBe(404);
        expect((await app.inject({ url: `${status.downloadUrl!}0` })).statusCode).toBe(403);
        // Any token-like parameter, on any route.
        expect((await app.inject({ url: '/v1/events?scope=all&access_token=tok-in-the-url-1234', headers: auth })).statusCode).toBe(200);

        const text = log.text();
        expect(text).not.toContain(signature);
        expect(text).not.toContain('tok-in-the-url-1234');
        // The lines are still there, with the link's route and its harmless parameters.
        const urls = log.lines().flatMap((l) => [(l.req as { url?: string } | undefined)?.url, l.msg]).filter((u): u is string => typeof u === 'string' && u.includes('/download'));
        expect(urls.some((u) => /\/v1\/exports\/[0-9a-f-]+\/download\?expires=\d+&signature=\[REDACTED\]/.test(u))).toBe(true);
        expect(text).toContain('downlaod?expires=');
      } finally {
        await app.close();
        await jobs.close();
      }
    });
  }
});
