import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Ed25519Signer, HashChain, SqliteStore, generateSigningKey, publicKeyRing, signRecord, verifyIntegrity, type SignedDigest } from '@otel-audit/store';
import { validEvent } from '../../test/support/otlp-json.js';

describe('verifyIntegrity on a real SQLite file', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a deleted event at a digest boundary is one deletion, not also a rewrite; a missing tail is a gap', async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-verify-'));
    const store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    const key = generateSigningKey();
    const signer = new Ed25519Signer(key.privateKeyPem);
    const chain = new HashChain('c-edge');
    const events = Array.from({ length: 25 }, (_, i) => validEvent({ time: new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString() }));
    let previousSignature: string | null = null;
    for (const batch of [events.slice(0, 10), events.slice(10, 20)]) {
      await store.insert(batch, chain);
      const digest: SignedDigest = await signRecord({ ...chain.takeSpan()!, digestTime: new Date().toISOString(), previousSignature, keyId: signer.keyId, algorithm: 'Ed25519' as const }, signer);
      await store.insertDigest(digest);
      previousSignature = digest.signature;
    }
    await store.insert(events.slice(20), chain);
    const range = { from: new Date(Date.UTC(2024, 0, 1)), to: new Date(Date.UTC(2024, 0, 2)), keys: publicKeyRing([key.publicKeyPem]) };
    expect((await verifyIntegrity(store, range)).problems).toEqual([]);
    expect((await verifyIntegrity(store, range)).warnings).toEqual(['chain c-edge: 5 event(s) after seq 20 are not yet covered by a signed digest']);

    store.database.prepare('DELETE FROM audit_events WHERE chain_seq IN (10, 23)').run();
    const report = await verifyIntegrity(store, range);
    expect(report.problems.map(({ kind, ...p }) => [kind, 'firstSeq' in p ? p.firstSeq : undefined])).toEqual([
      ['deleted', 10],
      ['gap', 23],
    ]);
    expect(report.ok).toBe(false);
    await store.close();
  });
});
