import type { Sender } from './sender-auth.js';
import { receiveRecords } from './receive-records.js';
import { AUDIT_ACTION_ATTRIBUTE, type TraceReading } from './otlp-traces.js';
import type { TracePartialSuccess } from './otlp-traces-proto.js';

/** How many refusals an answer's `error_message` names, as for logs. */
const REJECTION_SAMPLE = 5;

export interface TracesOutcome {
  spans: number;
  /** Audit span events found, accepted or not. */
  events: number;
  rejectedSpans: number;
  /** Undefined for a full success without warnings (the OTLP answer is then empty). */
  partialSuccess: TracePartialSuccess | undefined;
}

/**
 * The audit events of a traces request, through the same `receiveRecords` as logs (sender
 * rules, validation, dead letters, durability); spans without audit events are only
 * counted. Throws as `receiveRecords` does (403, 503).
 *
 * OTLP counts rejected *spans*: a span is rejected when any of its audit events was
 * refused (its other events are stored all the same, and the retry of an SDK, which
 * resends whole spans, stores nothing twice: ids are the create keys). A request with
 * spans that carry `audit.action` as a span attribute gets a warning in `error_message`
 * with `rejected_spans` 0, since those spans are not audit events.
 */
export async function receiveTraces(
  reading: TraceReading,
  sender: Sender | undefined,
  deps: Parameters<typeof receiveRecords>[2],
): Promise<TracesOutcome> {
  const { records, spanOfRecord } = reading;
  // Nothing to store: the store is not asked, so a trace-only sender is never held up
  // (nor refused) by an unavailable store.
  const outcome = records.length > 0 ? await receiveRecords(records, sender, deps) : undefined;
  deps.metrics.spansReceived += reading.spans;
  deps.metrics.spansIgnored += reading.ignoredSpans;
  const refused = outcome?.refused ?? [];
  const rejectedSpans = new Set(refused.map((r) => spanOfRecord[r.index])).size;
  const messages = refused.slice(0, REJECTION_SAMPLE).map((r) => `span ${spanOfRecord[r.index]}, event ${JSON.stringify(reading.actionOfRecord[r.index] ?? '')}: ${r.reason}`);
  if (refused.length > REJECTION_SAMPLE) messages.push(`and ${refused.length - REJECTION_SAMPLE} more refused audit events`);
  if (reading.spansWithActionAttribute > 0) {
    messages.push(
      `${reading.spansWithActionAttribute} span(s) carry ${AUDIT_ACTION_ATTRIBUTE} as a span attribute and were not stored: only span events are audit events (add an event named after the action, or with ${AUDIT_ACTION_ATTRIBUTE})`,
    );
  }
  return {
    spans: reading.spans,
    events: records.length,
    rejectedSpans,
    partialSuccess: messages.length > 0 ? { rejectedSpans, errorMessage: messages.join('; ') } : undefined,
  };
}
