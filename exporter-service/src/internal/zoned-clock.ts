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

/** The date column as text, in the format's zone and style; an unparsable time is left as it is. */
export function dateText(format: ExportFormat): (time: string) => string {
  const clock = zonedClock(format.timeZone);
  return (time) => {
    const t = Date.parse(time);
    if (Number.isNaN(t)) return time;
    const { wallClock, offsetMs } = clock(t);
    const iso = wallClock.toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ, of the wall clock
    if (format.dateFormat === 'iso') return iso.slice(0, 23) + offsetSuffix(offsetMs);
    return `${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(0, 4)} ${iso.slice(11, 19)}`;
  };
}
