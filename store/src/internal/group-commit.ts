/**
 * Group commit: what concurrent callers submit in one turn of the event loop is written by
 * one synchronous `commit` (one SQLite transaction, one fsync of the WAL), and each caller
 * is settled only after that commit returned. With `synchronous = FULL` the fsync, not the
 * rows, is what a small request costs: one per request held the SQLite collector at about
 * 22k events/s from four senders (bench/RESULTS.md, issue 15).
 *
 * Why one turn, and no timer: the commit blocks the thread, so the requests that arrive
 * during an fsync wait in the kernel's socket buffers and are all parsed in the next poll
 * phase, before the `setImmediate` that flushes them runs. The group grows with the load by
 * itself, and a lone request waits for nothing.
 */
export class GroupCommit<In, Out> {
  readonly #commit: (inputs: readonly In[]) => Out[];
  #queue: { input: In; resolve: (out: Out) => void; reject: (err: unknown) => void }[] = [];
  #scheduled = false;

  /** `commit` writes every input or none (it throws), and returns one result per input, in order. */
  constructor(commit: (inputs: readonly In[]) => Out[]) {
    this.#commit = commit;
  }

  submit(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#queue.push({ input, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const group = this.#queue;
    this.#queue = [];
    let results: Out[];
    try {
      results = this.#commit(group.map((g) => g.input));
    } catch (err) {
      // Rolled back as a whole. One caller's bad input must not fail the others that merely
      // shared its turn: each is committed again on its own, so exactly the failing
      // callers learn of a failure (a lone caller's failure is final).
      if (group.length === 1) {
        group[0]!.reject(err);
        return;
      }
      for (const g of group) {
        try {
          g.resolve(this.#commit([g.input])[0]!);
        } catch (own) {
          g.reject(own);
        }
      }
      return;
    }
    group.forEach((g, i) => g.resolve(results[i]!));
  }
}
