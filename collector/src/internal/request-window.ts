/**
 * Requests per key in fixed one-minute windows, the rule @fastify/rate-limit applies to
 * OTLP/HTTP, for the receivers that plugin cannot guard (gRPC). Its own counters: a sender
 * on both transports gets the limit on each.
 */
export class RequestWindow {
  readonly #windows = new Map<string, { start: number; count: number }>();

  /**
   * @param max requests a key may make per window; 0: no limit.
   * @param maxKeys counters kept; the oldest go first, so a flood of addresses cannot grow
   *   the map without end (the HTTP limiter's LRU holds as many).
   */
  constructor(
    private readonly max: number,
    private readonly windowMillis = 60_000,
    private readonly maxKeys = 10_000,
  ) {}

  /** Counts one request; undefined when it may proceed, else the milliseconds until its window ends. */
  take(key: string, now = Date.now()): number | undefined {
    if (this.max <= 0) return undefined;
    let window = this.#windows.get(key);
    if (!window || now - window.start >= this.windowMillis) {
      window = { start: now, count: 0 };
      // Re-inserted, so the map's order is the order of last window start: oldest first.
      this.#windows.delete(key);
      this.#windows.set(key, window);
      if (this.#windows.size > this.maxKeys) this.#windows.delete(this.#windows.keys().next().value!);
    }
    window.count += 1;
    return window.count > this.max ? window.start + this.windowMillis - now : undefined;
  }
}
