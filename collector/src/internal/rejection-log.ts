import type { FastifyBaseLogger } from 'fastify';

/** Senders remembered at once; past it, windows of earlier minutes are forgotten. */
const MAX_SENDERS = 10_000;

/**
 * One warning per sender per minute for refused records, with how many and a sample
 * reason: an operator learns that a service sends what the contract refuses, and a
 * sender refusing thousands a second cannot flood the log. Records refused while quiet
 * are counted and reported with the sender's next warning.
 */
export class RejectionLog {
  readonly #log: FastifyBaseLogger;
  readonly #now: () => number;
  readonly #windows = new Map<string, { minute: number; unreported: number }>();

  constructor(log: FastifyBaseLogger, now: () => number = Date.now) {
    this.#log = log;
    this.#now = now;
  }

  note(service: string, rejected: number, sampleReason: string): void {
    const minute = Math.floor(this.#now() / 60_000);
    const window = this.#windows.get(service);
    if (window && window.minute === minute) {
      window.unreported += rejected;
      return;
    }
    if (!window && this.#windows.size >= MAX_SENDERS) this.#forgetBefore(minute);
    this.#log.warn(
      { service, rejected, reason: sampleReason, ...(window && window.unreported > 0 ? { rejectedUnreported: window.unreported } : {}) },
      'records refused; they are in the dead-letter store (otel-audit dead-letters list)',
    );
    this.#windows.set(service, { minute, unreported: 0 });
  }

  #forgetBefore(minute: number): void {
    for (const [service, w] of this.#windows) if (w.minute < minute) this.#windows.delete(service);
    // Ten thousand senders in one minute: forgetting all costs at most one extra line each.
    if (this.#windows.size >= MAX_SENDERS) this.#windows.clear();
  }
}
