/**
 * The upstream OpenTelemetry Collector as a forwarder between a sender and ours: built once
 * by test/otelcol/build.sh (OpenTelemetry Collector Builder, Go module proxy) into
 * .cache/otelcol-forwarder (git-ignored), then started with a generated configuration whose
 * OTLP receiver takes what an SDK sends and whose default `otlp` (gRPC) or `otlphttp`
 * exporter forwards it to an otel-audit collector.
 *
 *   npx tsx scripts/upstream-otelcol.ts   # build (first run downloads, some minutes), print the binary
 *
 * test/upstream-collector.test.ts imports this file.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { goUnavailableReason } from './foreign-sdks.js';

const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const FORWARDER_BUILD_SCRIPT = join(repoRoot, 'test', 'otelcol', 'build.sh');
export const FORWARDER_BINARY = join(repoRoot, '.cache', 'otelcol-forwarder', 'otelcol-audit-forwarder');

/** Why the forwarder cannot be built here, or undefined when it can. */
export function forwarderUnavailableReason(): string | undefined {
  return goUnavailableReason();
}

/** Builds the forwarder unless the binary is newer than its manifest (the script decides). */
export async function buildForwarder(): Promise<string> {
  await run('bash', [FORWARDER_BUILD_SCRIPT], { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 });
  return FORWARDER_BINARY;
}

/** A loopback port that was free a moment ago (bound to port 0, then closed). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r, j) => server.once('error', j).listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

export interface ForwarderOptions {
  /** `otlp`: the default gRPC exporter, to `host:port`; `otlphttp`: to an `http://` base URL. */
  exporter: 'otlp' | 'otlphttp';
  /** `127.0.0.1:port` for `otlp`, `http://127.0.0.1:port` for `otlphttp`. */
  endpoint: string;
  /** Sent as `authorization: Bearer …` on every export. */
  bearerToken?: string;
}

export interface RunningForwarder {
  /** OTLP/HTTP receiver, `http://127.0.0.1:port`: where an SDK's OTLP/HTTP exporter sends. */
  httpUrl: string;
  /** OTLP/gRPC receiver, `127.0.0.1:port`. */
  grpcEndpoint: string;
  /** What the process wrote so far (its own logs), for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * The configuration file: OTLP in on both protocols; logs and traces out through one
 * exporter with its defaults (sending queue, retries, gzip) and only the settings a
 * deployment must give; its own telemetry off so that no fixed port (8888) is bound.
 */
export function forwarderConfig(o: ForwarderOptions, grpcPort: number, httpPort: number): string {
  const exporter = {
    endpoint: o.endpoint,
    ...(o.exporter === 'otlp' ? { tls: { insecure: true } } : {}),
    ...(o.bearerToken ? { headers: { authorization: `Bearer ${o.bearerToken}` } } : {}),
  };
  // JSON is YAML: the collector reads it as its configuration.
  return JSON.stringify(
    {
      receivers: { otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${grpcPort}` }, http: { endpoint: `127.0.0.1:${httpPort}` } } } },
      processors: { batch: {} },
      exporters: { [o.exporter]: exporter },
      service: {
        telemetry: { metrics: { level: 'none' }, logs: { level: 'info' } },
        pipelines: {
          logs: { receivers: ['otlp'], processors: ['batch'], exporters: [o.exporter] },
          traces: { receivers: ['otlp'], processors: ['batch'], exporters: [o.exporter] },
        },
      },
    },
    null,
    2,
  );
}

function accepts(port: number): Promise<boolean> {
  return new Promise((r) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      r(true);
    });
    socket.once('error', () => r(false));
  });
}

/**
 * Starts the built forwarder and resolves once both receiver ports accept connections;
 * rejects (with its output) when it exits first or is not up within `timeoutMs`.
 */
export async function startForwarder(o: ForwarderOptions, timeoutMs = 60_000): Promise<RunningForwarder> {
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'otel-audit-otelcol-'));
  const config = join(dir, 'config.yaml');
  writeFileSync(config, forwarderConfig(o, grpcPort, httpPort));
  const child: ChildProcess = spawn(FORWARDER_BINARY, ['--config', `file:${config}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let exited: number | null | undefined;
  const exit = new Promise<void>((r) =>
    child.once('exit', (code) => {
      exited = code;
      r();
    }),
  );
  const stop = async () => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      await exit;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`the upstream collector exited with ${exited} before listening:\n${out}`);
    }
    if ((await accepts(grpcPort)) && (await accepts(httpPort))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the upstream collector did not listen on ${grpcPort}/${httpPort} within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { httpUrl: `http://127.0.0.1:${httpPort}`, grpcEndpoint: `127.0.0.1:${grpcPort}`, output: () => out, stop };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const reason = forwarderUnavailableReason();
  if (reason) {
    console.error(reason);
    process.exit(1);
  }
  console.log(await buildForwarder());
}
