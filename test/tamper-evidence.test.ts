import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCollector, type IntegrityOptions } from '@otel-audit/collector';
import type { AuditEvent } from '@otel-audit/contract';
import {
  Ed25519Signer,
  ElasticsearchStore,
  generateSigningKey,
  publicKeyRing,
  verifyIntegrity,
  type AuditStore,
  type IntegrityReport,
} from '@otel-audit/store';
import { elasticsearch } from './support/elasticsearch.js';
import { otlpJsonBody, validEvent } from './support/otlp-json.js';
import { elasticsearchStores, isolatedDay, sqliteStores, type StorePair } from './support/services.js';

const run = promisify(execFile);
const cli = join(resolve(import.meta.dirname, '..'), 'cli', 'bin', 'otel-audit.js');
const es = elasticsearch();
const json = { 'content-type': 'application/json' };
const DAY = 86_400_000;

/** Admin access behind the application's back: what an insider with database rights can do. */
interface Tamper {
  /** The stored chain fields and document of an event. */
  read(id: string): Promise<{ seq: number; hash: string }>;
  modify(id: string, message: string): Promise<void>;
  remove(id: string): Promise<void>;
  insertForged(event: AuditEvent, chain?: { id: string; seq: number; hash: string }): Promise<void>;
  /** Exchanges the chain positions (seq and hash) of two events. */
  swap(a: string, b: string): Promise<void>;
  /** Changes a stored digest's count; removes another digest. */
  tamperDigests(change: { chainId: string; lastSeq: number }, remove: { chainId: string; lastSeq: number }): Promise<void>;
  /** Makes writes visible to searches (Elasticsearch refresh). */
  settle(): Promise<void>;
}

