/**
 * A server a benchmark runs as a process of its own (our collector or export service through
 * the CLI, the upstream OpenTelemetry Collector), so it has its own event loop and its CPU and
 * memory can be told apart from the load generator's. Ready when a line of its output matches.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ChildService {
  pid: number;
  /** The first capture group of `ready` (e.g. the URL it listens on), or the whole match. */
  ready: string;
  /** Peak resident memory so far (VmHWM), in bytes; undefined where /proc is missing. */
  peakRss(): number | undefined;
  /** False once it has exited. */
  readonly alive: boolean;
  /** The last 20 kB of its output. */
  output(): string;
  /** SIGTERM, then SIGKILL after 10 s; resolves when it has exited. */
  stop(): Promise<void>;
}

export async function startChildService(
  command: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; ready: RegExp; timeoutMs?: number; name: string },
): Promise<ChildService> {
  const child = spawn(command, args, { env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${opts.name} did not start in time:\n${output.slice(-4000)}`)), opts.timeoutMs ?? 60_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = opts.ready.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] ?? m[0]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => fail(new Error(`${opts.name} exited (${code}) before it was ready:\n${output.slice(-4000)}`)));
  });
  // Keep draining its output (a full pipe would block it), keeping only the tail for errors;
  // BENCH_DEBUG=1 passes it through.
  const drain = (chunk: Buffer) => {
    if (process.env.BENCH_DEBUG) process.stderr.write(`[${opts.name}] ${chunk.toString()}`);
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.removeAllListeners('data').on('data', drain);
  child.stderr!.removeAllListeners('data').on('data', drain);
  child.removeAllListeners('exit');
  let stopping = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      // A server that goes away mid-run would leave its senders retrying: say so at once.
      if (!stopping) console.error(`${opts.name} (pid ${child.pid}) exited unexpectedly (${signal ?? code}):\n${output.slice(-2000)}`);
      resolve();
    }),
  );
  running.add(child);
  void exited.then(() => running.delete(child));
  return {
    pid: child.pid!,
    ready,
    peakRss: () => peakRss(child),
    output: () => output,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    async stop() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Every child still running, so a Ctrl-C of the benchmark takes them down too. */
const running = new Set<ChildProcess>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const child of running) child.kill('SIGTERM');
  });
}

/** VmHWM: the kernel's own high-water mark of resident memory, so no sample is missed. */
export function peakRss(child: ChildProcess | number): number | undefined {
  const pid = typeof child === 'number' ? child : child.pid;
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** BENCH_CPU_PROF_DIR: our services run under `node --cpu-prof`, the profile written there when they stop (read it with bench/cpu-profile-top.ts). */
export function cpuProfileFlags(): string[] {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}
