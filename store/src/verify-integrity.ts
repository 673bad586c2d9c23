import type { KeyObject } from 'node:crypto';
import type { AuditStore } from './audit-store.js';
import { checkSignature, type SignedDigest } from './digest-signing.js';
import { GENESIS_HASH, canonicalEvent, chainHash, type ChainedEvent } from './hash-chain.js';

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

/** How far apart two swapped positions may be and still be named as a swap. */
const SWAP_WINDOW = 16;

interface Mismatch {
  seq: number;
  id: string;
  canonical: string;
  previousHash: string;
  storedHash: string;
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

/** Recomputes one chain from its first digest of the range (or seq 1) to its end. */
async function walkChain(
  store: AuditStore,
  chainId: string,
  digests: readonly SignedDigest[],
  report: (p: IntegrityProblem) => void,
  signal: AbortSignal | undefined,
): Promise<{ events: number; firstSeq: number; lastSeq: number; undigested: number }> {
  const firstSeq = digests[0]?.firstSeq ?? 1;
  // The hash before firstSeq: from the digest that ended there (its predecessor's), or genesis.
  let previousHash: string | undefined = firstSeq === 1 ? GENESIS_HASH : undefined;
  const voided = new Map<number, string>();
  for (const d of digests) for (const v of d.voided) voided.set(v.seq, v.hash);
  const lastDigested = digests.at(-1)?.lastSeq ?? 0;
  let nextDigest = 0;
  let expected = firstSeq;
  let events = 0;
  let undigested = 0;
  const mismatches: Mismatch[] = [];
  let missingFrom: number | undefined;
  // A digest is checked once the walk has passed its last position: the running hash must be its lastHash.
  const passDigests = (upTo: number) => {
    while (nextDigest < digests.length && digests[nextDigest]!.lastSeq <= upTo) {
      const d = digests[nextDigest++]!;
      if (previousHash !== undefined && d.lastSeq === upTo && previousHash !== d.lastHash && d.firstSeq >= firstSeq) {
        report({
          kind: 'rewritten',
          chainId,
          firstSeq: d.firstSeq,
          lastSeq: d.lastSeq,
          message: `chain ${chainId} seq ${d.firstSeq}-${d.lastSeq}: the events link up but do not end at the signed hash: they were rewritten and the chain recomputed`,
        });
        previousHash = d.lastHash;
      }
    }
  };
  const closeMissing = (before: number) => {
    if (missingFrom === undefined) return;
    const last = before - 1;
    const covered = Math.min(last, lastDigested);
    if (missingFrom <= covered) {
      report({ kind: 'deleted', chainId, firstSeq: missingFrom, lastSeq: covered, message: `chain ${chainId} seq ${range(missingFrom, covered)}: deleted (a signed digest covers ${covered === missingFrom ? 'it' : 'them'})` });
    }
    if (last > lastDigested) {
      const start = Math.max(missingFrom, lastDigested + 1);
      report({ kind: 'gap', chainId, firstSeq: start, lastSeq: last, message: `chain ${chainId} seq ${range(start, last)}: missing (not yet covered by a digest)` });
    }
    missingFrom = undefined;
    previousHash = undefined;
  };

  let group: ChainedEvent[] = [];
  const settle = () => {
    if (group.length === 0) return;
    const seq = group[0]!.chain!.seq;
    group = group.filter((g) => {
      if (seq >= expected) return true;
      // A position already passed: an event claiming it was put there later.
      report({ kind: 'inserted', chainId, seq, id: g.event.id, message: `event ${g.event.id} claims chain ${chainId} seq ${seq}, which is taken: inserted` });
      return false;
    });
    if (group.length === 0) return;
    for (; expected < seq; expected += 1) {
      const hash = voided.get(expected);
      if (hash !== undefined && missingFrom === undefined) {
        previousHash = hash;
        passDigests(expected);
        continue;
      }
      missingFrom ??= expected;
      // Nothing to compare a digest ending here with: the deletion is the finding.
      previousHash = undefined;
      passDigests(expected);
    }
    closeMissing(seq);
    const candidates = group.map((g) => ({ g, canonical: canonicalEvent(g.event) }));
    const genuine =
      previousHash === undefined
        ? candidates[0]!
        : (candidates.find((c) => chainHash(c.canonical, previousHash!) === c.g.chain!.hash) ?? candidates[0]!);
    for (const c of candidates) {
      if (c === genuine) continue;
      report({ kind: 'inserted', chainId, seq, id: c.g.event.id, message: `event ${c.g.event.id} claims chain ${chainId} seq ${seq}, which event ${genuine.g.event.id} holds: inserted` });
    }
    if (previousHash !== undefined && chainHash(genuine.canonical, previousHash) !== genuine.g.chain!.hash) {
      mismatches.push({ seq, id: genuine.g.event.id, canonical: genuine.canonical, previousHash, storedHash: genuine.g.chain!.hash });
      // Memory stays bounded on a chain that is corrupt throughout: older mismatches are
      // reported as they fall out of the window in which a swap could still pair them.
      if (mismatches.length >= 4096) {
        const settled = mismatches.filter((m) => m.seq <= seq - SWAP_WINDOW);
        reportMismatches(chainId, settled, report);
        mismatches.splice(0, settled.length);
      }
    }
    // On from the stored hash: one altered event is one finding, not every event after it.
    previousHash = genuine.g.chain!.hash;
    passDigests(seq);
    expected = seq + 1;
    group = [];
  };

  for await (const item of store.queryChain(chainId, firstSeq, undefined, signal)) {
    events += 1;
    if (item.chain!.seq > lastDigested) undigested += 1;
    if (group.length > 0 && group[0]!.chain!.seq !== item.chain!.seq) settle();
    group.push(item);
  }
  settle();
  // Positions a digest covers but no event holds, at the end.
  for (; expected <= lastDigested; expected += 1) {
    if (voided.has(expected) && missingFrom === undefined) {
      previousHash = voided.get(expected);
      passDigests(expected);
    } else {
      missingFrom ??= expected;
      previousHash = undefined;
      passDigests(expected);
    }
  }
  closeMissing(expected);
  reportMismatches(chainId, mismatches, report);
  return { events, firstSeq, lastSeq: expected - 1, undigested };
}

/** Two mismatches that each verify at the other's position are a swap; the rest were modified. */
function reportMismatches(chainId: string, mismatches: Mismatch[], report: (p: IntegrityProblem) => void): void {
  const swapped = new Set<Mismatch>();
  for (let i = 0; i < mismatches.length; i += 1) {
    const a = mismatches[i]!;
    if (swapped.has(a)) continue;
    for (let j = i + 1; j < mismatches.length && mismatches[j]!.seq - a.seq <= SWAP_WINDOW; j += 1) {
      const b = mismatches[j]!;
      if (swapped.has(b)) continue;
      if (chainHash(a.canonical, b.previousHash) === b.storedHash && chainHash(b.canonical, a.previousHash) === a.storedHash) {
        swapped.add(a).add(b);
        report({
          kind: 'reordered',
          chainId,
          seqs: [a.seq, b.seq],
          ids: [a.id, b.id],
          message: `chain ${chainId}: events ${a.id} and ${b.id} have swapped positions (seq ${a.seq} and ${b.seq})`,
        });
        break;
      }
    }
  }
  for (const m of mismatches) {
    if (swapped.has(m)) continue;
    report({ kind: 'modified', chainId, seq: m.seq, id: m.id, message: `chain ${chainId} seq ${m.seq}: event ${m.id} was modified (its hash does not match its content)` });
  }
}

function range(a: number, b: number): string {
  return a === b ? String(a) : `${a}-${b}`;
}
