import type { ExportFormat } from './export-format.js';


/**
 * Wall-clock time in a zone, held in a Date's UTC fields (which is what an Excel date is:
 * a serial number with no zone), and the zone's offset at that instant.
 */
export interface ZonedTime {
  wallClock: Date;
  offsetMs: number;
}

const HOUR_MS = 3_600_000;

export function zonedClock(timeZone: string): (instantMs: number) => ZonedTime {
  const dtf = new Intl.DateTimeFormat('en-US', {
    timeZone,
    // h23: some ICU versions print midnight as "24" with hour12: false.
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    fractionalSecondDigits: 3,
  });
  if (dtf.resolvedOptions().timeZone === 'UTC') return (t) => ({ wallClock: new Date(t), offsetMs: 0 });
  const offsetAt = (t: number) => {
    const f = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0, fractionalSecond: 0 };
    for (const part of dtf.formatToParts(t)) {
      if (part.type in f) f[part.type as keyof typeof f] = Number(part.value);
    }
    return Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second, f.fractionalSecond) - t;
  };
  // formatToParts costs about as much as writing the rest of an XLSX row, and an export
  // walks time in order, so the offset is looked up once per UTC hour. An hour that
  // holds a transition (its two ends differ) is looked up per event instead.
  const byHour = new Map<number, number | null>();
  return (t) => {
    const hour = Math.floor(t / HOUR_MS);
    let offset = byHour.get(hour);
    if (offset === undefined) {
      const first = offsetAt(hour * HOUR_MS);
      offset = first === offsetAt(hour * HOUR_MS + HOUR_MS - 1) ? first : null;
      if (byHour.size >= 4096) byHour.clear();
      byHour.set(hour, offset);
    }
    const offsetMs = offset ?? offsetAt(t);
    return { wallClock: new Date(t + offsetMs), offsetMs };
  };
}

function offsetSuffix(offsetMs: number): string {
  if (offsetMs === 0) return 'Z';
  const sign = offsetMs < 0 ? '-' : '+';
  const total = Math.round(Math.abs(offsetMs) / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const hhmm = `${sign}${pad(Math.floor(total / 3600))}:${pad(Math.floor(total / 60) % 60)}`;
  // Only local mean time before ~1900 has offsets with seconds (Paris was +00:09:21).
  return total % 60 === 0 ? hhmm : `${hhmm}:${pad(total % 60)}`;
}

/** A time as the contract writes it (UTC, milliseconds, 4-digit year): the ones the minute cache takes. */
const CANONICAL_TIME = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;
const MINUTE_MS = 60_000;

/**
 * The date column as text, in the format's zone and style; an unparsable time is left as it is.
 * An export walks time in order, so most rows share their minute with the row before: the
 * text up to the minute and the offset after the seconds are kept per minute, and a row
 * whose time is in the contract's own form only adds its seconds (`:ss.sss`, or `:ss`) between
 * them, instead of a Date.parse, a Date and toISOString each (about a tenth of the CSV writer's
 * time, bench/RESULTS.md, issue 15). A minute holding an offset change, an offset with seconds
 * (local mean time), or a wall clock past year 9999 is not kept: those rows take the long way.
 * The same text either way: exporter-service/test/csv-cells.property.test.ts.
 */
export function dateText(format: ExportFormat): (time: string) => string {
  const clock = zonedClock(format.timeZone);
  const iso = format.dateFormat === 'iso';
  const slow = (time: string) => {
    const t = Date.parse(time);
    if (Number.isNaN(t)) return time;
    const { wallClock, offsetMs } = clock(t);
    const text = wallClock.toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ, of the wall clock
    if (iso) return text.slice(0, 23) + offsetSuffix(offsetMs);
    return `${text.slice(5, 7)}/${text.slice(8, 10)}/${text.slice(0, 4)} ${text.slice(11, 19)}`;
  };
  let minute: string | undefined;
  let head = '';
  let tail = '';
  const keep = (key: string): boolean => {
    minute = undefined;
    const start = Date.parse(`${key}:00.000Z`);
    if (Number.isNaN(start)) return false;
    const { wallClock, offsetMs } = clock(start);
    const wall = wallClock.toISOString();
    if (offsetMs % MINUTE_MS !== 0 || clock(start + MINUTE_MS - 1).offsetMs !== offsetMs || wall.length !== 24) return false;
    head = iso ? wall.slice(0, 16) : `${wall.slice(5, 7)}/${wall.slice(8, 10)}/${wall.slice(0, 4)} ${wall.slice(11, 16)}`;
    tail = iso ? offsetSuffix(offsetMs) : '';
    minute = key;
    return true;
  };
  return (time) => {
    if (time.length !== 24 || !CANONICAL_TIME.test(time)) return slow(time);
    const key = time.slice(0, 16);
    if (key !== minute && !keep(key)) return slow(time);
    return head + time.slice(16, iso ? 23 : 19) + tail;
  };
}
