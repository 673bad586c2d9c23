/**
 * Bytes allocated per event on the store's side of the ingest path, before and after the
 * one-pass path of issue 15: from a validated event to what the store writes (the document
 * and bulk lines for Elasticsearch, the row for SQLite) and, chained, the canonical bytes
 * the hash is taken of. "before" is the code this replaced, kept here verbatim in its calls:
 * toDocument → the client's JSON serialisation of action and document, canonical JSON of
 * fromDocument(doc) (Elasticsearch); JSON.stringify, then canonical JSON of
 * JSON.parse(doc) (SQLite).
 *
 *   npm run build && node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 --import tsx bench/ingest-allocations.ts
 *
 * Allocation is read as the growth of the heap over a batch during which no garbage
 * collection ran (a PerformanceObserver watches for one; a batch that saw one is measured
 * again), so nothing allocated is hidden by being freed. BENCH_EVENTS events (512) per
 * batch, BENCH_REPEATS batches (9), the median kept.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import type { AuditEvent } from '@otel-audit/contract';
import { chainHash } from '@otel-audit/store';
import { canonicalJson } from '../store/dist/internal/canonical-json.js';
import { fromDocument, indexFor, toDocument } from '../store/dist/internal/ecs-document.js';
import { createLine, documentCanonical, documentLine } from '../store/dist/internal/ecs-document-line.js';
import { canonicalOfStored, eventRow } from '../store/dist/internal/sqlite-event-writer.js';
import { EventSource } from './generate-events.js';
import { median } from './support/stats.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 512);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 9);
const HASH = '0'.repeat(64);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (see the header)');

let collections = 0;
new PerformanceObserver((list) => (collections += list.getEntries().length)).observe({ entryTypes: ['gc'] });

const paths: Record<string, (e: AuditEvent) => unknown> = {
  'Elasticsearch, before: toDocument, client serialises, canonical(fromDocument(doc))': (e) => {
    const doc = toDocument(e);
    const canonical = canonicalJson(fromDocument(doc));
    const hash = chainHash(canonical, HASH);
    (doc.audit as Record<string, unknown>).chain = { id: 'c', seq: 1, hash };
    return `${JSON.stringify({ create: { _index: indexFor(e.time), _id: e.id } })}\n${JSON.stringify(doc)}\n`;
  },
  'Elasticsearch, after: documentCanonical, documentLine': (e) => {
    const hash = chainHash(documentCanonical(e), HASH);
    return `${createLine(indexFor(e.time), e.id)}\n${documentLine(e, { id: 'c', seq: 1, hash })}\n`;
  },
  'SQLite, before: JSON.stringify, canonical(JSON.parse(doc))': (e) => {
    const doc = JSON.stringify(e);
    return eventRow(e, doc, { id: 'c', seq: 1, hash: chainHash(canonicalJson(JSON.parse(doc)), HASH) });
  },
  'SQLite, after: JSON.stringify, canonical(e)': (e) => {
    const doc = JSON.stringify(e);
    return eventRow(e, doc, { id: 'c', seq: 1, hash: chainHash(canonicalOfStored(e, doc), HASH) });
  },
};

async function measure(fn: (e: AuditEvent) => unknown, events: AuditEvent[]): Promise<{ bytes: number; micros: number }> {
  for (;;) {
    const forced = collections;
    gc!();
    // The forced collection's own entry arrives on a later turn too: wait for it.
    for (let turn = 0; collections === forced && turn < 100; turn++) await new Promise((resolve) => setTimeout(resolve, 1));
    const kept: unknown[] = new Array(events.length);
    const seen = collections;
    const before = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    for (let i = 0; i < events.length; i++) kept[i] = fn(events[i]!);
    const micros = ((performance.now() - t0) * 1000) / events.length;
    const bytes = (process.memoryUsage().heapUsed - before) / events.length;
    kept.length = 0;
    // The observer is told of a collection on a later turn: let it speak before trusting the batch.
    await new Promise((resolve) => setImmediate(resolve));
    if (collections === seen) return { bytes, micros };
    if (process.env.BENCH_DEBUG) console.error(`a collection during the batch (${collections - seen}); measuring again`);
  }
}

const source = new EventSource(1, EVENTS * (REPEATS + 1));
const events = source.take(EVENTS).map((e) => ({ ...e, service: { name: 'bench' } }));
for (const fn of Object.values(paths)) for (let i = 0; i < 3; i++) await measure(fn, events);
console.log('| path | bytes allocated per event (median) | µs per event (median) |');
console.log('| --- | ---: | ---: |');
for (const [label, fn] of Object.entries(paths)) {
  const runs = [];
  for (let i = 0; i < REPEATS; i++) runs.push(await measure(fn, events));
  console.log(`| ${label} | ${Math.round(median(runs.map((r) => r.bytes))).toLocaleString('en-US')} | ${median(runs.map((r) => r.micros)).toFixed(1)} |`);
}
