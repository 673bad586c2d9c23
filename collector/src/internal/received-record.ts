import { EARLIEST_EVENT_TIME, timeUnitProblem, type ReceivedLogRecord } from '@otel-audit/contract';

/**
 * One record as a receiver decoded it, whatever carried it (OTLP/HTTP protobuf or JSON,
 * OTLP/gRPC, a span event, a dead letter read back): the event mapped straight from the
 * wire, and what the checks and a dead letter need besides. `checkRecord` takes it.
 */
export interface ReceivedRecord {
  /** The candidate event (`LogRecordFields.candidate`): mapped, defaults filled, XML-safe; not yet redacted or validated. */
  readonly candidate: Record<string, unknown>;
  /** `service.name` of the sender's resource. */
  readonly serviceName: string | undefined;
  /** A seconds or milliseconds mistake in the times as sent (timeUnitProblem), which the candidate's time no longer shows. */
  readonly timeProblem: string | undefined;
  /**
   * The record as sent, as a one-record OTLP/JSON logs request with its resource and scope
   * (original-record.ts), for the dead-letter store; built only for a refused record.
   */
  original(): unknown;
}

/** Past it (1e11 ms, 1e17 ns) a count is nanoseconds for timeUnitProblem, whatever the other time says. */
const PLAUSIBLE_MILLIS = EARLIEST_EVENT_TIME.getTime();

/**
 * timeUnitProblem of a record, reading the times as sent (`received`) only when its time
 * (`timestamp`, in milliseconds: not the observed time, which counts only when the time is
 * unset) is not plainly nanoseconds already: the common record costs no conversion.
 */
export function timeProblemOf(timestamp: number | undefined, received: () => ReceivedLogRecord): string | undefined {
  return timestamp !== undefined && timestamp >= PLAUSIBLE_MILLIS ? undefined : timeUnitProblem(received());
}
