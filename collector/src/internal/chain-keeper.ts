import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { HashChain, GENESIS_HASH, signRecord, type AuditStore, type ChainDigest, type DigestSigner, type SignedDigest } from '@otel-audit/store';

export interface IntegrityOptions {
  /**
   * Where this instance keeps its chain id (`chain-id`): the collector's data folder, so
   * the id survives restarts; a replica with its own folder has its own chain.
   */
  stateDir: string;
  /** Signs the digests; its private key never goes into the store. */
  signer: DigestSigner;
  /** A digest at least this often while there are undigested events. Default: 60000 ms. */
  digestIntervalMillis?: number;
  /** … and as soon as this many positions are undigested. Default: 10000. */
  digestEvents?: number;
}

export const INTEGRITY_DEFAULTS = { digestIntervalMillis: 60_000, digestEvents: 10_000 } as const;

const CHAIN_ID_FILE = 'chain-id';

/** This instance's chain id: read from the state folder, or made once and kept there. */
export function chainIdIn(stateDir: string): string {
  const file = join(stateDir, CHAIN_ID_FILE);
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (id) return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(stateDir, { recursive: true });
  const id = randomUUID();
  // Written whole or not at all: a torn id file would start a second chain.
  writeFileSync(`${file}.tmp`, `${id}\n`, { flush: true });
  renameSync(`${file}.tmp`, file);
  return id;
}

/**
 * The chain of this collector and its signed digests. The head comes back from the store
 * on start (highest seq of this chain id, or the last digest if that is higher), so a
 * restart or a spool replay continues the chain instead of starting another.
 */
export class ChainKeeper {
  readonly #store: AuditStore;
  readonly #o: Required<IntegrityOptions>;
  readonly #log: FastifyBaseLogger;
  readonly ready: Promise<HashChain>;
  #chain: HashChain | undefined;
  #previousSignature: string | null = null;
  /** Signed but not yet stored, oldest first: rewritten as they are (same id) until the store takes them. */
  readonly #unwritten: SignedDigest[] = [];
  #writing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(store: AuditStore, opts: IntegrityOptions, log: FastifyBaseLogger) {
    this.#store = store;
    this.#o = { ...INTEGRITY_DEFAULTS, ...opts };
    this.#log = log;
    const id = chainIdIn(opts.stateDir);
    this.ready = this.#recover(id);
    // Never rejected: recovery retries until the store answers (events wait in the spool).
    this.ready.then(
      (chain) => {
        this.#chain = chain;
        this.#timer = setInterval(() => void this.digest(), this.#o.digestIntervalMillis);
        this.#timer.unref();
      },
      () => undefined,
    );
  }

  async #recover(id: string): Promise<HashChain> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const latest = await this.#store.latestDigest(id);
        const afterSeq = latest?.lastSeq ?? 0;
        const tail = await this.#store.chainTail(id, afterSeq);
        this.#previousSignature = latest?.signature ?? null;
        if (tail && tail.lastSeq > afterSeq) {
          this.#log.info({ chainId: id, seq: tail.lastSeq, undigested: tail.lastSeq - afterSeq }, 'hash chain continues');
          return new HashChain(id, { seq: tail.lastSeq, hash: tail.lastHash }, {
            chainId: id,
            firstSeq: afterSeq + 1,
            lastSeq: tail.lastSeq,
            lastHash: tail.lastHash,
            count: tail.lastSeq - afterSeq,
            eventTimeFrom: tail.eventTimeFrom!,
            eventTimeTo: tail.eventTimeTo!,
            voided: [],
          });
        }
        this.#log.info({ chainId: id, seq: afterSeq }, latest ? 'hash chain continues' : 'hash chain starts');
        return new HashChain(id, latest ? { seq: latest.lastSeq, hash: latest.lastHash } : { seq: 0, hash: GENESIS_HASH });
      } catch (err) {
        if (this.#stopped) throw err;
        this.#log.warn({ err: String(err), chainId: id }, 'cannot recover the hash chain head yet; events are spooled meanwhile');
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 500 * 2 ** attempt)));
      }
    }
  }

  /** After each chained write: a digest as soon as enough positions wait for one. */
  afterInsert(): void {
    if (this.#chain && this.#chain.pending >= this.#o.digestEvents) void this.digest();
  }

  /** Signs and stores a digest of what is undigested; one at a time, in order. */
  digest(): Promise<void> {
    const run = this.#writing.then(() => this.#digestNow());
    this.#writing = run.catch((err: unknown) => this.#log.warn({ err: String(err) }, 'digest not written yet; retried with the next one'));
    return this.#writing;
  }

  async #digestNow(): Promise<void> {
    const span = this.#chain?.takeSpan();
    if (span) {
      const digest: ChainDigest = {
        ...span,
        digestTime: new Date().toISOString(),
        previousSignature: this.#previousSignature,
        keyId: this.#o.signer.keyId,
        algorithm: 'Ed25519',
      };
      let signed: SignedDigest;
      try {
        signed = await signRecord(digest, this.#o.signer);
      } catch (err) {
        // A remote signer that did not answer: the span waits for the next digest.
        this.#chain!.restoreSpan(span);
        throw err;
      }
      this.#previousSignature = signed.signature;
      this.#unwritten.push(signed);
    }
    while (this.#unwritten.length > 0) {
      await this.#store.insertDigest(this.#unwritten[0]!);
      this.#unwritten.shift();
    }
  }

  /** Writes a last digest of what is undigested. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    if (this.#chain) await this.digest();
  }
}
