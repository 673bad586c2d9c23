import { createHash } from 'node:crypto';
import { fromLogRecord, validateAuditEvent, type AuditEvent, type ReceivedLogRecord } from '@otel-audit/contract';
import type { RejectedRecord } from '@otel-audit/store';
import { CollectorError } from '../errors.js';
import type { Ingestor } from './ingest.js';
import type { CollectorMetrics } from './metrics.js';
import type { PartialSuccess } from './otlp-proto.js';
import { actionRefusal, type Sender } from './sender-auth.js';

/** How many rejection reasons an answer's `error_message` carries. */
const REJECTION_SAMPLE = 5;

export interface ReceiveOutcome {
  received: number;
  rejected: number;
  /** Undefined when every record was accepted (the OTLP answer is then empty). */
  partialSuccess: PartialSuccess | undefined;
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
  records: readonly ReceivedLogRecord[],
  sender: Sender | undefined,
  deps: { ingestor: Ingestor; metrics: CollectorMetrics },
): Promise<ReceiveOutcome> {
  const { ingestor, metrics } = deps;
  if (sender && records.some((r) => r.serviceName !== sender.service)) {
    throw new CollectorError('AUDIT_ERR_SENDER_FORBIDDEN', `this sender token may write only for service.name ${JSON.stringify(sender.service)}`);
  }
  metrics.received += records.length;
  const accepted: AuditEvent[] = [];
  const deadLetters: RejectedRecord[] = [];
  const receivedAt = new Date().toISOString();
  for (const record of records) {
    const candidate = fromLogRecord(record);
    // Per record, not per batch: a sender's other events are not lost because one was
    // not its to write, and the attempt stays visible in the dead letters.
    const refusal =
      typeof candidate.action === 'string'
        ? actionRefusal(candidate.action, sender ?? { service: record.serviceName ?? '', authenticated: false })
        : undefined;
    if (refusal) {
      metrics.reject('action_forbidden');
      deadLetters.push({ id: `forbidden-${sha256(JSON.stringify(candidate))}`, receivedAt, reason: refusal, serviceName: record.serviceName, record: candidate });
      continue;
    }
    const result = validateAuditEvent(candidate);
    if (result.ok) accepted.push(result.event);
    else {
      const reason = result.problems.join(', ');
      metrics.reject('contract');
      deadLetters.push({ id: `contract-${sha256(JSON.stringify(candidate))}`, receivedAt, reason, serviceName: record.serviceName, record: candidate });
    }
  }
  await ingestor.ingest(accepted, deadLetters);
  const rejected = deadLetters.length;
  const problems = deadLetters.slice(0, REJECTION_SAMPLE).map((d) => d.reason);
  return {
    received: records.length,
    rejected,
    partialSuccess: rejected === 0 ? undefined : { rejectedLogRecords: rejected, errorMessage: problems.join('; ') },
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
