import { buffer } from 'node:stream/consumers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXPORT_COLUMNS, xmlSafeText, type AuditEvent, type ExportColumnKey } from '@otel-audit/contract';
import { EventSource } from '../../bench/generate-events.js';
import { neutralizeFormulas } from '../src/neutralize-formulas.js';
import { csvStream, EXPORT_FORMAT_DEFAULTS, headerRow, type CsvFormat } from '../src/internal/export-writers.js';
import { dateText, zonedClock } from '../src/internal/zoned-clock.js';

/**
 * The CSV writer's fast paths (one test per cell for all its rules, the date text kept per
 * minute, a row grown as one string) against the formatting they replaced, written out here
 * step by step: every cell through xmlSafeText, neutralizeFormulas and RFC 4180 quoting,
 * joined by the delimiter; the date from Date.parse through the zone's wall clock.
 */
function referenceDate(format: CsvFormat): (time: string) => string {
  const clock = zonedClock(format.timeZone);
  return (time) => {
    const t = Date.parse(time);
    if (Number.isNaN(t)) return time;
    const { wallClock, offsetMs } = clock(t);
    const iso = wallClock.toISOString();
    if (format.dateFormat === 'us') return `${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(0, 4)} ${iso.slice(11, 19)}`;
    if (offsetMs === 0) return iso.slice(0, 23) + 'Z';
    const total = Math.round(Math.abs(offsetMs) / 1000);
    const pad = (n: number) => String(n).padStart(2, '0');
    const hhmm = `${offsetMs < 0 ? '-' : '+'}${pad(Math.floor(total / 3600))}:${pad(Math.floor(total / 60) % 60)}`;
    return iso.slice(0, 23) + (total % 60 === 0 ? hhmm : `${hhmm}:${pad(total % 60)}`);
  };
}

function referenceCsv(events: readonly AuditEvent[], format: CsvFormat): string {
  const quoted = (cell: string) => (cell === '' ? '' : `"${cell.replaceAll('"', '""')}"`);
  const line = (cells: string[]) => cells.map(quoted).join(format.delimiter) + '\n';
  const date = referenceDate(format);
  const columns = format.columns.map((key) => EXPORT_COLUMNS.find((c) => c.key === key)!);
  let out = (format.bom ? '\ufeff' : '') + line(headerRow(format).map(neutralizeFormulas));
  for (const e of events) out += line(columns.map((c) => neutralizeFormulas(xmlSafeText(c.key === 'date' ? date(e.time) : c.value(e)))));
  return out;
}

async function* from<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

const ZONES = ['UTC', 'Europe/Paris', 'America/St_Johns', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'Pacific/Chatham', 'Europe/Amsterdam', 'America/New_York'];

/** Cell text meant to hit every rule: formula triggers and their lookalikes after breaks, quotes, controls, surrogates. */
const awkward = fc.string({
  unit: fc.constantFrom(...'ab1 =+-@\'",;|\t\r\n\u0000\u000b\u001f\u00a0\u3000\uff1d\uff0b\uff20\ufe63\ud83d\ude00\ud800\udc00\ufffe\uffff→é'.split('')),
  maxLength: 12,
});
/** Times in the contract's form and near it: any day number (Feb 30 rolls over), far years, offsets with seconds. */
const time = fc.oneof(
  fc.date({ min: new Date('1800-01-01T00:00:00Z'), max: new Date('2100-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc
    .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59999 }))
    .map(([y, mo, d, h, mi, ms]) => {
      const p = (n: number, w = 2) => String(n).padStart(w, '0');
      return `${p(y, 4)}-${p(mo)}-${p(d)}T${p(h)}:${p(mi)}:${p(Math.floor(ms / 1000))}.${p(ms % 1000, 3)}Z`;
    }),
  fc.constantFrom('2026-03-29T01:00:00.000Z', '2026-10-25T00:59:59.999Z', '9999-12-31T23:30:00.000Z', '2026-01-01T00:00:00Z', 'not a time', ''),
);

describe('CSV cells: the fast paths write what the step-by-step formatting wrote', () => {
  it('on 10,000 generated events, every column, in several zones, both date styles and delimiters', async () => {
    const events = new EventSource(7, 10_000).take(10_000);
    for (const [timeZone, dateFormat, delimiter, bom] of [
      ['UTC', 'iso', ',', false],
      ['Europe/Paris', 'us', ';', true],
      ['America/St_Johns', 'iso', ';', false],
    ] as const) {
      const format: CsvFormat = { ...EXPORT_FORMAT_DEFAULTS, timeZone, dateFormat, delimiter, bom };
      expect((await buffer(csvStream(from(events), format))).toString('utf8')).toBe(referenceCsv(events, format));
    }
  });

  it('on events holding awkward text, at any time, in any column order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ time, name: awkward, action: awkward, message: awkward, target: awkward, ip: awkward }), { minLength: 1, maxLength: 8 }),
        fc.shuffledSubarray(EXPORT_COLUMNS.map((c) => c.key) as ExportColumnKey[], { minLength: 1 }),
        fc.constantFrom(...ZONES),
        fc.constantFrom('iso' as const, 'us' as const),
        fc.constantFrom(',' as const, ';' as const),
        async (rows, columns, timeZone, dateFormat, delimiter) => {
          const events: AuditEvent[] = rows.map((r, i) => ({
            id: `id-${i}`,
            time: r.time,
            action: r.action,
            category: 'iam',
            outcome: 'success',
            actor: { id: `u-${i}`, name: r.name, type: 'user' },
            message: r.message,
            resource: { type: 'doc', id: 'd-1', name: r.target },
            client: { ip: r.ip },
          }));
          const format: CsvFormat = { ...EXPORT_FORMAT_DEFAULTS, columns, timeZone, dateFormat, delimiter, bom: false };
          expect((await buffer(csvStream(from(events), format))).toString('utf8')).toBe(referenceCsv(events, format));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives each time the date text of the long way, minute after minute, in every zone and style', () => {
    fc.assert(
      fc.property(fc.array(time, { minLength: 1, maxLength: 20 }), fc.constantFrom(...ZONES), fc.constantFrom('iso' as const, 'us' as const), (times, timeZone, dateFormat) => {
        const format: CsvFormat = { ...EXPORT_FORMAT_DEFAULTS, timeZone, dateFormat };
        const fast = dateText(format);
        const reference = referenceDate(format);
        // Sorted as an export reads them, each with the first and last instant of its minute, so
        // that consecutive times share minutes.
        const sameMinute = (t: string) => (t.length === 24 ? [`${t.slice(0, 17)}00.000Z`, t, `${t.slice(0, 17)}59.999Z`] : [t]);
        for (const t of times.flatMap(sameMinute).sort()) expect(fast(t)).toBe(reference(t));
      }),
      { numRuns: 1000 },
    );
  });
});
