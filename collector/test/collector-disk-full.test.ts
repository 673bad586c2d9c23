import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCollector } from '@otel-audit/collector';
import type { AuditEvent } from '@otel-audit/contract';
import { ElasticsearchStore, SqliteStore } from '@otel-audit/store';
import { otlpJsonBody, validEvent } from '../../test/support/otlp-json.js';
import { eventually } from '../../test/support/services.js';

/**
 * Why a real tmpfs cannot be had here, or undefined when it can: mounting needs root (or
 * CAP_SYS_ADMIN), which a developer's machine or an unprivileged container may not give.
 * The spool's own test covers the same refusal on /dev/full without a mount.
 */
function tmpfsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'tmpfs mounts are a Linux feature';
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  const probe = mkdtempSync(join(tmpdir(), 'otel-audit-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `mount -t tmpfs failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

const noTmpfs = tmpfsUnavailable();
if (noTmpfs) console.log(`[otel-audit] collector disk-full test skipped: ${noTmpfs}`);
const json = { 'content-type': 'application/json' };

/** Every line of every spool segment, parsed: a torn or glued line throws here. */
function spooledLines(dir: string): { event?: AuditEvent }[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith('segment-'))
    .sort()
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as { event?: AuditEvent }),
    );
}

describe.skipIf(noTmpfs !== undefined)("collector whose spool's disk fills up (a real 256 KiB tmpfs)", () => {
  let dir: string;
  let mnt: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-disk-full-'));
    mnt = join(dir, 'spool');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
  });
  afterEach(() => {
    execFileSync('umount', ['-l', mnt]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses with 503 + Retry-After naming ENOSPC, keeps no torn line, accepts again when space returns, and delivers every accepted event exactly once', async () => {
    // The store is down (nothing listens on port 9), so every batch must go to the spool.
    const down = new ElasticsearchStore({ url: 'http://127.0.0.1:9', installTemplate: false });
    const app = buildCollector({ store: down, spoolDir: mnt, storeTimeoutMillis: 1000 });
    const acked: string[] = [];
    const refused: AuditEvent[][] = [];
    const post = async (events: AuditEvent[]) => {
      const res = await app.inject({ method: 'POST', url: '/v1/logs', payload: otlpJsonBody(events), headers: json });
      if (res.statusCode === 200) acked.push(...events.map((e) => e.id));
      else refused.push(events);
      return res;
    };
    const batch = (n: number) => Array.from({ length: n }, () => validEvent({ message: 'x'.repeat(300) }));
    try {
      // Fill the disk: 50-event batches (about 30 KiB each) until one does not fit.
      let refusal;
      for (let i = 0; i < 40 && !refusal; i++) {
        const res = await post(batch(50));
        if (res.statusCode !== 200) refusal = res;
      }
      expect(acked.length).toBeGreaterThan(0);
      expect(refusal?.statusCode).toBe(503);
      expect(refusal?.headers['retry-after']).toBe('5');
      expect(refusal?.json()).toEqual({ code: 14, message: "the audit store is unavailable and the spool's disk is full (ENOSPC); retry later" });
      // Refused again while full, and the process keeps serving.
      expect((await post(batch(50))).statusCode).toBe(503);
      expect((await app.inject('/healthz')).statusCode).toBe(200);
      // No corruption: the refused batches left nothing behind, not even part of a line.
      expect(spooledLines(mnt).map((l) => l.event?.id)).toEqual(acked);
      const metrics = (await app.inject('/metrics')).body;
      expect(metrics).toContain(`otel_audit_spool_records ${acked.length}`);
      expect(metrics).toMatch(/otel_audit_requests_refused_total [1-9]/);

      // Space returns: the same collector accepts again, and the senders' retries go through.
      execFileSync('mount', ['-o', 'remount,size=4m', 'tmpfs', mnt]);
      for (const events of refused.splice(0)) expect((await post(events)).statusCode).toBe(200);
      expect((await post(batch(50))).statusCode).toBe(200);
      expect(spooledLines(mnt).map((l) => l.event?.id)).toEqual(acked);
    } finally {
      await app.close();
      await down.close();
    }

    // The spool replays cleanly into a store that works: every accepted event, once.
    const store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    const app2 = buildCollector({ store, spoolDir: mnt });
    try {
      const all = async () => {
        const out: AuditEvent[] = [];
        for await (const e of store.query({ from: new Date(0), to: new Date(Date.now() + 3_600_000) })) out.push(e);
        return out;
      };
      const stored = await eventually(all, (e) => e.length >= acked.length, 30_000);
      expect(stored.map((e) => e.id).sort()).toEqual([...acked].sort());
      expect(new Set(acked).size).toBe(acked.length);
      const drained = await eventually(
        async () => (await app2.inject('/metrics')).body,
        (m) => /otel_audit_spool_records 0\b/.test(m),
      );
      expect(drained).toMatch(/otel_audit_spool_records 0\b/);
    } finally {
      await app2.close();
      await store.close();
    }
  });
});
