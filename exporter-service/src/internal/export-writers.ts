import { once, type EventEmitter } from 'node:events';
import { pipeline, Readable, type Writable } from 'node:stream';
import { stringify } from 'csv-stringify';
import ExcelJS from 'exceljs';
import { EXPORT_COLUMNS, xmlSafeText, type AuditEvent, type ExportColumnKey } from '@otel-audit/contract';
import { neutralizeFormulas } from '../neutralize-formulas.js';

export interface ExportFormat {
  /** Column keys in order; default: all EXPORT_COLUMNS keys in their order. */
  columns: readonly ExportColumnKey[];
  /** IANA zone for the Date column, e.g. 'UTC', 'Europe/Paris'. The header names it: "Date (UTC)". */
  timeZone: string;
  /** 'iso': ISO 8601 with the zone's offset (2026-11-22T03:04:05.678+01:00; 'Z' for UTC); 'us': MM/DD/YYYY HH:mm:ss as on the CyberPass page. */
  dateFormat: 'iso' | 'us';
}

export interface CsvFormat extends ExportFormat {
  delimiter: ',' | ';';
  bom: boolean;
}

export interface XlsxFormat extends ExportFormat {
  /** Data rows per worksheet before the next one starts; default (and most) EXCEL_MAX_DATA_ROWS. */
  maxRowsPerSheet?: number;
  /** First worksheet's name; the next ones get " 2", " 3", …. Default "Audit log". */
  sheetName?: string;
}

/** Excel's 1,048,576 rows per worksheet, minus the header row. */
export const EXCEL_MAX_DATA_ROWS = 1_048_575;

/**
 * Excel's documented limit per worksheet. Past it the Target cells are plain text: Excel
 * would drop the extra links anyway, and exceljs holds every link of a sheet in memory
 * until the sheet is committed, so the cap also keeps memory flat.
 */
export const EXCEL_MAX_HYPERLINKS_PER_SHEET = 65_530;

export const EXPORT_FORMAT_DEFAULTS: Readonly<CsvFormat> = Object.freeze({
  columns: Object.freeze(EXPORT_COLUMNS.map((c) => c.key)),
  timeZone: 'UTC',
  dateFormat: 'iso',
  delimiter: ',',
  bom: false,
});

type Column = (typeof EXPORT_COLUMNS)[number];
const COLUMN_BY_KEY = new Map<string, Column>(EXPORT_COLUMNS.map((c) => [c.key, c]));

