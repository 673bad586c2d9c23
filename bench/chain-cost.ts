/**
 * Tamper evidence, measured: what chaining costs at ingest (collector over real HTTP,
 * chaining on and off in the same run, alternating, medians) and how fast `verify` walks a
 * chain (SQLite at a million events and more, Elasticsearch at a sizeable count).
 *
 *   npx tsx bench/chain-cost.ts [ingestEvents=40000] [runs=3] [sqliteVerify=1000000] [esVerify=200000]
 *
 * Starts its own Elasticsearch node (scripts/elasticsearch.ts) unless ELASTICSEARCH_URL is
 * set. Events come from bench/generate-events.ts (deterministic, realistic). Senders,
 * collector and node share this machine's cores: compare within a run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { buildCollector, type IntegrityOptions } from '@otel-audit/collector';
import type { AuditEvent } from '@otel-audit/contract';
import {
  Ed25519Signer,
  ElasticsearchStore,
  GENESIS_HASH,
  HashChain,
  SqliteStore,
  canonicalEvent,
  chainHash,
  generateSigningKey,
  publicKeyRing,
  signRecord,
  verifyIntegrity,
  type AuditStore,
  type SignedDigest,
} from '@otel-audit/store';
import { startElasticsearch, stopElasticsearch } from '../scripts/elasticsearch.js';
import { otlpJsonBody } from '../test/support/otlp-json.js';
import { EventSource, WINDOW_MS, WINDOW_START } from './generate-events.js';

const ingestEvents = Number(process.argv[2] ?? 40_000);
const runs = Number(process.argv[3] ?? 3);
const sqliteVerify = Number(process.argv[4] ?? 1_000_000);
const esVerify = Number(process.argv[5] ?? 200_000);
const BATCH = 500;
const SENDERS = 4;
const key = generateSigningKey();
const signer = new Ed25519Signer(key.privateKeyPem);
const fmt = (n: number) => Math.round(n).toLocaleString('en');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
let salt = 0;

/** Events/s the collector acknowledges over HTTP (OTLP/JSON, 500-event requests, 4 senders). */
async function ingest(store: AuditStore, chained: boolean): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-chain-'));
  const integrity: IntegrityOptions | undefined = chained ? { stateDir: join(dir, 'state'), signer } : undefined;
  const app = buildCollector({ store, spoolDir: join(dir, 'spool'), ...(integrity ? { integrity } : {}) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/logs`;
  // Encoded before the clock starts: the senders' work is not what is measured.
  const source = new EventSource(7, ingestEvents, ++salt);
  const bodies: string[] = [];
  for (let i = 0; i < ingestEvents; i += BATCH) bodies.push(otlpJsonBody(source.take(BATCH)));
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
        if (res.status !== 200) throw new Error(`collector answered ${res.status}: ${await res.text()}`);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await app.close();
  rmSync(dir, { recursive: true, force: true });
  return ingestEvents / seconds;
}

/** Writes `total` chained events straight into the store, with a signed digest every 10,000. */
async function fill(store: AuditStore, total: number): Promise<void> {
  const chain = new HashChain(`bench-${store.kind}-${Date.now()}`);
  const source = new EventSource(11, total, ++salt);
  let previousSignature: string | null = null;
  for (let done = 0; done < total; ) {
    const batch: AuditEvent[] = source.take(Math.min(1000, total - done));
    const result = await store.insert(batch, chain);
    if (result.created !== batch.length) throw new Error(`stored ${result.created} of ${batch.length}`);
    done += batch.length;
    if (chain.pending >= 10_000 || done === total) {
      const span = chain.takeSpan()!;
      const digest: SignedDigest = await signRecord(
        { ...span, digestTime: new Date().toISOString(), previousSignature, keyId: signer.keyId, algorithm: 'Ed25519' as const },
        signer,
      );
      await store.insertDigest(digest);
      previousSignature = digest.signature;
    }
  }
}

async function verifyRate(store: AuditStore, expected: number): Promise<{ rate: number; seconds: number; rss: number }> {
  const report = await verifyIntegrity(store, { from: new Date(WINDOW_START - 86_400_000), to: new Date(WINDOW_START + 2 * WINDOW_MS), keys: publicKeyRing([key.publicKeyPem]) });
  if (!report.ok || report.events !== expected) throw new Error(`verify: ${report.events} events, ${JSON.stringify(report.problems.slice(0, 3))}`);
  return { rate: report.eventsPerSecond, seconds: report.seconds, rss: process.memoryUsage().rss };
}

/** The CPU part alone, one core: JSON as stored, RFC 8785 canonical form, SHA-256 — against JSON.stringify only. */
function hashingRate(): { stringify: number; chained: number } {
  const events = new EventSource(3, 50_000).take(50_000);
  let started = performance.now();
  for (const e of events) JSON.stringify(e);
  const stringify = events.length / ((performance.now() - started) / 1000);
  started = performance.now();
  let hash = GENESIS_HASH;
  for (const e of events) hash = chainHash(canonicalEvent(JSON.parse(JSON.stringify(e)) as AuditEvent), hash);
  return { stringify, chained: events.length / ((performance.now() - started) / 1000) };
}

async function main() {
  let esUrl = process.env.ELASTICSEARCH_URL;
  let admin = { username: process.env.ELASTICSEARCH_USERNAME ?? '', password: process.env.ELASTICSEARCH_PASSWORD ?? '' };
  let writer = admin;
  let version = 'external';
  let stop = async () => {};
  if (!esUrl) {
    const runDir = mkdtempSync(join(tmpdir(), 'bench-es-'));
    const node = await startElasticsearch({ runDir });
    ({ url: esUrl, version, admin, writer } = node);
    stop = async () => {
      await stopElasticsearch(node.pid);
      rmSync(runDir, { recursive: true, force: true });
    };
  }
  try {
    const setup = new ElasticsearchStore({ url: esUrl, ...admin });
    await setup.init();
    await setup.close();
    console.log(`machine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}; Elasticsearch ${version}`);
    const cpu = hashingRate();
    console.log(`\nper event, one core: JSON.stringify ${fmt(cpu.stringify)}/s; stringify + parse + canonical JSON + SHA-256 ${fmt(cpu.chained)}/s`);
    console.log(`\ningest: ${ingestEvents} events a run in ${BATCH}-event OTLP/JSON requests from ${SENDERS} senders; chained and unchained alternate; median of ${runs} (min–max)\n`);
    console.log('| store | unchained events/s | chained events/s | cost |');
    console.log('| --- | --- | --- | --- |');
    // runs=0 skips the ingest comparison, a verify size of 0 skips that store.
    for (const kind of runs > 0 ? (['sqlite', 'elasticsearch'] as const) : []) {
      const rates = { off: [] as number[], on: [] as number[] };
      for (let r = 0; r < runs; r++) {
        for (const chained of [false, true]) {
          const dir = mkdtempSync(join(tmpdir(), 'bench-chain-store-'));
          const store: AuditStore =
            kind === 'elasticsearch' ? new ElasticsearchStore({ url: esUrl, ...writer, installTemplate: false }) : new SqliteStore({ path: join(dir, 'a.sqlite') });
          (chained ? rates.on : rates.off).push(await ingest(store, chained));
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        }
      }
      const [off, on] = [median(rates.off), median(rates.on)];
      const range = (xs: number[]) => `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;
      console.log(`| ${kind} | ${range(rates.off)} | ${range(rates.on)} | ${Math.round((1 - on / off) * 100)} % |`);
    }

    console.log('\nverify: one chain, a signed digest every 10,000 events\n');
    console.log('| store | events | verify events/s | seconds | RSS after |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const kind of ['sqlite', 'elasticsearch'] as const) {
      const total = kind === 'sqlite' ? sqliteVerify : esVerify;
      if (total === 0) continue;
      const dir = mkdtempSync(join(tmpdir(), 'bench-verify-'));
      // Each its own space: a fresh file, or (Elasticsearch) a fresh node's indices are shared, so the
      // range holds only this fill's events because ingest runs used other ids on the same days.
      const store: AuditStore =
        kind === 'elasticsearch' ? new ElasticsearchStore({ url: esUrl, ...admin, installTemplate: false }) : new SqliteStore({ path: join(dir, 'v.sqlite') });
      if (kind === 'elasticsearch') {
        // The ingest runs' events are in the same daily indices: start verification clean.
        // By name: the node refuses wildcard deletes (action.destructive_requires_name).
        const client = (store as ElasticsearchStore).client;
        const names = (await client.cat.indices({ index: 'audit-events-*,audit-digests*', format: 'json', h: ['index'] })) as { index: string }[];
        if (names.length > 0) await client.indices.delete({ index: names.map((n) => n.index) });
      }
      await fill(store, total);
      if (kind === 'elasticsearch') await (store as ElasticsearchStore).client.indices.refresh({ index: 'audit-events-*,audit-digests*' });
      const v = await verifyRate(store, total);
      console.log(`| ${kind} | ${fmt(total)} | ${fmt(v.rate)} | ${v.seconds.toFixed(1)} | ${Math.round(v.rss / 2 ** 20)} MiB |`);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
