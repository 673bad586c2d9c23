/**
 * The machine is shared: a run waits until other processes leave the cores alone, and a run
 * during which they took more than a share of the CPU is measured again. CPU time comes from
 * /proc (Linux); elsewhere nothing is waited for and every run is kept.
 *
 *   const quiet = new QuietMachine({ maxForeignCpu: 0.1 });
 *   quiet.own(esPid);                 // processes whose CPU is part of the measurement
 *   await quiet.waitForQuiet();
 *   const share = await quiet.measure(async () => { … });   // share of the CPU others used
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface CpuSample {
  total: number;
  busy: number;
  ours: number;
}

export interface QuietMachineOptions {
  /** A run during which other processes used more of the machine's CPU than this counts as noisy. Default: 0.1. */
  maxForeignCpu?: number;
  /** Longest wait for quiet before running anyway. Default: BENCH_MAX_WAIT_SECONDS, else 180 s. */
  maxWaitSeconds?: number;
  /** Runs of one measurement at most, noisy ones included. Default: BENCH_ATTEMPTS, else 3. */
  attempts?: number;
}

export class QuietMachine {
  readonly maxForeignCpu: number;
  readonly #maxWaitSeconds: number;
  readonly attempts: number;
  readonly #pids = new Set<number>();
  /** Seconds spent waiting for other processes. */
  waitedSeconds = 0;

  constructor(opts: QuietMachineOptions = {}) {
    this.maxForeignCpu = opts.maxForeignCpu ?? 0.1;
    this.#maxWaitSeconds = opts.maxWaitSeconds ?? Number(process.env.BENCH_MAX_WAIT_SECONDS ?? 180);
    this.attempts = opts.attempts ?? Number(process.env.BENCH_ATTEMPTS ?? 3);
  }

  /** Counts a child process (the Elasticsearch node, a collector) as part of the measurement. */
  own(pid: number | undefined): void {
    if (pid !== undefined) this.#pids.add(pid);
  }

  disown(pid: number | undefined): void {
    if (pid !== undefined) this.#pids.delete(pid);
  }

  sample(): CpuSample | undefined {
    try {
      const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
      const total = fields.reduce((a, b) => a + b, 0);
      const idle = fields[3]! + (fields[4] ?? 0);
      let ours = processCpu('self') ?? 0;
      for (const pid of this.#pids) ours += processCpu(String(pid)) ?? 0;
      return { total, busy: total - idle, ours };
    } catch {
      return undefined;
    }
  }

  /** Share of the whole machine's CPU that other processes used between two samples. */
  static foreignShare(a: CpuSample | undefined, b: CpuSample | undefined): number | undefined {
    if (!a || !b || b.total <= a.total) return undefined;
    return Math.max(0, (b.busy - a.busy - (b.ours - a.ours)) / (b.total - a.total));
  }

  /** Waits (up to maxWaitSeconds) until other processes leave the cores alone for 2 s. */
  async waitForQuiet(): Promise<void> {
    for (let waited = 0; waited < this.#maxWaitSeconds; waited += 2) {
      const a = this.sample();
      await sleep(waited === 0 ? 500 : 2000);
      const share = QuietMachine.foreignShare(a, this.sample());
      this.waitedSeconds += waited === 0 ? 0 : 2;
      if (share === undefined || share <= this.maxForeignCpu) return;
      if (waited === 0) console.error(`  other processes use ${Math.round(share * 100)} % of the CPU: waiting for them`);
    }
  }

  /**
   * Waits for quiet, runs `fn`, and runs it again (up to `this.attempts` in all) while other
   * processes took more than maxForeignCpu meanwhile. Returns the kept result with the
   * share of the CPU others used during it, and the discarded ones.
   */
  async run<T>(label: string, fn: () => Promise<T>): Promise<{ result: T; foreignCpu: number | undefined; discarded: T[] }> {
    const discarded: T[] = [];
    for (let attempt = 1; ; attempt++) {
      await this.waitForQuiet();
      const a = this.sample();
      const result = await fn();
      const foreignCpu = QuietMachine.foreignShare(a, this.sample());
      if ((foreignCpu ?? 0) <= this.maxForeignCpu || attempt >= this.attempts) return { result, foreignCpu, discarded };
      // Something else took the cores: measure again rather than report its noise.
      console.error(`  discarded a run of ${label}: other processes used ${Math.round(foreignCpu! * 100)} % of the CPU`);
      discarded.push(result);
    }
  }
}

function processCpu(pid: string): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What the RESULTS.md sections say about the machine. */
export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  os: string;
  elasticsearch: string;
  esHeapMiB: number | undefined;
  ownNode: boolean;
  loadBefore: number[];
}

export function describeMachine(extra: Pick<Machine, 'elasticsearch' | 'esHeapMiB' | 'ownNode' | 'loadBefore'>): Machine {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.versions.node,
    os: `${os.type()} ${os.release()}`,
    ...extra,
  };
}

/** "2 CPU cores (AMD EPYC …), 24 GiB memory, Linux …, Node.js …; load average before the run …". */
export function machineLine(m: Machine): string {
  return (
    `${m.cpus} CPU cores (${m.cpuModel}), ${m.memoryGiB} GiB memory, ${m.os}, Node.js ${m.node}; ` +
    `load average before the run ${m.loadBefore.map((l) => l.toFixed(2)).join(' / ')}`
  );
}

/** The RESULTS.md sentence on other processes: how runs were guarded, and how busy the machine was in the runs kept. */
export function otherLoad(foreign: number[], discarded: number, c: { attempts: number; maxForeignCpu: number }): string {
  const used = foreign.length
    ? `${((100 * foreign.reduce((a, b) => a + b, 0)) / foreign.length).toFixed(1)} % of the CPU on average, ${(100 * Math.max(...foreign)).toFixed(1)} % at most`
    : 'n/a';
  return (
    `Other load: a run waits (a while) until other processes leave the cores alone, and is measured again (up to ${c.attempts} attempt${c.attempts === 1 ? '' : 's'} in all) ` +
    `if they used more than ${Math.round(c.maxForeignCpu * 100)} % of the CPU meanwhile (${discarded} run${discarded === 1 ? '' : 's'} measured again); in the runs kept other processes used ${used}.`
  );
}
