import { EXPORT_COLUMNS, type ExportColumnKey } from '@otel-audit/contract';

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

export type Column = (typeof EXPORT_COLUMNS)[number];
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

export function checkFormat(format: ExportFormat): Column[] {
  if (!isValidTimeZone(format.timeZone)) throw new RangeError(`unknown time zone ${JSON.stringify(format.timeZone)}`);
  if (format.dateFormat !== 'iso' && format.dateFormat !== 'us') {
    throw new RangeError(`dateFormat must be 'iso' or 'us', got ${JSON.stringify(format.dateFormat)}`);
  }
  return columnsOf(format);
}
