import { closeSync, ftruncateSync, openSync, readFileSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface Entry<T> {
  record: T;
  bytes: number;
  segment: number;
}

export interface Segment {
  seq: number;
  path: string;
  /** Lines in the file, acknowledged or not. */
  lines: number;
  acked: number;
}

const SEGMENT = /^segment-(\d{12})\.ndjson$/;
export const segmentName = (seq: number) => `segment-${String(seq).padStart(12, '0')}.ndjson`;

export interface Replayed<T> {
  pending: Entry<T>[];
  segments: Map<number, Segment>;
  bytes: number;
  lastSeq: number;
}

/**
 * Replays what the last run left unacknowledged, oldest first: the records still pending, the
 * segments that hold them, their bytes and the highest segment number seen. Deletes the
 * segments the ack file says are done and cuts a torn last line off.
 */
export function replaySegments<T>(dir: string, revive: ((parsed: unknown) => T) | undefined): Replayed<T> {
  const pending: Entry<T>[] = [];
  const segments = new Map<number, Segment>();
  let total = 0;
  let ack = { segment: 0, acked: 0 };
  try {
    ack = JSON.parse(readFileSync(join(dir, 'ack'), 'utf8')) as typeof ack;
  } catch {
    // No ack file yet: nothing was acknowledged.
  }
  const seqs = readdirSync(dir)
    .map((f) => SEGMENT.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const reviveLine = revive ?? ((parsed: unknown) => parsed as T);
  for (const seq of seqs) {
    const path = join(dir, segmentName(seq));
    if (seq < ack.segment) {
      unlinkSync(path);
      continue;
    }
    const text = readFileSync(path, 'utf8');
    const seg: Segment = { seq, path, lines: 0, acked: seq === ack.segment ? ack.acked : 0 };
    let offset = 0;
    for (;;) {
      const end = text.indexOf('\n', offset);
      if (end < 0) break;
      const line = text.slice(offset, end);
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        break;
      }
      const record = reviveLine(parsed);
      if (seg.lines >= seg.acked) {
        const bytes = Buffer.byteLength(line);
        pending.push({ record, bytes, segment: seq });
        total += bytes;
      }
      seg.lines += 1;
      offset = end + 1;
    }
    // A torn last line (power cut mid-write) is cut off: it was never acknowledged
    // to the caller as durable under any fsync policy but `always`, and with
    // `always` the write and fsync completed before record() returned.
    if (offset < Buffer.byteLength(text)) {
      const fd = openSync(path, 'r+');
      ftruncateSync(fd, Buffer.byteLength(text.slice(0, offset)));
      closeSync(fd);
    }
    if (seg.acked >= seg.lines) unlinkSync(path);
    else segments.set(seq, seg);
  }
  return { pending, segments, bytes: total, lastSeq: Math.max(ack.segment, ...seqs, 0) };
}
