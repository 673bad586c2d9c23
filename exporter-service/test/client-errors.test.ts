import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExportService } from '@otel-audit/exporter-service';
import { SqliteStore } from '@otel-audit/store';

/** Sends raw bytes and reads the whole answer (the service closes the connection after it). */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(answer) : reject(err)));
    socket.write(request);
  });
}

const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as unknown;

describe('requests the HTTP parser refuses get the service\'s error body (real port-0 server, real SQLite)', () => {
  let dir: string;
  let store: SqliteStore;
  let app: ReturnType<typeof buildExportService>;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-client-errors-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    app = buildExportService({ store, auth: { secret: 'client-errors-test-secret-of-32-chars!!' } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a query string over the 16 KiB header limit with 431 AUDIT_ERR_REQUEST_TOO_LARGE, and keeps serving', async () => {
    const answer = await rawRequest(port, `GET /v1/events?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(bodyOf(answer)).toEqual({ error: { code: 'AUDIT_ERR_REQUEST_TOO_LARGE', message: expect.stringContaining('16 KiB') } });
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it('answers bytes that are not HTTP with 400 AUDIT_ERR_MALFORMED_REQUEST', async () => {
    const answer = await rawRequest(port, 'NOT HTTP AT ALL\r\n\r\n');
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(bodyOf(answer)).toEqual({ error: { code: 'AUDIT_ERR_MALFORMED_REQUEST', message: 'the request is not well-formed HTTP' } });
  });

  it('states the 431 on every operation of the OpenAPI document', async () => {
    const doc = (await app.inject({ url: '/docs/json' })).json() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    const operations = Object.values(doc.paths).flatMap((ops) => Object.values(ops));
    expect(operations.length).toBeGreaterThanOrEqual(5);
    for (const op of operations) expect(Object.keys(op.responses)).toContain('431');
  });
});
