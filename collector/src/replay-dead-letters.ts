import { DEFAULT_REDACT, redact, validateAuditEvent, type AuditEvent } from '@otel-audit/contract';
import type { AuditStore, RejectedRecord } from '@otel-audit/store';
import { isTruncated } from './internal/dead-letter.js';
import { decodeOtlpJson } from './internal/otlp-json.js';
import { checkRecord } from './internal/receive-records.js';

export interface ReplayResult {
  /** The dead letter's id. */
  id: string;
  /**
   * `stored`: it passes today and was created; `duplicate`: it passes and its event id was
   * already stored (an earlier replay); `refused`: it still fails (`reason`); `impossible`:
   * nothing replayable was kept (`reason` says why); `failed`: the store refused the write.
   */
  status: 'stored' | 'duplicate' | 'refused' | 'impossible' | 'failed';
  eventId?: string | undefined;
  reason?: string | undefined;
}

/**
 * Runs dead letters through today's contract again and stores the events that pass,
 * create-only: a second replay of the same letter is a duplicate, harmless. Dead letters
 * stay where they are (the store is create-only, and they are the record of what was
 * refused and when). The record as sent is decoded and checked exactly as the collector
 * checks a received record (checkRecord), with no sender token: reserved actions are
 * refused as from a sender whose tokens are off. Letters from before the record as sent
 * was kept are replayed from the mapped record they hold. Events are stored without a
 * chain position: do not replay into a store a chaining collector writes (the CLI refuses).
 */
export async function replayDeadLetters(
  store: AuditStore,
  letters: readonly RejectedRecord[],
  opts: { redact?: RegExp } = {},
): Promise<ReplayResult[]> {
  const pattern = opts.redact ?? DEFAULT_REDACT;
  const results: ReplayResult[] = [];
  const passing: { letter: RejectedRecord; event: AuditEvent }[] = [];
  for (const letter of letters) {
    const checked = check(letter, pattern);
    if ('event' in checked) passing.push({ letter, event: checked.event });
    else results.push({ id: letter.id, ...checked });
  }
  // One write per event: the store answers counts, and each letter needs its own answer.
  for (const { letter, event } of passing) {
    const outcome = await store.insert([event]);
    const failure = outcome.failed[0];
    if (failure) results.push({ id: letter.id, status: 'failed', eventId: event.id, reason: failure.reason });
    else results.push({ id: letter.id, status: outcome.created === 1 ? 'stored' : 'duplicate', eventId: event.id });
  }
  return results;
}

function check(letter: RejectedRecord, pattern: RegExp): { event: AuditEvent } | { status: 'refused' | 'impossible'; reason: string } {
  if (isTruncated(letter.original)) {
    return { status: 'impossible', reason: `the record as sent was ${letter.original.originalBytes} bytes, over the dead-letter bound, and was kept truncated` };
  }
  if (letter.original === undefined) {
    // Kept before issue 14, or refused by the store after validation: the mapped record is all there is.
    if (isTruncated(letter.record)) return { status: 'impossible', reason: 'the record was kept truncated and nothing else of it was kept' };
    const candidate = letter.record;
    if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) return { status: 'impossible', reason: 'no record was kept' };
    const result = validateAuditEvent(redact(candidate as Record<string, unknown>, pattern));
    return result.ok ? { event: result.event } : { status: 'refused', reason: result.problems.join(', ') };
  }
  let records;
  try {
    records = decodeOtlpJson(letter.original, 'dead-letter');
  } catch (err) {
    return { status: 'impossible', reason: (err as Error).message };
  }
  if (records.length !== 1) return { status: 'impossible', reason: `the record as sent holds ${records.length} log records, not one` };
  const checked = checkRecord(records[0]!, undefined, pattern);
  return checked.ok ? { event: checked.event } : { status: 'refused', reason: checked.reason };
}
