import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

/**
 * versitygw (Apache-2.0), a real S3 server over a folder, built by test/versitygw/build.sh
 * into .cache/ (`.ci/run` builds it before the tests). Its S3 API is the one AWS's own SDKs
 * speak: SigV4, multipart uploads, path-style buckets.
 */
export const VERSITYGW = fileURLToPath(new URL('../../.cache/versitygw/versitygw', import.meta.url));

/** Why the S3 tests cannot run here, or '' when they can. */
export function versitygwMissing(): string {
  return existsSync(VERSITYGW) ? '' : `${VERSITYGW} is missing; build it with: bash test/versitygw/build.sh (about 4 CPU-minutes)`;
}

export interface S3ServerForTests {
  endpoint: string;
  region: 'us-east-1';
  /** The root account's keys, fresh per server. */
  accessKeyId: string;
  secretAccessKey: string;
  /** A client of the root account, for the tests' own looks at the bucket. */
  client: S3Client;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** A versitygw process on a free loopback port, over a fresh temporary folder. */
export async function startVersitygw(): Promise<S3ServerForTests> {
  const dir = mkdtempSync(join(tmpdir(), 'otel-audit-versitygw-'));
  mkdirSync(join(dir, 'root'));
  mkdirSync(join(dir, 'meta'));
  const accessKeyId = `test${randomBytes(6).toString('hex')}`;
  const secretAccessKey = randomBytes(24).toString('base64url');
  // A port freed just before versitygw takes it may be taken by someone else: a few tries.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      VERSITYGW,
      // Metadata in a sidecar folder: works on file systems without user extended attributes too.
      ['--port', `127.0.0.1:${port}`, '--health', '/health', '--quiet', 'posix', '--sidecar', join(dir, 'meta'), join(dir, 'root')],
      { env: { PATH: process.env.PATH ?? '', ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const endpoint = `http://127.0.0.1:${port}`;
    if (await healthy(endpoint, child)) {
      const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
      return {
        endpoint,
        region: 'us-east-1',
        accessKeyId,
        secretAccessKey,
        client,
        async createBucket(name) {
          await client.send(new CreateBucketCommand({ Bucket: name }));
        },
        async stop() {
          client.destroy();
          await stopProcess(child);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    await stopProcess(child);
    if (attempt === 3) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`versitygw did not start on ${endpoint}: ${stderr.trim() || 'no output'}`);
    }
  }
}

async function healthy(endpoint: string, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      if ((await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) })).ok) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
