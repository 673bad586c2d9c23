import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  ftruncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { SpoolLockedError, SpoolWriteError } from './errors.js';
import { replaySegments, segmentName, type Entry, type Segment } from './internal/replay-segments.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface DiskSpoolOptions<T = unknown> {
  dir: string;
  /** Bounds on what is pending: `hasRoom` answers false past them. */
  maxRecords: number;
  maxBytes: number;
  fsync: FsyncPolicy;
  fsyncIntervalMillis: number;
  /** A segment file is closed and a new one begun past this size. */
  segmentBytes: number;
  /**
   * Turns a line parsed at start-up into a record: how a caller reads the lines an older
   * version of itself wrote in another shape. Default: the parsed value as it is.
   */
  revive?: (parsed: unknown) => T;
}

export interface AppendOptions {
  /** Fsync before returning, whatever the policy: the caller is about to say "durable". Default: false. */
  fsync?: boolean;
}

/**
 * An at-least-once queue of JSON records: every record is appended to a segment file
 * with `writeSync` before `append` returns, so a crash of the process (even SIGKILL)
 * loses nothing appended; the fsync policy decides what survives a crash of the
 * machine. Acknowledged progress is kept in a small `ack` file; losing an update to it
 * only means a replay, which id-keyed, create-only consumers absorb. Used by the
 * instrumentation (before export) and the collector (while the store is unreachable).
 */
export class DiskSpool<T = unknown> {
  readonly #opts: DiskSpoolOptions<T>;
  #pending: Entry<T>[] = [];
  #head = 0;
  #segments = new Map<number, Segment>();
  #current!: Segment;
  #fd = -1;
  #currentBytes = 0;
  #dirty = false;
  /** A failed write may have left part of a line behind that could not be cut off yet. */
  #torn = false;
  #timer: NodeJS.Timeout | undefined;
  bytes = 0;

  constructor(opts: DiskSpoolOptions<T>) {
    this.#opts = opts;
    // Owner-only where we make it: the segments are audit events in clear.
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    this.#lock();
    const replayed = replaySegments<T>(opts.dir, opts.revive);
    this.#pending = replayed.pending;
    this.#segments = replayed.segments;
    this.bytes = replayed.bytes;
    const lastSeq = replayed.lastSeq;
    // Never reuse a number the ack file may name: older numbers are deleted on load.
    this.#openSegment(lastSeq + 1);
    if (opts.fsync === 'interval') {
      this.#timer = setInterval(() => this.#syncQuietly(), opts.fsyncIntervalMillis);
      this.#timer.unref();
    }
  }

  get length(): number {
    return this.#pending.length - this.#head;
  }

  hasRoom(bytes: number): boolean {
    return this.length < this.#opts.maxRecords && this.bytes + bytes <= this.#opts.maxBytes;
  }

  /** `serialized` is `JSON.stringify(record)`, when the caller has it already. */
  append(record: T, serialized = JSON.stringify(record)): void {
    this.#write([[record, serialized]]);
  }

