import { once, type EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import type ExcelJS from 'exceljs';
import { xmlSafeText, type AuditEvent } from '@otel-audit/contract';
import { EXCEL_MAX_DATA_ROWS, EXCEL_MAX_HYPERLINKS_PER_SHEET, checkFormat, headerRow, type XlsxFormat } from './export-format.js';
import { sheetInternals, type SheetInternals } from './xlsx-sheet-sink.js';
import { columnLetters, excelSerial, numberCell, rowOpen, styleAttr, textCell } from './xlsx-row-xml.js';
import { zonedClock } from './zoned-clock.js';


const DATE_NUM_FMT = { iso: 'yyyy-mm-dd hh:mm:ss.000', us: 'mm/dd/yyyy hh:mm:ss' } as const;
// Shared style objects: exceljs caches a style's id per object, so a cell that keeps the
// style object it was born with (a fresh `{}`) costs a style lookup every time.
const PLAIN_STYLE = {};
const HEADER_STYLE = { font: { bold: true } };
const LINK_STYLE = { font: { underline: true, color: { argb: 'FF0563C1' } } };
// Changes and metadata hold one line per item: wrapped, a spreadsheet shows each on its own line.
const MULTILINE_STYLE = { alignment: { wrapText: true, vertical: 'top' as const } };
const INVALID_SHEET_NAME = /[[\]:*?/\\]/;
const SHEET_NAME_MAX = 31;

/**
 * How much XML may wait, uncompressed, for the zip stream before the writer stops pulling
 * events. Nothing in exceljs waits (issues #464, #709): a worksheet goes into a PassThrough
 * that archiver drains, so without this the whole sheet piles up there when `out` or the
 * compressor is slower than the rows come in.
 */
const PENDING_XML_LIMIT = 1024 * 1024;
/**
 * Data rows are written as XML text, in blocks of about this many characters, straight into
 * the sheet's stream; exceljs (workbook, styles, header row, hyperlink relationships, filter)
 * writes the rest. Its Row and Cell objects cost about 37 KB of garbage per 18-column row:
 * a young-generation collection every ~440 rows, which promoted the store's page of events
 * (1,000 rows alive across several collections) into the old generation, and a download's
 * heap grew by ~50 MiB of garbage before each full collection (bench/RESULTS.md, issue 15).
 */
const ROW_BLOCK_CHARS = 64 * 1024;

function sheetNames(base: string): (n: number) => string {
  if (base.length === 0 || base.length > SHEET_NAME_MAX || INVALID_SHEET_NAME.test(base) || base.startsWith("'") || base.endsWith("'") || xmlSafeText(base) !== base) {
    throw new RangeError(`sheetName must be 1 to ${SHEET_NAME_MAX} characters, none of [ ] : * ? / \\ nor a character XML forbids, and no leading or trailing apostrophe; got ${JSON.stringify(base)}`);
  }
  return (n) => {
    if (n === 1) return base;
    const suffix = ` ${n}`;
    return base.slice(0, SHEET_NAME_MAX - suffix.length).trimEnd() + suffix;
  };
}

function httpLink(href: string | undefined): string | undefined {
  if (!href) return undefined;
  try {
    const url = new URL(href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes an XLSX workbook to `out` with exceljs's streaming WorkbookWriter; resolves with
 * row counts when `out` has received everything (its 'finish'). Dates are date cells
 * holding the wall-clock time of `timeZone`; after `maxRowsPerSheet` data rows a new
 * worksheet starts with the same header, frozen pane and filter. On failure (an error
 * from `events`, or `out` failing or closing early) `out` is destroyed with the error,
 * the iteration of `events` is ended, and the promise rejects with that error.
 */
export async function writeXlsx(
  events: AsyncIterable<AuditEvent>,
  out: Writable,
  format: XlsxFormat,
): Promise<{ rows: number; sheets: number }> {
  const columns = checkFormat(format);
  const maxRows = format.maxRowsPerSheet ?? EXCEL_MAX_DATA_ROWS;
  if (!Number.isInteger(maxRows) || maxRows < 1 || maxRows > EXCEL_MAX_DATA_ROWS) {
    throw new RangeError(`maxRowsPerSheet must be an integer from 1 to ${EXCEL_MAX_DATA_ROWS}, got ${maxRows}`);
  }
  const sheetName = sheetNames(format.sheetName ?? 'Audit log');
  const header = headerRow(format);
  const clock = zonedClock(format.timeZone);
  const dateColumn = columns.findIndex((c) => c.key === 'date');
  const targetColumn = columns.findIndex((c) => c.key === 'target');
  const multiline = columns.map((c) => 'multiline' in c && c.multiline);

  // Anything that makes `out` unusable stops the loop wherever it waits.
  const stop = new AbortController();
  let failure: Error | undefined;
  const fail = (err: Error) => {
    failure ??= err;
    stop.abort(failure);
  };
  const onOutError = (err: Error) => fail(err);
  const onOutClose = () => {
    if (!out.writableFinished) fail(Object.assign(new Error('the output closed before the workbook was complete'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
  };
  out.on('error', onOutError);
  out.on('close', onOutClose);

  const excel = await loadExcelJs();
  const workbook = new excel.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  const zip = (workbook as unknown as { zip: NodeJS.ReadableStream & { abort(): void } }).zip;
  zip.on('error', fail);
  // Style ids from exceljs's own table (it writes styles.xml); each model object is cached there.
  // The header's first, so that the ids are those of a workbook exceljs wrote cell by cell.
  const styles = (workbook as unknown as { styles: { addStyleModel(model: object, type: number): number } }).styles;
  styles.addStyleModel(HEADER_STYLE, excel.ValueType.String);
  const dateStyle = styleAttr(styles.addStyleModel({ numFmt: DATE_NUM_FMT[format.dateFormat] }, excel.ValueType.Date));
  const textStyles = columns.map((_c, i) => styleAttr(styles.addStyleModel(multiline[i] ? MULTILINE_STYLE : PLAIN_STYLE, excel.ValueType.String)));
  const linkStyle = styleAttr(styles.addStyleModel(LINK_STYLE, excel.ValueType.Hyperlink));
  const letters = columns.map((_c, i) => columnLetters(i + 1));

  let rows = 0;
  let sheets = 0;
  let sheetRows = 0;
  let sheetLinks = 0;
  let sheet: ExcelJS.Worksheet | undefined;
  let internals: SheetInternals | undefined;
  let block = '';

  const openSheet = () => {
    sheets += 1;
    sheetRows = 0;
    sheetLinks = 0;
    sheet = workbook.addWorksheet(sheetName(sheets), { views: [{ state: 'frozen', ySplit: 1 }] });
    // The streaming writer emits <cols> with the first row, so widths go first.
    sheet.columns = columns.map((c) => ({ width: c.width }));
    const row = sheet.getRow(1);
    header.forEach((text, i) => {
      const cell = row.getCell(i + 1);
      cell.value = text;
      cell.style = HEADER_STYLE;
    });
    row.commit();
    internals = sheetInternals(sheet);
  };
  const flushBlock = () => {
    if (block.length === 0) return;
    internals!.sink.write(Buffer.from(block));
    block = '';
  };
  const closeSheet = () => {
    if (!sheet) return;
    flushBlock();
    // The filter is written when the sheet is committed, so it can span the data rows.
    sheet.autoFilter = { from: { row: 1, column: 1 }, to: { row: sheetRows + 1, column: columns.length } };
    sheet.commit();
    sheet = undefined;
  };
  const wait = async (emitter: EventEmitter, event: string) => {
    try {
      await once(emitter, event, { signal: stop.signal });
    } catch (err) {
      throw failure ?? err;
    }
  };
  const rowXml = (event: AuditEvent, r: number): string => {
    let xml = rowOpen(r, columns.length);
    for (let i = 0; i < columns.length; i++) {
      const ref = letters[i]! + r;
      if (i === dateColumn) {
        const t = Date.parse(event.time);
        xml += Number.isNaN(t) ? textCell(ref, '', xmlSafeText(event.time)) : numberCell(ref, dateStyle, excelSerial(clock(t).wallClock.getTime()));
        continue;
      }
      // One XML-forbidden character would make the whole workbook unreadable.
      const text = xmlSafeText(columns[i]!.value(event));
      const link = i === targetColumn && sheetLinks < EXCEL_MAX_HYPERLINKS_PER_SHEET ? httpLink(event.resource?.href) : undefined;
      if (link) {
        sheetLinks += 1;
        internals!.addHyperlink(ref, link);
        xml += textCell(ref, linkStyle, text || link);
      } else {
        xml += textCell(ref, textStyles[i]!, text);
      }
    }
    return xml + '</row>';
  };

  try {
    openSheet();
    for await (const event of events) {
      if (failure) throw failure;
      if (sheetRows === maxRows) {
        closeSheet();
        openSheet();
      }
      block += rowXml(event, sheetRows + 2);
      sheetRows += 1;
      rows += 1;
      if (block.length < ROW_BLOCK_CHARS) continue;
      flushBlock();
      if (out.writableNeedDrain) await wait(out, 'drain');
      const state = internals!.sink._writableState;
      if (state.needDrain && state.length >= PENDING_XML_LIMIT) await wait(internals!.sink, 'drain');
      // Lets the compressor and `out` run even when neither asks to wait.
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (failure) throw failure;
    closeSheet();
    const stopped = new Promise<never>((_resolve, reject) => {
      stop.signal.addEventListener('abort', () => reject(failure), { once: true });
    });
    const committed = workbook.commit();
    // Whichever loses the race below must not become an unhandled rejection.
    stopped.catch(() => {});
    committed.catch(() => {});
    await Promise.race([committed, stopped]);
    if (failure) throw failure;
    out.off('error', onOutError);
    out.off('close', onOutClose);
    return { rows, sheets };
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    try {
      zip.unpipe(out as unknown as NodeJS.WritableStream);
      zip.abort();
    } catch {
      // The archive is being thrown away; an error while doing so changes nothing.
    }
    // Whoever reads `out` (a pipeline, an HTTP reply) sees the real error, not a premature
    // close; our listener stays until 'close' so that an `out` nobody else listens to
    // does not turn it into an uncaught 'error' event.
    out.off('close', onOutClose);
    out.once('close', () => out.off('error', onOutError));
    out.destroy(error);
    throw error;
  }
}


let excelJs: Promise<typeof ExcelJS> | undefined;

/**
 * exceljs and what it pulls in (jszip, archiver, saxes, dayjs …) cost the export service
 * tens of MiB of heap at start-up (measured in bench/RESULTS.md); most deployments download
 * CSV, so it is loaded with the first workbook.
 */
function loadExcelJs(): Promise<typeof ExcelJS> {
  excelJs ??= import('exceljs').then((m) => (m as unknown as { default?: typeof ExcelJS }).default ?? (m as unknown as typeof ExcelJS));
  return excelJs;
}
