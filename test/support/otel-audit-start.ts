import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

export const CLI = join(resolve(import.meta.dirname, '../..'), 'cli', 'bin', 'otel-audit.js');

export interface StartedOtelAudit {
  child: ChildProcess;
  collectorUrl: string;
  /** The OTLP/gRPC address, when the banner names one. */
  grpcUrl: string | undefined;
  exportUrl: string;
}

/**
 * `otel-audit start` as a user runs it (the built CLI, a real process); resolves with the
 * addresses its banner prints. The start is waited for, not timed: on a loaded machine
 * loading the modules alone took over 20 s, so only a process that never says it is up
 * (90 s) or that exits fails here. `umask` runs it under that file-creation mask.
 */
export function startOtelAudit(env: NodeJS.ProcessEnv, opts: { umask?: string } = {}): Promise<StartedOtelAudit> {
  const child = opts.umask
    ? spawn('/bin/sh', ['-c', `umask ${opts.umask} && exec "${process.execPath}" "${CLI}" start`], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [CLI, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`otel-audit start printed no banner within 90 s:\n${output}`));
    }, 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const c = /collector \(OTLP\/HTTP\)\s+(http:\/\/\S+)\/v1\/logs/.exec(output);
      const g = /collector \(OTLP\/gRPC\)\s+(http:\/\/\S+)/.exec(output);
      const e = /export service\s+(http:\/\/\S+)/.exec(output);
      if (c && e) {
        clearTimeout(timer);
        resolveStart({ child, collectorUrl: c[1]!, grpcUrl: g?.[1], exportUrl: e[1]! });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`otel-audit start exited with ${code}:\n${output}`));
    });
  });
}
