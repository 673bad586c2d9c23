import { createHash } from 'node:crypto';
import { DEFAULT_REDACT, redact, validateAuditEvent, type AuditEvent } from '@otel-audit/contract';
import type { DeadLetterProblem, RejectedRecord } from '@otel-audit/store';
import { CollectorError } from '../errors.js';
import type { Ingestor } from './ingest.js';
import type { CollectorMetrics } from './metrics.js';
import { redactOriginal } from './original-record.js';
import type { PartialSuccess } from './otlp-proto.js';
import type { ReceivedRecord } from './received-record.js';
import { actionRefusal, type Sender } from './sender-auth.js';

/** How many rejection reasons an answer's `error_message` carries, each at most REASON_MAX_CHARS. */
const REJECTION_SAMPLE = 5;
const REASON_MAX_CHARS = 512;

export interface ReceiveOutcome {
  received: number;
  rejected: number;
  /** Undefined when every record was accepted (the OTLP answer is then empty). */
  partialSuccess: PartialSuccess | undefined;
  /**
   * Each refused record by its index in `records`, with the reason: for receivers whose
   * answer counts something else than records (traces count spans).
   */
  refused: Array<{ index: number; reason: string }>;
}

/**
 * The one path from decoded OTLP records to the store, whatever carried them (OTLP/HTTP
 * logs today; every other receiver must come through here too, so that sender rules,
 * validation, dead letters and durability cannot differ between them).
 *
 * Resolves once every accepted record is in the store or fsynced in the spool and every
 * refused one is in the dead-letter store (or the spool); throws a CollectorError (503)
 * otherwise, and 403 when a sender writes for another service.
 */
export async function receiveRecords(
  records: readonly ReceivedRecord[],
  sender: Sender | undefined,
  deps: {
    ingestor: Ingestor;
    metrics: CollectorMetrics;
    /** CollectorOptions.redact; every receiver must pass the collector's, or its senders' secrets differ in what is stored. */
    redact?: RegExp | undefined;
  },
): Promise<ReceiveOutcome> {
  const { ingestor, metrics } = deps;
  const redactPattern = deps.redact ?? DEFAULT_REDACT;
  if (sender && records.some((r) => r.serviceName !== sender.service)) {
    throw new CollectorError('AUDIT_ERR_SENDER_FORBIDDEN', `this sender token may write only for service.name ${JSON.stringify(sender.service)}`);
  }
  metrics.received += records.length;
  const accepted: AuditEvent[] = [];
  const deadLetters: RejectedRecord[] = [];
  const receivedAt = new Date().toISOString();
  // `record <n>:` numbers a refused record by its place in the request, from 0, in the
  // order resourceLogs, scopeLogs, logRecords: the index a sender's batch has it at.
  const numbered: string[] = [];
  const refused: ReceiveOutcome['refused'] = [];
  const byService = new Map<string, { rejected: number; sample: string }>();
  for (const [index, record] of records.entries()) {
    const checked = checkRecord(record, sender, redactPattern);
    if (checked.ok) {
      accepted.push(checked.event);
      continue;
    }
    const { kind, candidate, reason, problems } = checked;
    metrics.reject(kind, 1, record.serviceName);
    // Built here, and only here: an accepted record's original is never made.
    const original = redactOriginal(record.original(), redactPattern);
    const prefix = kind === 'action_forbidden' ? 'forbidden' : 'contract';
    deadLetters.push({ id: `${prefix}-${sha256(JSON.stringify(candidate))}`, receivedAt, reason, serviceName: record.serviceName, record: candidate, original, problems });
    numbered.push(`record ${index}: ${clip(reason, REASON_MAX_CHARS)}`);
    refused.push({ index, reason });
    const service = sender?.service ?? record.serviceName ?? '';
    const seen = byService.get(service);
    if (seen) seen.rejected += 1;
    else byService.set(service, { rejected: 1, sample: reason });
  }
  await ingestor.ingest(accepted, deadLetters);
  // After the ingest: a warning names refusals that are in the dead-letter store.
  for (const [service, { rejected, sample }] of byService) ingestor.rejections.note(service, rejected, sample);
  const rejected = deadLetters.length;
  const more = numbered.length > REJECTION_SAMPLE ? [`and ${numbered.length - REJECTION_SAMPLE} more refused records`] : [];
  return {
    received: records.length,
    rejected,
    refused,
    partialSuccess: rejected === 0 ? undefined : { rejectedLogRecords: rejected, errorMessage: [...numbered.slice(0, REJECTION_SAMPLE), ...more].join('; ') },
  };
}

export type RecordCheck =
  | { ok: true; event: AuditEvent }
  | {
      ok: false;
      /** The metrics' reason label. */
      kind: 'action_forbidden' | 'contract';
      /** The record as mapped and redacted, for the dead letter. */
      candidate: Record<string, unknown>;
      reason: string;
      problems: DeadLetterProblem[];
    };

/**
 * One decoded record under today's rules: redaction, the sender's action rules, the time
 * unit and the contract. The collector runs it on every record it receives and `otel-audit
 * dead-letters replay` on every dead letter it replays, so the two cannot differ.
 */
export function checkRecord(record: ReceivedRecord, sender: Sender | undefined, redactPattern: RegExp = DEFAULT_REDACT): RecordCheck {
  // Redacted first, with the rule record() applies, so that a secret sent by any SDK
  // reaches neither the store nor a dead letter.
  const candidate = redact(record.candidate, redactPattern);
  // Per record, not per batch: a sender's other events are not lost because one was
  // not its to write, and the attempt stays visible in the dead letters.
  const refusal =
    typeof candidate.action === 'string'
      ? actionRefusal(candidate.action, sender ?? { service: record.serviceName ?? '', authenticated: false })
      : undefined;
  if (refusal) return { ok: false, kind: 'action_forbidden', candidate, reason: refusal, problems: [{ field: 'action', problem: refusal }] };
  // A time in seconds or milliseconds decodes to a valid 1970 date: only the raw value
  // shows the mistake, and the decoder read it there (timeProblemOf).
  const { timeProblem } = record;
  const result = validateAuditEvent(candidate);
  if (result.ok && !timeProblem) return { ok: true, event: result.event };
  const lines = [...(timeProblem ? [timeProblem] : []), ...(result.ok ? [] : result.problems)];
  return { ok: false, kind: 'contract', candidate, reason: lines.join(', '), problems: lines.map(problemOf) };
}

/** `actor.id: is required` → { field: 'actor.id', problem: 'is required' }; validation names the field first. */
function problemOf(line: string): DeadLetterProblem {
  const at = line.indexOf(': ');
  return at > 0 ? { field: line.slice(0, at), problem: line.slice(at + 2) } : { field: '(event)', problem: line };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
