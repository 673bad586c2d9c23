import type { ExportResult } from '@opentelemetry/core';

/** What the SDK's log record and span exporters have in common. */
interface Exporter<T> {
  export(items: T[], done: (result: ExportResult) => void): void;
  forceFlush?(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * The SDK's processors swallow export results; this wraps an OTLP exporter (logs or spans)
 * and keeps them, so a test can tell what the exporter concluded.
 */
export class ResultKeepingExporter<T> implements Exporter<T> {
  readonly results: ExportResult[] = [];
  readonly #inner: Exporter<T>;

  constructor(inner: Exporter<T>) {
    this.#inner = inner;
  }

  export(items: T[], done: (result: ExportResult) => void): void {
    this.#inner.export(items, (result) => {
      this.results.push(result);
      done(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}
