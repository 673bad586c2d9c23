import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CodedError } from '@otel-audit/contract';
import { DiskSpool, SpoolLockedError, SpoolWriteError } from '@otel-audit/spool';

type QueuedRecord = { hrTime: [number, number]; hrTimeObserved: [number, number]; eventName: string; attributes: { i: number } };

const record = (i: number): QueuedRecord => ({ hrTime: [1_700_000_000 + i, 0], hrTimeObserved: [1_700_000_000 + i, 0], eventName: 'a.b', attributes: { i } });
const open = (dir: string, extra: Partial<ConstructorParameters<typeof DiskSpool<QueuedRecord>>[0]> = {}) =>
  new DiskSpool<QueuedRecord>({ dir, fsync: 'always', fsyncIntervalMillis: 1000, segmentBytes: 1024, maxRecords: 1000, maxBytes: 1 << 20, ...extra });
const ids = (records: QueuedRecord[]) => records.map((r) => r.attributes.i);

describe('DiskSpool (real files)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-spool-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('replays exactly the unacknowledged records after a reopen, across segments, and deletes acknowledged segments', () => {
    const a = open(dir);
    for (let i = 0; i < 60; i++) a.append(record(i), JSON.stringify(record(i)));
    const segments = readdirSync(dir).filter((f) => f.startsWith('segment-'));
    expect(segments.length).toBeGreaterThan(2);
    a.ack(25);
    a.close();
    expect(readdirSync(dir).filter((f) => f.startsWith('segment-')).length).toBeLessThan(segments.length);

    const b = open(dir);
    expect(b.length).toBe(35);
    expect(ids(b.peek(100))).toEqual(Array.from({ length: 35 }, (_, k) => k + 25));
    b.ack(35);
    b.close();
    const c = open(dir);
    expect(c.length).toBe(0);
    c.close();
  });

  it('passes each line read at start-up through revive: a caller reads lines an older version wrote in another shape', () => {
    const a = open(dir);
    for (let i = 0; i < 3; i++) a.append(record(i));
    a.close();
    const b = new DiskSpool<{ n: number }>({
      dir,
      fsync: 'always',
      fsyncIntervalMillis: 1000,
      segmentBytes: 1024,
      maxRecords: 1000,
      maxBytes: 1 << 20,
      revive: (parsed) => ({ n: (parsed as QueuedRecord).attributes.i * 10 }),
    });
    expect(b.peek(10)).toEqual([{ n: 0 }, { n: 10 }, { n: 20 }]);
    // Records appended now are kept as given, not revived.
    b.append({ n: 99 });
    expect(b.peek(10).at(-1)).toEqual({ n: 99 });
    b.close();
  });

  it('cuts off a torn last line and keeps every whole record before it', () => {
    const a = open(dir);
    for (let i = 0; i < 3; i++) a.append(record(i), JSON.stringify(record(i)));
    a.close();
    const segment = readdirSync(dir).find((f) => f.startsWith('segment-'))!;
    appendFileSync(join(dir, segment), '{"hrTime":[1,0],"attri');
    const b = open(dir);
    expect(ids(b.peek(10))).toEqual([0, 1, 2]);
    b.close();
    expect(readFileSync(join(dir, segment), 'utf8').endsWith('}\n')).toBe(true);
  });

  it('refuses a spool folder that a live process holds', () => {
    writeFileSync(join(dir, 'spool.lock'), String(process.ppid));
    const err = (() => {
      try {
        open(dir);
      } catch (e) {
        return e;
      }
    })();
    // The contract's one error shape: matched on its code, as every other otel-audit error.
    expect(err).toBeInstanceOf(SpoolLockedError);
    expect(err).toBeInstanceOf(CodedError);
    expect(err).toMatchObject({ code: 'AUDIT_ERR_SPOOL_LOCKED', name: 'SpoolLockedError', pid: process.ppid });
    expect((err as CodedError).statusCode).toBeUndefined();
    // A lock left by a process that is gone is taken over.
    writeFileSync(join(dir, 'spool.lock'), '2147483646');
    open(dir).close();
  });

  it('reports no room past its bounds', () => {
    const a = open(dir, { maxRecords: 2 });
    a.append(record(0), JSON.stringify(record(0)));
    expect(a.hasRoom(10)).toBe(true);
    a.append(record(1), JSON.stringify(record(1)));
    expect(a.hasRoom(10)).toBe(false);
    a.ack(1);
    expect(a.hasRoom(10)).toBe(true);
    a.close();
  });

  // /dev/full answers every write with ENOSPC: a full disk without mounting anything.
  it.skipIf(!existsSync('/dev/full'))('a write the disk refuses (ENOSPC, /dev/full) throws AUDIT_ERR_SPOOL_DISK_FULL and keeps nothing of the batch', () => {
    const a = open(dir, { segmentBytes: 10 });
    // The next segment the spool will open is the full device.
    symlinkSync('/dev/full', join(dir, 'segment-000000000002.ndjson'));
    a.append(record(1));
    const err = (() => {
      try {
        a.appendBatch([record(2), record(3)], undefined, { fsync: true });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SpoolWriteError);
    expect(err).toBeInstanceOf(CodedError);
    expect(err).toMatchObject({ code: 'AUDIT_ERR_SPOOL_DISK_FULL', name: 'SpoolWriteError', errno: 'ENOSPC', cause: expect.objectContaining({ code: 'ENOSPC' }) });
    expect(a.length).toBe(1);
    expect(ids(a.peek(10))).toEqual([1]);
    a.close();
    unlinkSync(join(dir, 'segment-000000000002.ndjson'));
    const b = open(dir);
    expect(ids(b.peek(10))).toEqual([1]);
    b.close();
  });
});
