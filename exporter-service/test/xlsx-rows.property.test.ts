import { PassThrough, type Writable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import ExcelJS from 'exceljs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXPORT_COLUMNS, xmlSafeText, type AuditEvent, type ExportColumnKey } from '@otel-audit/contract';
import { EventSource } from '../../bench/generate-events.js';
import { auditEventArbitrary } from '../../test/support/audit-event-arbitrary.js';
import { EXPORT_FORMAT_DEFAULTS, headerRow, writeXlsx, type XlsxFormat } from '../src/internal/export-writers.js';
import { zonedClock } from '../src/internal/zoned-clock.js';

/**
 * The XLSX writer writes data rows as XML text; this is the workbook exceljs writes cell by cell
 * (Row and Cell objects, the writer's former path), written out here: the same styles, dates as
 * real dates of the zone's wall clock, http(s) targets as links up to the per-sheet cap.
 */
function httpHref(href: string | undefined): string | undefined {
  try {
    const url = new URL(href ?? '');
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

async function referenceXlsx(events: readonly AuditEvent[], format: XlsxFormat, maxRows: number): Promise<Buffer> {
  const out = new PassThrough();
  const bytes = buffer(out);
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out as unknown as Writable, useStyles: true, useSharedStrings: false });
  const columns = format.columns.map((key) => EXPORT_COLUMNS.find((c) => c.key === key)!);
  const clock = zonedClock(format.timeZone);
  const dateStyle = { numFmt: format.dateFormat === 'us' ? 'mm/dd/yyyy hh:mm:ss' : 'yyyy-mm-dd hh:mm:ss.000' };
  const multiline = { alignment: { wrapText: true, vertical: 'top' as const } };
  const link = { font: { underline: true, color: { argb: 'FF0563C1' } } };
  for (let first = 0, n = 1; first === 0 || first < events.length; first += maxRows, n += 1) {
    const sheet = workbook.addWorksheet(n === 1 ? 'Audit log' : `Audit log ${n}`, { views: [{ state: 'frozen', ySplit: 1 }] });
    sheet.columns = columns.map((c) => ({ width: c.width }));
    const header = sheet.getRow(1);
    headerRow(format).forEach((text, i) => Object.assign(header.getCell(i + 1), { value: text, style: { font: { bold: true } } }));
    header.commit();
    const rows = events.slice(first, first + maxRows);
    rows.forEach((e, r) => {
      const row = sheet.getRow(r + 2);
      columns.forEach((c, i) => {
        const cell = row.getCell(i + 1);
        const t = Date.parse(e.time);
        const href = httpHref(e.resource?.href);
        const text = xmlSafeText(c.value(e));
        if (c.key === 'date') Object.assign(cell, Number.isNaN(t) ? { value: xmlSafeText(e.time) } : { value: clock(t).wallClock, style: dateStyle });
        else if (c.key === 'target' && href) Object.assign(cell, { value: { text: text || href, hyperlink: href }, style: link });
        else Object.assign(cell, { value: text, ...('multiline' in c && c.multiline ? { style: multiline } : {}) });
      });
      row.commit();
    });
    sheet.autoFilter = { from: { row: 1, column: 1 }, to: { row: rows.length + 1, column: columns.length } };
    sheet.commit();
  }
  await workbook.commit();
  return bytes;
}

async function ours(events: readonly AuditEvent[], format: XlsxFormat): Promise<Buffer> {
  const out = new PassThrough();
  const bytes = buffer(out);
  await writeXlsx(
    (async function* () {
      yield* events;
    })(),
    out,
    format,
  );
  return bytes;
}

/** Every sheet's name, filter, and every cell's value, type, number format, font and alignment. */
async function contents(file: Buffer) {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(file as unknown as ExcelJS.Buffer);
  return workbook.worksheets.map((ws) => ({
    name: ws.name,
    filter: ws.autoFilter,
    views: ws.views,
    rows: ws.getSheetValues().length,
    cells: Array.from({ length: ws.rowCount }, (_, r) =>
      (ws.getRow(r + 1).values as unknown[]).slice(1).map((_v, c) => {
        const cell = ws.getRow(r + 1).getCell(c + 1);
        return { value: cell.value, type: cell.type, numFmt: cell.numFmt, font: cell.font, alignment: cell.alignment };
      }),
    ),
  }));
}

const keys = EXPORT_COLUMNS.map((c) => c.key) as ExportColumnKey[];

describe('XLSX rows: the XML text the writer writes reads back as the workbook exceljs writes cell by cell', () => {
  it('on 3,000 generated events, every column, in two zones and both date styles, over several sheets', async () => {
    const events = new EventSource(11, 3_000).take(3_000);
    for (const [timeZone, dateFormat, maxRowsPerSheet] of [['UTC', 'iso', 1_200], ['Europe/Paris', 'us', 3_000]] as const) {
      const format: XlsxFormat = { ...EXPORT_FORMAT_DEFAULTS, timeZone, dateFormat, maxRowsPerSheet };
      expect(await contents(await ours(events, format))).toEqual(await contents(await referenceXlsx(events, format, maxRowsPerSheet)));
    }
  });

  it('on any events, in any column order and zone', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(auditEventArbitrary, { minLength: 0, maxLength: 12 }),
        fc.shuffledSubarray(keys, { minLength: 1 }),
        fc.constantFrom('UTC', 'Asia/Kathmandu', 'America/St_Johns'),
        fc.constantFrom('iso' as const, 'us' as const),
        fc.integer({ min: 1, max: 5 }),
        async (events, columns, timeZone, dateFormat, maxRowsPerSheet) => {
          const format: XlsxFormat = { ...EXPORT_FORMAT_DEFAULTS, columns, timeZone, dateFormat, maxRowsPerSheet };
          expect(await contents(await ours(events, format))).toEqual(await contents(await referenceXlsx(events, format, maxRowsPerSheet)));
        },
      ),
      { numRuns: 40 },
    );
  });
});