  /**
   * Appends several records with one write and, under `always` or `{ fsync: true }`, one
   * fsync: a collector batch. All or nothing: on a full disk or a failed fsync it throws
   * a `SpoolWriteError` and the spool holds exactly what it held before.
   */
  appendBatch(
    records: readonly T[],
    serialized: readonly string[] = records.map((r) => JSON.stringify(r)),
    options: AppendOptions = {},
  ): void {
    this.#write(
      records.map((r, i) => [r, serialized[i]!]),
      options.fsync === true,
    );
  }

  /** Forces everything appended so far to disk, whatever the policy. */
  sync(): void {
    this.#dirty = true;
    this.#sync();
  }

  #write(items: [T, string][], fsync = false): void {
    if (items.length === 0) return;
    const data = Buffer.from(items.map(([, s]) => `${s}\n`).join(''));
    try {
      if (this.#torn) this.#cutBack();
      // writeSync may write less than asked (a disk filling up): loop until done or it throws.
      for (let done = 0; done < data.length; ) done += writeSync(this.#fd, data, done, data.length - done);
      if (fsync || this.#opts.fsync === 'always') fsyncSync(this.#fd);
      else this.#dirty = true;
    } catch (err) {
      // A partial line left at the end would be glued to the next append, and load() stops
      // at the first line it cannot parse: cut the segment back to its last whole line.
      this.#torn = true;
      try {
        this.#cutBack();
      } catch {
        // Tried again before the next write; until it works, nothing is appended.
      }
      throw new SpoolWriteError(this.#opts.dir, err);
    }
    for (const [record, serialized] of items) {
      this.#current.lines += 1;
      this.#pending.push({ record, bytes: serialized.length, segment: this.#current.seq });
      this.bytes += serialized.length;
    }
    this.#currentBytes += data.length;
    if (this.#currentBytes >= this.#opts.segmentBytes) {
      try {
        this.#openSegment(this.#current.seq + 1);
      } catch {
        // No new segment now (no inode, no descriptor): the records are written; keep
        // appending to this one and try again after the next write.
      }
    }
  }

  #cutBack(): void {
    ftruncateSync(this.#fd, this.#currentBytes);
    this.#torn = false;
  }

  peek(max: number): T[] {
    return this.#pending.slice(this.#head, this.#head + max).map((e) => e.record);
  }

  ack(count: number): void {
    for (let i = 0; i < count && this.#head < this.#pending.length; i++) {
      const entry = this.#pending[this.#head++]!;
      this.bytes -= entry.bytes;
      this.#segments.get(entry.segment)!.acked += 1;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#head);
      this.#head = 0;
    }
    for (const seg of [...this.#segments.values()]) {
      if (seg !== this.#current && seg.acked >= seg.lines) {
        unlinkSync(seg.path);
        this.#segments.delete(seg.seq);
      }
    }
    const next = this.#pending[this.#head];
    const head = next ? this.#segments.get(next.segment)! : this.#current;
    // tmp + rename: the ack file is always whole, old or new.
    const tmp = join(this.#opts.dir, 'ack.tmp');
    try {
      writeFileSync(tmp, JSON.stringify({ segment: head.seq, acked: head.acked }));
      renameSync(tmp, join(this.#opts.dir, 'ack'));
    } catch {
      // A full disk: the old ack file stays, whole. Losing this update only means records
      // are replayed after a restart, which id-keyed consumers absorb; the next ack tries again.
    }
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#fd >= 0) {
      this.#syncQuietly();
      closeSync(this.#fd);
      this.#fd = -1;
    }
    try {
      unlinkSync(join(this.#opts.dir, 'spool.lock'));
    } catch {
      // Already gone.
    }
  }

  #sync(): void {
    if (this.#dirty && this.#fd >= 0) {
      fsyncSync(this.#fd);
      this.#dirty = false;
    }
  }

  /** For timers and close: an fsync that fails (EIO, ENOSPC) leaves the data dirty for the next try instead of crashing the process. */
  #syncQuietly(): void {
    try {
      this.#sync();
    } catch {
      this.#dirty = true;
    }
  }

  #openSegment(seq: number): void {
    const path = join(this.#opts.dir, segmentName(seq));
    // The new file first: if it cannot be created, the current segment stays open.
    const fd = openSync(path, 'a', 0o600);
    if (this.#fd >= 0) {
      this.#syncQuietly();
      closeSync(this.#fd);
    }
    this.#fd = fd;
    this.#current = { seq, path, lines: 0, acked: 0 };
    this.#currentBytes = 0;
    this.#segments.set(seq, this.#current);
  }

  /** One writer per spool: two processes appending to the same files would interleave lines. */
  #lock(): void {
    const lock = join(this.#opts.dir, 'spool.lock');
    try {
      const pid = Number(readFileSync(lock, 'utf8'));
      if (pid && pid !== process.pid && alive(pid)) {
        throw new SpoolLockedError(this.#opts.dir, pid);
      }
    } catch (err) {
      if (err instanceof SpoolLockedError) throw err;
    }
    writeFileSync(lock, String(process.pid));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