export function isValidTimeZone(tz: string): boolean {
  if (typeof tz !== 'string' || tz === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function headerRow(format: ExportFormat): string[] {
  return columnsOf(format).map((c) => (c.key === 'date' ? `${c.header} (${format.timeZone})` : c.header));
}

function columnsOf(format: ExportFormat): Column[] {
  if (format.columns.length === 0) throw new RangeError('an export needs at least one column');
  return format.columns.map((key) => {
    const column = COLUMN_BY_KEY.get(key);
    if (!column) throw new RangeError(`unknown export column ${JSON.stringify(key)}; known: ${[...COLUMN_BY_KEY.keys()].join(', ')}`);
    return column;
  });
}

function checkFormat(format: ExportFormat): Column[] {
  if (!isValidTimeZone(format.timeZone)) throw new RangeError(`unknown time zone ${JSON.stringify(format.timeZone)}`);
  if (format.dateFormat !== 'iso' && format.dateFormat !== 'us') {
    throw new RangeError(`dateFormat must be 'iso' or 'us', got ${JSON.stringify(format.dateFormat)}`);
  }
  return columnsOf(format);
}

// ---------------------------------------------------------------------------------------
// Time zones

/**
 * Wall-clock time in a zone, held in a Date's UTC fields (which is what an Excel date is:
 * a serial number with no zone), and the zone's offset at that instant.
 */
interface ZonedTime {
  wallClock: Date;
  offsetMs: number;
}

const HOUR_MS = 3_600_000;

function zonedClock(timeZone: string): (instantMs: number) => ZonedTime {
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
function dateText(format: ExportFormat): (time: string) => string {
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

// ---------------------------------------------------------------------------------------
// CSV

/**
 * A Readable of CSV text (csv-stringify, RFC 4180, CRLF not required), header first; each
 * cell through xmlSafeText (the same text as the XLSX) and neutralizeFormulas
 * (neutralize-formulas.ts), and quoted, so that a reader
 * using the file's own delimiter cannot split a value. Back-pressure: it pulls from `events`
 * only as the consumer reads. Errors in `events` destroy the stream with that error;
 * destroying the stream ends the iteration of `events` (its `return()` runs).
 */
export function csvStream(events: AsyncIterable<AuditEvent>, format: CsvFormat): Readable {
  const columns = checkFormat(format);
  if (format.delimiter !== ',' && format.delimiter !== ';') {
    throw new RangeError(`delimiter must be ',' or ';', got ${JSON.stringify(format.delimiter)}`);
  }
  const date = dateText(format);
  async function* rows() {
    for await (const event of events) {
      yield columns.map((c) => neutralizeFormulas(xmlSafeText(c.key === 'date' ? date(event.time) : c.value(event))));
    }
  }
  // One event of read-ahead: the stringifier's own buffer (16 KiB) is the only slack.
  const source = Readable.from(rows(), { objectMode: true, highWaterMark: 1 });
  const csv = stringify({
    header: true,
    columns: headerRow(format).map(neutralizeFormulas),
    delimiter: format.delimiter,
    // Every non-empty cell, header included; an empty cell has nothing to protect.
    quoted: true,
    bom: format.bom,
  });
  // pipeline() destroys `csv` with the source's error and the source when `csv` is
  // destroyed; whoever reads `csv` sees the error, so the callback has nothing to add.
  pipeline(source, csv, () => {});
  return csv;
}

// ---------------------------------------------------------------------------------------
// XLSX

const DATE_NUM_FMT = { iso: 'yyyy-mm-dd hh:mm:ss.000', us: 'mm/dd/yyyy hh:mm:ss' } as const;
// Shared style objects: exceljs caches a style's id per object, so a cell that keeps the
// style object it was born with (a fresh `{}`) costs a style lookup every time.
const PLAIN_STYLE = {};
const HEADER_STYLE = { font: { bold: true } };
const LINK_STYLE = { font: { underline: true, color: { argb: 'FF0563C1' } } };
const INVALID_SHEET_NAME = /[[\]:*?/\\]/;
const SHEET_NAME_MAX = 31;

/**
 * How much XML may wait, uncompressed, for the zip stream before the writer stops pulling
 * events. row.commit() does not wait (exceljs issues #464, #709): exceljs writes a
 * worksheet into a PassThrough that archiver drains, ignoring write()'s return value, so
 * without this the whole sheet piles up there when `out` or the compressor is slower than
 * the rows come in (an async generator alone never even yields to the compressor).
 */
const PENDING_XML_LIMIT = 1024 * 1024;

interface WritableStateLike {
  length: number;
  needDrain: boolean;
}
type BufferedSink = EventEmitter & { _writableState: WritableStateLike };

/**
 * The PassThrough between a worksheet and the zip stream. Private to exceljs and archiver,
 * so looked up defensively: without it the writer still honours `out`'s back-pressure
 * and yields to the event loop regularly, it just cannot see the sheet's own buffer.
 */
function sheetSink(sheet: ExcelJS.Worksheet): BufferedSink | undefined {
  const pipes = (sheet as unknown as { stream?: { pipes?: unknown } }).stream?.pipes;
  const sink: unknown = Array.isArray(pipes) ? pipes[0] : undefined;
  if (typeof sink !== 'object' || sink === null) return undefined;
  const state = (sink as { _writableState?: Partial<WritableStateLike> })._writableState;
  if (typeof (sink as EventEmitter).once !== 'function' || typeof state?.length !== 'number' || typeof state.needDrain !== 'boolean') {
    return undefined;
  }
  return sink as BufferedSink;
}

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
  const dateStyle = { numFmt: DATE_NUM_FMT[format.dateFormat] };
  const dateColumn = columns.findIndex((c) => c.key === 'date');
  const targetColumn = columns.findIndex((c) => c.key === 'target');

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

  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  const zip = (workbook as unknown as { zip: NodeJS.ReadableStream & { abort(): void } }).zip;
  zip.on('error', fail);

  let rows = 0;
  let sheets = 0;
  let sheetRows = 0;
  let sheetLinks = 0;
  let sheet: ExcelJS.Worksheet | undefined;
  let sink: BufferedSink | undefined;

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
    sink = sheetSink(sheet);
  };
  const closeSheet = () => {
    if (!sheet) return;
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

  try {
    openSheet();
    for await (const event of events) {
      if (failure) throw failure;
      if (sheetRows === maxRows) {
        closeSheet();
        openSheet();
      }
      const ws = sheet as ExcelJS.Worksheet;
      const row = ws.getRow(sheetRows + 2);
      columns.forEach((column, i) => {
        const cell = row.getCell(i + 1);
        if (i === dateColumn) {
          const t = Date.parse(event.time);
          if (Number.isNaN(t)) {
            cell.value = xmlSafeText(event.time);
            cell.style = PLAIN_STYLE;
          } else {
            cell.value = clock(t).wallClock;
            cell.style = dateStyle;
          }
          return;
        }
        // One XML-forbidden character would make the whole workbook unreadable.
        const text = xmlSafeText(column.value(event));
        const link = i === targetColumn && sheetLinks < EXCEL_MAX_HYPERLINKS_PER_SHEET ? httpLink(event.resource?.href) : undefined;
        if (link) {
          sheetLinks += 1;
          cell.value = { text: text || link, hyperlink: link };
          cell.style = LINK_STYLE;
        } else {
          cell.value = text;
          cell.style = PLAIN_STYLE;
        }
      });
      row.commit();
      sheetRows += 1;
      rows += 1;

      if (out.writableNeedDrain) await wait(out, 'drain');
      if (sink) {
        const state = sink._writableState;
        if (state.needDrain && state.length >= PENDING_XML_LIMIT) await wait(sink, 'drain');
      } else if (rows % 512 === 0) {
        // Lets the compressor and `out` run, so that `writableNeedDrain` can become true.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
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
