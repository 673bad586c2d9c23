import type { QueuedEvent } from './queued-event.js';

/**
 * Records waiting for the collector's acknowledgement, oldest first. Delivery peeks a
 * batch, exports it, and acknowledges it only on success, so a failed export leaves the
 * batch at the head for the next try.
 */
export interface DeliveryQueue {
  readonly length: number;
  readonly bytes: number;
  /** False when appending a record of this size would pass the bounds. */
  hasRoom(bytes: number): boolean;
  /** `serialized` is the record as one JSON line (no newline); its length is its size. */
  append(record: QueuedEvent, serialized: string): void;
  peek(max: number): QueuedEvent[];
  /** Removes the `count` oldest records: the collector has them. */
  ack(count: number): void;
  close(): void;
}

export interface QueueBounds {
  maxRecords: number;
  maxBytes: number;
}

export class MemoryQueue implements DeliveryQueue {
  #records: { record: QueuedEvent; bytes: number }[] = [];
  #head = 0;
  bytes = 0;

  constructor(private readonly bounds: QueueBounds) {}

  get length(): number {
    return this.#records.length - this.#head;
  }

  hasRoom(bytes: number): boolean {
    return this.length < this.bounds.maxRecords && this.bytes + bytes <= this.bounds.maxBytes;
  }

  append(record: QueuedEvent, serialized: string): void {
    const bytes = serialized.length;
    this.#records.push({ record, bytes });
    this.bytes += bytes;
  }

  peek(max: number): QueuedEvent[] {
    return this.#records.slice(this.#head, this.#head + max).map((r) => r.record);
  }

  ack(count: number): void {
    for (let i = 0; i < count && this.#head < this.#records.length; i++) this.bytes -= this.#records[this.#head++]!.bytes;
    // Compact now and then rather than shift() per record (O(n) each).
    if (this.#head > 1024 && this.#head * 2 > this.#records.length) {
      this.#records = this.#records.slice(this.#head);
      this.#head = 0;
    }
  }

  close(): void {}
}
