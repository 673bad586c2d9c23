import type { AuditStore } from '../audit-store.js';
import type { SignedDigest } from '../digest-signing.js';
import { GENESIS_HASH, canonicalEvent, chainHash, type ChainedEvent } from '../hash-chain.js';
import type { IntegrityProblem } from '../verify-integrity.js';

/** How far apart two swapped positions may be and still be named as a swap. */
const SWAP_WINDOW = 16;

interface Mismatch {
  seq: number;
  id: string;
  canonical: string;
  previousHash: string;
  storedHash: string;
}

/** Recomputes one chain from its first digest of the range (or seq 1) to its end. */
export async function walkChain(
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