function sqliteTamper(path: string): Tamper {
  const db = new Database(path);
  return {
    async read(id) {
      const row = db.prepare('SELECT chain_seq AS seq, chain_hash AS hash FROM audit_events WHERE id = ?').get(id) as { seq: number; hash: string };
      return row;
    },
    async modify(id, message) {
      db.prepare("UPDATE audit_events SET doc = json_set(doc, '$.message', ?) WHERE id = ?").run(message, id);
    },
    async remove(id) {
      db.prepare('DELETE FROM audit_events WHERE id = ?').run(id);
    },
    async insertForged(e, chain) {
      db.prepare(
        `INSERT INTO audit_events (id, time_ms, action, category, outcome, actor_id, doc, chain_id, chain_seq, chain_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(e.id, Date.parse(e.time), e.action, e.category, e.outcome, e.actor.id, JSON.stringify(e), chain?.id ?? null, chain?.seq ?? null, chain?.hash ?? null);
    },
    async swap(a, b) {
      const pa = await this.read(a);
      const pb = await this.read(b);
      db.transaction(() => {
        db.prepare('UPDATE audit_events SET chain_seq = ?, chain_hash = ? WHERE id = ?').run(pb.seq, pb.hash, a);
        db.prepare('UPDATE audit_events SET chain_seq = ?, chain_hash = ? WHERE id = ?').run(pa.seq, pa.hash, b);
      })();
    },
    async tamperDigests(change, remove) {
      db.prepare("UPDATE audit_digests SET doc = json_set(doc, '$.count', 1) WHERE chain_id = ? AND last_seq = ?").run(change.chainId, change.lastSeq);
      db.prepare('DELETE FROM audit_digests WHERE chain_id = ? AND last_seq = ?').run(remove.chainId, remove.lastSeq);
    },
    async settle() {},
  };
}

function elasticsearchTamper(admin: ElasticsearchStore): Tamper {
  const c = admin.client;
  const find = async (id: string) => {
    const r = await c.search<{ audit: { chain: { seq: number; hash: string } } }>({ index: 'audit-events', query: { term: { 'event.id': id } } });
    const hit = r.hits.hits[0]!;
    return { index: hit._index, source: hit._source! };
  };
  return {
    async read(id) {
      return (await find(id)).source.audit.chain;
    },
    async modify(id, message) {
      const { index } = await find(id);
      await c.update({ index, id, doc: { message }, refresh: true });
    },
    async remove(id) {
      const { index } = await find(id);
      await c.delete({ index, id, refresh: true });
    },
    async insertForged(e, chain) {
      // The document an event gets, written directly (through a second writer, not the collector).
      const store = admin;
      await store.insert([e]);
      await c.indices.refresh({ index: 'audit-events-*' });
      if (chain) {
        const { index } = await find(e.id);
        await c.update({ index, id: e.id, doc: { audit: { chain } }, refresh: true });
      }
    },
    async swap(a, b) {
      const fa = await find(a);
      const fb = await find(b);
      await c.update({ index: fa.index, id: a, doc: { audit: { chain: fb.source.audit.chain } } });
      await c.update({ index: fb.index, id: b, doc: { audit: { chain: fa.source.audit.chain } }, refresh: true });
    },
    async tamperDigests(change, remove) {
      await c.update({ index: 'audit-digests', id: `${change.chainId}:${change.lastSeq}`, doc: { count: 1 } });
      await c.delete({ index: 'audit-digests', id: `${remove.chainId}:${remove.lastSeq}`, refresh: true });
    },
    async settle() {
      await c.indices.refresh({ index: ['audit-events-*', 'audit-digests*'] });
    },
  };
}

for (const kind of ['sqlite', 'elasticsearch'] as const) {
  describe.skipIf(kind === 'elasticsearch' && es === null)(`tamper evidence on ${kind} (real store, real collector)`, () => {
    let stores: StorePair;
    let dir: string;
    let tamper: Tamper;
    let admin: ElasticsearchStore | undefined;
    const key = generateSigningKey();
    const keys = publicKeyRing([key.publicKeyPem]);
    const day = isolatedDay();
    const range = { from: day, to: new Date(day.getTime() + DAY) };
    let t = 0;
    const at = () => new Date(day.getTime() + 1000 * ++t).toISOString();
    const integrity = (): IntegrityOptions => ({ stateDir: join(dir, 'state'), signer: new Ed25519Signer(key.privateKeyPem), digestEvents: 10, digestIntervalMillis: 3_600_000 });

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'otel-audit-tamper-'));
      stores = kind === 'sqlite' ? await sqliteStores() : await elasticsearchStores(es!);
      if (kind === 'elasticsearch') {
        admin = new ElasticsearchStore({ url: es!.url, ...es!.admin, installTemplate: false });
        tamper = elasticsearchTamper(admin);
      } else {
        tamper = sqliteTamper((stores.writer as unknown as { description: string }).description.replace(/^sqlite /, ''));
      }
    });
    afterAll(async () => {
      await admin?.close();
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function send(store: AuditStore, events: AuditEvent[], spoolDir?: string) {
      // Generous: on shared cores the first write also waits for the chain head to be read back.
      const app = buildCollector({ store, integrity: integrity(), storeTimeoutMillis: 60_000, ...(spoolDir ? { spoolDir } : {}) });
      for (let i = 0; i < events.length; i += 7) {
        const res = await app.inject({ method: 'POST', url: '/v1/logs', payload: otlpJsonBody(events.slice(i, i + 7)), headers: json });
        expect(res.statusCode).toBe(200);
      }
      await app.close();
    }
    const verify = async (): Promise<IntegrityReport> => {
      await tamper.settle();
      return verifyIntegrity(stores.reader, { ...range, keys });
    };
    const events = (n: number) => Array.from({ length: n }, (_, i) => validEvent({ time: at(), message: `event ${i}`, metadata: { n: i, ratio: 0.1 * i, flag: i % 2 === 0 }, changes: [{ field: 'x', from: null, to: [] as unknown as undefined }] }));

    it('chains what the collector stores, across restarts and duplicate re-sends, and verifies untouched', async () => {
      const first = events(25);
      await send(stores.writer, first);
      // A restart: a new collector on the same state folder continues the chain.
      const second = events(12);
      await send(stores.writer, [...second, ...first.slice(0, 5)]);
      // Re-sent duplicates take no position.
      await send(stores.writer, first.slice(10, 20));
      await tamper.settle();
      const report = await verify();
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.events).toBe(37);
      expect(report.chains).toHaveLength(1);
      expect(report.chains[0]).toMatchObject({ firstSeq: 1, lastSeq: 37, events: 37 });
      expect(report.digests).toBeGreaterThanOrEqual(3);
      expect((await tamper.read(second[0]!.id)).seq).toBe(26);
    });

    it('names a modified, a deleted, an inserted, a forged-position and two swapped events', async () => {
      const stored = events(30);
      await send(stores.writer, stored);
      await tamper.settle();
      const modified = stored[3]!;
      const deleted = stored[8]!;
      const [a, b] = [stored[14]!, stored[15]!];
      await tamper.modify(modified.id, 'nothing to see here');
      await tamper.remove(deleted.id);
      await tamper.swap(a.id, b.id);
      const forged = validEvent({ time: at(), message: 'forged' });
      await tamper.insertForged(forged);
      const taken = await tamper.read(stored[20]!.id);
      const chainId = (await verify()).chains[0]!.id;
      const forgedAtPosition = validEvent({ time: at(), message: 'forged with a position' });
      await tamper.insertForged(forgedAtPosition, { id: chainId, seq: taken.seq, hash: taken.hash });

      const report = await verify();
      expect(report.ok).toBe(false);
      const byKind = (k: string) => report.problems.filter((p) => p.kind === k);
      expect(byKind('modified')).toEqual([expect.objectContaining({ id: modified.id, seq: (await tamper.read(stored[2]!.id)).seq + 1 })]);
      const deletedSeq = (await tamper.read(stored[7]!.id)).seq + 1;
      expect(byKind('deleted')).toEqual([expect.objectContaining({ firstSeq: deletedSeq, lastSeq: deletedSeq })]);
      expect(byKind('reordered')).toEqual([expect.objectContaining({ ids: [b.id, a.id] })]);
      expect(byKind('inserted').map((p) => p.kind === 'inserted' && p.id).sort()).toEqual([forged.id, forgedAtPosition.id].sort());
      expect(report.problems).toHaveLength(5);

      // The command line says the same, with exit code 1 and a machine-readable report.
      if (kind === 'sqlite') {
        const keyFile = join(dir, 'public.pem');
        writeFileSync(keyFile, key.publicKeyPem);
        const path = (stores.writer as unknown as { description: string }).description.replace(/^sqlite /, '');
        const env = { ...process.env, ELASTICSEARCH_URL: '', AUDIT_DATA_DIR: resolve(path, '..') };
        const args = [cli, 'verify', '--from', range.from.toISOString(), '--to', range.to.toISOString(), '--public-key', keyFile];
        const failed = await run(process.execPath, [...args, '--json'], { env }).catch((err: { code: number; stdout: string }) => err);
        expect((failed as { code: number }).code).toBe(1);
        const parsed = JSON.parse((failed as { stdout: string }).stdout) as IntegrityReport;
        expect(parsed.problems.map((p) => p.kind).sort()).toEqual(['deleted', 'inserted', 'inserted', 'modified', 'reordered']);
        const human = await run(process.execPath, args, { env }).catch((err: { stdout: string }) => err);
        expect((human as { stdout: string }).stdout).toContain(`modified: chain ${chainId}`);
      }
    });

    it('a digest signed with a retired key still verifies when its public key is given; a tampered digest does not', async () => {
      const chainBefore = (await verify()).chains[0]!.id;
      // Rotation: the next collector start signs with a new key.
      const next = generateSigningKey();
      const app = buildCollector({ store: stores.writer, storeTimeoutMillis: 60_000, integrity: { ...integrity(), signer: new Ed25519Signer(next.privateKeyPem) } });
      await app.inject({ method: 'POST', url: '/v1/logs', payload: otlpJsonBody(events(3)), headers: json });
      await app.close();
      const both = publicKeyRing([key.publicKeyPem, next.publicKeyPem]);
      await tamper.settle();
      const report = await verifyIntegrity(stores.reader, { ...range, keys: both });
      // The tampering of the test before is still there; no digest problem is added.
      expect(report.problems.filter((p) => ['bad-signature', 'unknown-key', 'broken-link'].includes(p.kind))).toEqual([]);
      expect(report.chains[0]!.id).toBe(chainBefore);
      const onlyOld = await verifyIntegrity(stores.reader, { ...range, keys: keys });
      expect(onlyOld.problems.filter((p) => p.kind === 'unknown-key')).toHaveLength(1);

      // An altered digest fails its signature; a removed one breaks the link of the next.
      const digests = [];
      for await (const d of stores.reader.digests(chainBefore)) digests.push(d);
      await tamper.tamperDigests(digests[0]!, digests[2]!);
      await tamper.settle();
      const after = await verifyIntegrity(stores.reader, { ...range, keys: both });
      expect(after.problems.filter((p) => p.kind === 'bad-signature')).toEqual([expect.objectContaining({ lastSeq: digests[0]!.lastSeq })]);
      expect(after.problems.filter((p) => p.kind === 'broken-link')).toEqual([expect.objectContaining({ lastSeq: digests[3]!.lastSeq })]);
    });

    it('concurrent batches with duplicates across them leave one gapless chain', async () => {
      const fresh = events(40);
      const chainId = (await verify()).chains[0]!.id;
      const before = (await verify()).chains[0]!.lastSeq;
      const app = buildCollector({ store: stores.writer, storeTimeoutMillis: 60_000, integrity: integrity() });
      // Overlapping batches at once: every event is sent twice, in different requests.
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          app.inject({ method: 'POST', url: '/v1/logs', payload: otlpJsonBody([...fresh.slice(i * 5, i * 5 + 5), ...fresh.slice(((i + 1) % 8) * 5, ((i + 1) % 8) * 5 + 5)]), headers: json }),
        ),
      );
      await app.close();
      await tamper.settle();
      const seqs: number[] = [];
      for await (const item of stores.reader.queryChain(chainId, before + 1)) seqs.push(item.chain!.seq);
      expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => before + 1 + i));
    });
  });
}

describe('tamper evidence: spool replay and export manifests (SQLite)', () => {
  let stores: StorePair;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-tamper-spool-'));
    stores = await sqliteStores();
  });
  afterAll(async () => {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a spool replay after an outage (simulated: a wrapper refuses inserts) continues the chain', async () => {
    const key = generateSigningKey();
    const keys = publicKeyRing([key.publicKeyPem]);
    const day = isolatedDay();
    const integrity = { stateDir: join(dir, 'state'), signer: new Ed25519Signer(key.privateKeyPem), digestEvents: 5 };
    const store = stores.writer;
    // The outage: the real store behind a wrapper that refuses writes (reads still answer).
    const failing = new Proxy(store, {
      get(target, prop) {
        if (prop === 'insert') return async () => Promise.reject(new Error('store down'));
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const e = (i: number) => validEvent({ time: new Date(day.getTime() + i * 1000).toISOString(), message: `e${i}` });
    // Up: three events chained.
    const up = buildCollector({ store, storeTimeoutMillis: 60_000, spoolDir: join(dir, 'spool'), integrity });
    await up.inject({ method: 'POST', url: '/v1/logs', payload: otlpJsonBody([e(1), e(2), e(3)]), headers: json });
    await up.close();
    // Down: accepted into the spool.
    const down = buildCollector({ store: failing, spoolDir: join(dir, 'spool'), integrity });
    const res = await down.inject({ method: 'POST', url: '/v1/logs', payload: otlpJsonBody([e(4), e(5)]), headers: json });
    expect(res.statusCode).toBe(200);
    await down.close();
    // Back: the replay continues the chain from the store's head.
    const back = buildCollector({ store, storeTimeoutMillis: 60_000, spoolDir: join(dir, 'spool'), integrity });
    await back.ready();
    for (let i = 0; i < 600 && (await store.count({ from: day, to: new Date(day.getTime() + DAY) })) < 5; i++) await new Promise((r) => setTimeout(r, 100));
    await back.close();
    const report = await verifyIntegrity(store, { from: day, to: new Date(day.getTime() + DAY), keys });
    expect(report.problems).toEqual([]);
    expect(report.chains[0]).toMatchObject({ firstSeq: 1, lastSeq: 5, events: 5, undigested: 0 });
  });

  it('verify-export passes the file its manifest signs and fails a tampered one', async () => {
    const key = generateSigningKey();
    const { signManifest, digestStream } = await import('@otel-audit/store');
    const { Readable } = await import('node:stream');
    const file = join(dir, 'export.csv');
    writeFileSync(file, 'time,action\n2024-01-01T00:00:00Z,auth.login\n');
    const manifest = await signManifest(
      { file: 'export.csv', format: 'csv', ...(await digestStream(Readable.from([readFileSync(file)]))), rows: 1, request: { scope: 'all' }, requestedBy: 'u-1', createdAt: new Date().toISOString() },
      new Ed25519Signer(key.privateKeyPem),
    );
    const manifestFile = join(dir, 'export.manifest.json');
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const keyFile = join(dir, 'public.pem');
    writeFileSync(keyFile, key.publicKeyPem);
    const ok = await run(process.execPath, [cli, 'verify-export', file, manifestFile, '--public-key', keyFile]);
    expect(ok.stdout).toContain('OK');
    writeFileSync(file, 'time,action\n2024-01-01T00:00:00Z,auth.logout\n');
    const bad = await run(process.execPath, [cli, 'verify-export', file, manifestFile, '--public-key', keyFile, '--json']).catch((err: { code: number; stdout: string }) => err);
    expect((bad as { code: number }).code).toBe(1);
    expect(JSON.parse((bad as { stdout: string }).stdout).problems[0]).toContain('SHA-256');
  });
});
