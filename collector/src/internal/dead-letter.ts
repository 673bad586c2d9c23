import type { RejectedRecord } from '@otel-audit/store';

const REASON_MAX_CHARS = 2048;
const SERVICE_NAME_MAX_CHARS = 256;

/**
 * A dead letter no larger than `maxBytes` of stored JSON. A refused record was kept whole,
 * so a sender could turn one 10 MB message into a 10 MB row (and the memory to write it);
 * past the bound the record becomes `{ truncated: true, originalBytes, head }`, `head`
 * being the start of its JSON, which is what an operator needs to see who sent what.
 */
export function boundedDeadLetter(letter: RejectedRecord, maxBytes: number): RejectedRecord {
  const bounded: RejectedRecord = {
    ...letter,
    reason: clip(letter.reason, REASON_MAX_CHARS),
    serviceName: letter.serviceName === undefined ? undefined : clip(letter.serviceName, SERVICE_NAME_MAX_CHARS),
  };
  // The record as sent and the mapped record are bounded each: the second is what the
  // first decoded to, so a row holds at most twice the bound.
  if (letter.problems !== undefined) {
    bounded.problems = letter.problems.slice(0, PROBLEMS_MAX).map((p) => ({ field: clip(p.field, 256), problem: clip(p.problem, 1024) }));
  }
  if (letter.original !== undefined) bounded.original = boundedValue(letter.original, maxBytes);
  bounded.record = boundedValue(letter.record ?? null, maxBytes);
  return bounded;
}

const PROBLEMS_MAX = 20;

/** True for what boundedValue made of a value too large to keep: a truncated original cannot be replayed. */
export function isTruncated(value: unknown): value is { truncated: true; originalBytes: number; head: string } {
  return typeof value === 'object' && value !== null && (value as { truncated?: unknown }).truncated === true && 'head' in value;
}

function boundedValue(value: unknown, maxBytes: number): unknown {
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    // The record as sent is the decoder's own structure, with no depth bound (the mapped
    // record has one): a value nested 100,000 levels deep overflows the stack here. It is
    // kept as what it is, so the rejection is stored instead of failing the request.
    if (err instanceof RangeError) return { truncated: true, originalBytes: 0, head: '', note: 'nested too deeply to be written as JSON' };
    throw err;
  }
  const originalBytes = Buffer.byteLength(json);
  if (originalBytes <= maxBytes) return value;
  // Re-encoding the head as a JSON string escapes it again (quotes, control characters), so
  // shrink it until the stored form fits; two or three rounds at most.
  let headBytes = maxBytes;
  for (;;) {
    const truncated = { truncated: true, originalBytes, head: utf8Head(json, headBytes) };
    const size = Buffer.byteLength(JSON.stringify(truncated));
    if (size <= maxBytes || headBytes === 0) return truncated;
    headBytes = Math.max(0, Math.floor((headBytes * maxBytes) / size) - 64);
  }
}

/** The longest prefix of `text` that encodes to at most `bytes` UTF-8 bytes, never splitting a character. */
function utf8Head(text: string, bytes: number): string {
  const out = new Uint8Array(bytes);
  const { read } = new TextEncoder().encodeInto(text, out);
  return text.slice(0, read);
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}
