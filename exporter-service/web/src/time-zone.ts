/**
 * Times in the viewer's own zone (named) or in UTC. Only these two zones are offered, so
 * the browser's local-time methods are enough and no time-zone library is needed.
 */
export type DisplayZone = 'local' | 'utc';

export const localZoneName = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';

export const zoneName = (zone: DisplayZone): string => (zone === 'utc' ? 'UTC' : localZoneName());

/** The IANA name the export files should use for their Date column. */
export const ianaZone = (zone: DisplayZone): string => (zone === 'utc' ? 'UTC' : Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function parts(d: Date, zone: DisplayZone) {
  return zone === 'utc'
    ? { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds() }
    : { y: d.getFullYear(), mo: d.getMonth() + 1, d: d.getDate(), h: d.getHours(), mi: d.getMinutes(), s: d.getSeconds() };
}

/** `2026-11-22 14:05:09`: sortable, unambiguous, the same in every locale. */
export function formatInstant(iso: string, zone: DisplayZone): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = parts(d, zone);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)} ${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`;
}

/** A date input's value (`YYYY-MM-DD`) for an instant; `lastDay` shows an exclusive end as the day before it. */
export function dateInputValue(iso: string, zone: DisplayZone, lastDay = false): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = parts(new Date(d.getTime() - (lastDay ? 1 : 0)), zone);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)}`;
}

/** The instant a date input means: the start of that day in the zone, or the start of the next day for an inclusive last day. */
export function instantFromDateInput(value: string, zone: DisplayZone, lastDay = false): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return '';
  const [y, mo, d] = [Number(m[1]), Number(m[2]) - 1, Number(m[3]) + (lastDay ? 1 : 0)];
  return (zone === 'utc' ? new Date(Date.UTC(y, mo, d)) : new Date(y, mo, d)).toISOString();
}
