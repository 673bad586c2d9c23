import type { KeyObject } from 'node:crypto';
import type { AuditStore } from './audit-store.js';
import { checkSignature, type SignedDigest } from './digest-signing.js';
import { walkChain } from './internal/walk-chain.js';

/** One finding of `verifyIntegrity`; `kind` is stable for machines, `message` is for people. */
export type IntegrityProblem =
  | { kind: 'modified'; chainId: string; seq: number; id: string; message: string }
  | { kind: 'rewritten'; chainId: string; firstSeq: number; lastSeq: number; message: string }
  | { kind: 'deleted'; chainId: string; firstSeq: number; lastSeq: number; message: string }
  | { kind: 'gap'; chainId: string; firstSeq: number; lastSeq: number; message: string }
  | { kind: 'inserted'; chainId?: string; seq?: number; id: string; message: string }
  | { kind: 'reordered'; chainId: string; seqs: [number, number]; ids: [string, string]; message: string }
  | { kind: 'bad-signature' | 'unknown-key' | 'broken-link'; chainId: string; lastSeq: number; message: string };

export interface IntegrityReport {
  ok: boolean;
  from: string;
  to: string;
  chains: { id: string; firstSeq: number; lastSeq: number; events: number; digests: number; undigested: number }[];
  events: number;
  digests: number;
  seconds: number;
  eventsPerSecond: number;
  problems: IntegrityProblem[];
  /** Not failures: events after a chain's last digest are only as good as the chain until the next digest signs them. */
  warnings: string[];
}

export interface VerifyOptions {
  from: Date;
  to: Date;
  /** Public keys by key id (`publicKeyRing`). */
  keys: ReadonlyMap<string, KeyObject>;
  /** Findings kept in the report; the count goes on past it. Default: 1000. */
  maxProblems?: number;
  signal?: AbortSignal;
}

/**
 * Walks every chain that has events or digests in [from, to): the digests first (signature,
 * key, link to the previous digest, continuity of positions), then the chain's events in seq
 * order from the first such digest, recomputing each hash. Memory does not grow with the
 * number of events: only the digests of the range and the (rare) mismatches are held.
 */
export async function verifyIntegrity(store: AuditStore, opts: VerifyOptions): Promise<IntegrityReport> {
  const started = performance.now();
  const maxProblems = opts.maxProblems ?? 1000;
  const problems: IntegrityProblem[] = [];
  let problemCount = 0;
  const report = (p: IntegrityProblem) => {
    problemCount += 1;
    if (problems.length < maxProblems) problems.push(p);
  };
  const warnings: string[] = [];
  const chains: IntegrityReport['chains'] = [];
  const from = opts.from.getTime();
  const to = opts.to.getTime();

  // Digests by chain, with the one just before the range (its signature is the first link).
  const byChain = new Map<string, SignedDigest[]>();
  const lastOf = new Map<string, SignedDigest>();
  let previous: SignedDigest | undefined;
  let digestCount = 0;
  for await (const d of store.digests(undefined, opts.signal)) {
    if (previous?.chainId !== d.chainId) previous = undefined;
    const inRange = Date.parse(d.eventTimeTo) >= from && Date.parse(d.eventTimeFrom) < to;
    const list = byChain.get(d.chainId) ?? [];
    // Digests after the range still pin the last positions of the range's events.
    if (inRange || list.length > 0) {
      if (list.length === 0 && previous) list.push(previous);
      list.push(d);
      byChain.set(d.chainId, list);
    }
    previous = d;
    lastOf.set(d.chainId, d);
  }
  const chainIds = new Set([...byChain.keys(), ...(await store.chainIds({ from: opts.from, to: opts.to }))]);

  let events = 0;
  for (const chainId of [...chainIds].sort()) {
    // A chain whose events in the range all came after its last digest starts from that digest.
    const last = lastOf.get(chainId);
    const digests = byChain.get(chainId) ?? (last ? [last] : []);
    digestCount += digests.length;
    checkDigests(chainId, digests, opts.keys, report);
    const result = await walkChain(store, chainId, digests, report, opts.signal);
    events += result.events;
    chains.push({ id: chainId, firstSeq: result.firstSeq, lastSeq: result.lastSeq, events: result.events, digests: digests.length, undigested: result.undigested });
    if (result.undigested > 0) {
      warnings.push(`chain ${chainId}: ${result.undigested} event(s) after seq ${digests.at(-1)?.lastSeq ?? 0} are not yet covered by a signed digest`);
    }
  }

  for await (const event of store.unchained({ from: opts.from, to: opts.to }, opts.signal)) {
    events += 1;
    report({ kind: 'inserted', id: event.id, message: `event ${event.id} (${event.time}) has no chain position: it was not stored through a chaining collector` });
  }

  const seconds = (performance.now() - started) / 1000;
  if (problemCount > problems.length) warnings.push(`${problemCount - problems.length} more problem(s) not listed`);
  return {
    ok: problemCount === 0,
    from: opts.from.toISOString(),
    to: opts.to.toISOString(),
    chains,
    events,
    digests: digestCount,
    seconds,
    eventsPerSecond: seconds > 0 ? Math.round(events / seconds) : events,
    problems,
    warnings,
  };
}

function checkDigests(chainId: string, digests: readonly SignedDigest[], keys: ReadonlyMap<string, KeyObject>, report: (p: IntegrityProblem) => void): void {
  digests.forEach((d, i) => {
    const signature = checkSignature(d, keys);
    if (signature === 'unknown-key') {
      report({ kind: 'unknown-key', chainId, lastSeq: d.lastSeq, message: `digest of ${chainId} seq ${d.firstSeq}-${d.lastSeq} is signed with key ${d.keyId}, which was not given` });
    } else if (signature === 'bad-signature') {
      report({ kind: 'bad-signature', chainId, lastSeq: d.lastSeq, message: `digest of ${chainId} seq ${d.firstSeq}-${d.lastSeq}: the signature does not verify (the digest was altered or forged)` });
    }
    const before = digests[i - 1];
    if (i === 0 && d.firstSeq === 1 && d.previousSignature !== null) {
      report({ kind: 'broken-link', chainId, lastSeq: d.lastSeq, message: `digest of ${chainId} seq 1-${d.lastSeq} names a previous digest, but it is the chain's first` });
    }
    if (i === 0 && d.firstSeq > 1 && d.previousSignature === null) {
      report({ kind: 'broken-link', chainId, lastSeq: d.lastSeq, message: `the digests of ${chainId} before seq ${d.firstSeq} are missing` });
    }
    if (!before) return;
    if (d.previousSignature !== before.signature) {
      report({ kind: 'broken-link', chainId, lastSeq: d.lastSeq, message: `digest of ${chainId} seq ${d.firstSeq}-${d.lastSeq} does not link to the digest before it (seq ${before.firstSeq}-${before.lastSeq}): a digest was removed or replaced` });
    } else if (d.firstSeq !== before.lastSeq + 1) {
      report({ kind: 'broken-link', chainId, lastSeq: d.lastSeq, message: `digest of ${chainId} starts at seq ${d.firstSeq}, the one before it ended at ${before.lastSeq}` });
    }
  });
}
