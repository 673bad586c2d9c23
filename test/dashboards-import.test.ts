import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { importDashboards } from '../cli/src/dashboards-import.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'cli', 'bin', 'otel-audit.js');
const ndjson = readFileSync(join(root, 'dashboards', 'otel-audit.ndjson'), 'utf8');

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const CONFLICT = { id: 'otel-audit-dashboard-security', type: 'dashboard', title: 'otel-audit: Security overview', error: { type: 'conflict' } };

describe('otel-audit dashboards import against a fake Kibana (Kibana cannot run here)', () => {
  let server: Server;
  let kibanaUrl: string;
  let seen: Seen[] = [];
  let answer: { status: number; body: unknown };

  beforeAll(async () => {
    // Stands in for Kibana's saved objects import API: records the request, answers what the test set.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    kibanaUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  beforeEach(() => {
    seen = [];
    answer = { status: 200, body: { success: false, successCount: 3, errors: [CONFLICT] } };
  });

  /** The `file` part of a multipart body, parsed with the web platform's own parser. */
  async function filePart(s: Seen): Promise<File> {
    const form = await new Response(s.body, { headers: { 'content-type': s.headers['content-type']! } }).formData();
    const file = form.get('file');
    expect(file).toBeInstanceOf(File);
    return file as File;
  }

  it('POSTs the NDJSON as multipart field "file" to the default space, with kbn-xsrf and basic auth', async () => {
    const result = await importDashboards({ kibanaUrl: `${kibanaUrl}/`, auth: { username: 'elastic', password: 'pa:ss' } });
    expect(seen).toHaveLength(1);
    const s = seen[0]!;
    expect(s.method).toBe('POST');
    expect(s.url).toBe('/api/saved_objects/_import?overwrite=true');
    expect(s.headers['kbn-xsrf']).toBe('true');
    expect(s.headers.authorization).toBe(`Basic ${Buffer.from('elastic:pa:ss').toString('base64')}`);
    expect(s.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const file = await filePart(s);
    expect(file.name).toBe('otel-audit.ndjson');
    expect(await file.text()).toBe(ndjson);
    expect(result).toEqual({ successCount: 3, errors: [CONFLICT] });
  });

  it('puts a space id into the path, and sends an API key', async () => {
    answer = { status: 200, body: { success: true, successCount: 13 } };
    const result = await importDashboards({ kibanaUrl, space: 'security', auth: { apiKey: 'a2V5OnNlY3JldA==' } });
    expect(seen[0]!.url).toBe('/s/security/api/saved_objects/_import?overwrite=true');
    expect(seen[0]!.headers.authorization).toBe('ApiKey a2V5OnNlY3JldA==');
    expect(result).toEqual({ successCount: 13, errors: [] });
  });

  it('uses no space prefix for the space called "default", and no auth header without credentials', async () => {
    await importDashboards({ kibanaUrl, space: 'default' });
    expect(seen[0]!.url).toBe('/api/saved_objects/_import?overwrite=true');
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });

  it('turns an HTTP 401 into a clear error', async () => {
    answer = { status: 401, body: { statusCode: 401, error: 'Unauthorized', message: '[security_exception] unable to authenticate user' } };
    await expect(importDashboards({ kibanaUrl, auth: { username: 'elastic', password: 'wrong' } })).rejects.toThrow(
      /Kibana answered HTTP 401 to the import \(authentication failed: check --username\/--password or --api-key\).*unable to authenticate user/,
    );
  });

  it('runs as the built CLI: prints the count and each error, exits 1 on errors', async () => {
    await run('npx', ['tsc', '-b'], { cwd: root });
    const failed = await run(process.execPath, [cli, 'dashboards', 'import', '--kibana-url', kibanaUrl, '--space', 'sec', '--username', 'u', '--password', 'p']).then(
      () => {
        throw new Error('expected exit code 1');
      },
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('imported 3 saved objects into sec\n');
    expect(failed.stderr).toBe('error: dashboard otel-audit-dashboard-security (otel-audit: Security overview): conflict\n');
    expect(seen[0]!.url).toBe('/s/sec/api/saved_objects/_import?overwrite=true');
    // The built CLI found the file through its own location, not the working directory.
    expect(await (await filePart(seen[0]!)).text()).toBe(ndjson);

    seen = [];
    answer = { status: 200, body: { success: true, successCount: 13 } };
    const ok = await run(process.execPath, [cli, 'dashboards', 'import', '--kibana-url', kibanaUrl], { cwd: '/' });
    expect(ok.stdout).toBe('imported 13 saved objects into the default space\n');
    expect(ok.stderr).toBe('');
    expect(seen[0]!.url).toBe('/api/saved_objects/_import?overwrite=true');
  });
});
