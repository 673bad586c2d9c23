import type { ReceivedLogRecord } from './otel-mapping.js';

/**
 * Where a nanosecond count stops being plausible, in nanoseconds: 1e17 ns is
 * 1973-03-03T09:46:40Z, and an audit event is never older. Below it, a value is read in
 * the largest unit that puts it after that same instant (and before 5138, where each
 * next band starts): under 1e11 it is seconds, under 1e14 milliseconds, under 1e17
 * microseconds. Each band of today's times is three orders of magnitude wide, so a
 * value in one is never a nanosecond time that is merely old.
 */
export const TIME_UNIT_BANDS = [
  { below: 100_000_000_000n, unit: 'seconds', toMillis: (n: bigint) => Number(n) * 1000 },
  { below: 100_000_000_000_000n, unit: 'milliseconds', toMillis: (n: bigint) => Number(n) },
  { below: 100_000_000_000_000_000n, unit: 'microseconds', toMillis: (n: bigint) => Number(n / 1000n) },
] as const;

/**
 * The earliest event time the collector accepts (1973-03-03T09:46:40Z, 1e17 ns): `record()`
 * refuses an earlier one itself, rather than have the collector refuse it as a unit mistake.
 */
export const EARLIEST_EVENT_TIME = new Date(Number(TIME_UNIT_BANDS[TIME_UNIT_BANDS.length - 1]!.below / 1_000_000n));

/**
 * Why a record's time is not nanoseconds since the epoch, or undefined when it is (or is
 * unset: 0 or absent, where fromLogRecord falls back to the observed time, which is then
 * the one checked). The answer names the likely unit mistake and the date the value
 * would be in that unit:
 * `time: timeUnixNano 1764000000000 looks like milliseconds since the epoch (2025-11-24T16:00:00.000Z); OTLP wants nanoseconds`.
 */
export function timeUnitProblem(record: ReceivedLogRecord): string | undefined {
  const time = nanos(record.timeUnixNano, record.timestamp);
  if (time !== undefined && time !== 0n) return problem('timeUnixNano', time);
  const observed = nanos(record.observedTimeUnixNano, record.observedTimestamp);
  if (observed !== undefined && observed !== 0n) return problem('observedTimeUnixNano', observed);
  return undefined;
}

function problem(field: string, value: bigint): string | undefined {
  if (value < 0n) return `time: ${field} ${value} is negative; OTLP wants nanoseconds since the epoch`;
  const band = TIME_UNIT_BANDS.find((b) => value < b.below);
  if (!band) return undefined;
  const date = new Date(band.toMillis(value)).toISOString();
  return `time: ${field} ${value} looks like ${band.unit} since the epoch (${date}); OTLP wants nanoseconds`;
}

/** The raw count when the receiver kept it, else the milliseconds it made (same bands: they are multiples of 1e6). */
function nanos(raw: string | undefined, millis: number | undefined): bigint | undefined {
  if (raw !== undefined && /^-?\d+$/.test(raw)) return BigInt(raw);
  if (millis === undefined || !Number.isFinite(millis)) return undefined;
  return BigInt(Math.trunc(millis)) * 1_000_000n;
}
