import { EXPORT_COLUMNS, type ExportColumnKey } from '@otel-audit/contract';
import { ExportError } from '../errors.js';
import { EXPORT_FORMAT_DEFAULTS, isValidTimeZone, type ExportFormat } from './export-writers.js';

/** How a CSV or XLSX download, or a background export, is laid out (all strings, as HTTP gives them). */
export interface FormatParams {
  columns?: string;
  tz?: string;
  dateFormat?: string;
  delimiter?: string;
  bom?: string;
}

const COLUMN_KEYS = EXPORT_COLUMNS.map((c) => c.key);

/** JSON schema of those parameters, for validation: the rules themselves are parseFormat's, whose refusals name the parameter. */
export const FORMAT_PARAMS_SCHEMA = {
  columns: { type: 'string', maxLength: 500, description: `Comma-separated, in order: ${COLUMN_KEYS.join(', ')}; default: all` },
  tz: { type: 'string', maxLength: 64, description: 'IANA time zone of the Date column (e.g. Europe/Paris); default UTC' },
  dateFormat: { type: 'string', maxLength: 32, description: '`iso` (ISO 8601, default) or `MM/DD/YYYY HH:mm:ss` (`us` for short), any letter case' },
  delimiter: { type: 'string', enum: [',', ';'], description: 'CSV only: the field separator; default ,' },
  bom: { type: 'string', enum: ['true', 'false', '1', '0'], description: 'CSV only: a UTF-8 byte-order mark for Excel; default false' },
} as const;

const KEY = `(${COLUMN_KEYS.join('|')})`;
/**
 * parseFormat's rules as the OpenAPI document states them: a value these admit is one the
 * code takes, and the reverse (the one rule a schema cannot say is that a time zone exists).
 */
export const FORMAT_PARAMS_DOCUMENTED = {
  // Names from the list with spaces around them, commas between, empty items skipped; at least one name (empty: all).
  columns: { ...FORMAT_PARAMS_SCHEMA.columns, pattern: `^([ ,]*${KEY}[ ]*(,[ ]*(${KEY}[ ]*)?)*)?$` },
  tz: { ...FORMAT_PARAMS_SCHEMA.tz, pattern: '^[A-Za-z0-9_+:/-]*$' },
  // Any letter case, as parseFormat lower-cases it.
  dateFormat: { ...FORMAT_PARAMS_SCHEMA.dateFormat, pattern: '^([iI][sS][oO]|[uU][sS]|[mM][mM]/[dD][dD]/[yY][yY][yY][yY] [hH][hH]:[mM][mM]:[sS][sS])$' },
} as const;

/** The XLSX download's parameters: no delimiter, no byte-order mark. */
export const XLSX_FORMAT_PARAMS_SCHEMA = { columns: FORMAT_PARAMS_SCHEMA.columns, tz: FORMAT_PARAMS_SCHEMA.tz, dateFormat: FORMAT_PARAMS_SCHEMA.dateFormat } as const;

const invalid = (message: string) => new ExportError('AUDIT_ERR_INVALID_QUERY', message);

/** The columns, time zone and date format asked for; a 400 naming the bad parameter otherwise. */
export function parseFormat(p: FormatParams): ExportFormat {
  const keys = EXPORT_FORMAT_DEFAULTS.columns;
  const columns = p.columns ? p.columns.split(',').map((c) => c.replace(/^ +| +$/g, '')).filter(Boolean) : keys;
  // Spaces only around a name, as the documented pattern says. `columns=,,,` names none: a file without columns is a mistake, not a request.
  if (columns.length === 0) throw invalid(`columns: name at least one column; known: ${keys.join(', ')}`);
  const unknown = columns.find((c) => !keys.includes(c as ExportColumnKey));
  if (unknown !== undefined) throw invalid(`columns: unknown column ${JSON.stringify(unknown)}; known: ${keys.join(', ')}`);
  const timeZone = p.tz || EXPORT_FORMAT_DEFAULTS.timeZone;
  if (!isValidTimeZone(timeZone)) throw invalid(`tz must be an IANA time zone, got ${JSON.stringify(timeZone)}`);
  const df = (p.dateFormat ?? EXPORT_FORMAT_DEFAULTS.dateFormat).toLowerCase();
  const dateFormat = df === 'iso' ? 'iso' : df === 'us' || df === 'mm/dd/yyyy hh:mm:ss' ? 'us' : undefined;
  if (!dateFormat) throw invalid(`dateFormat must be iso or MM/DD/YYYY HH:mm:ss, got ${JSON.stringify(p.dateFormat)}`);
  return { columns: [...new Set(columns)] as ExportColumnKey[], timeZone, dateFormat };
}

/** The CSV-only parameters; anything but `;` is a comma, and only `true`/`1` turn the mark on. */
export function parseCsvOptions(p: FormatParams): { delimiter: ',' | ';'; bom: boolean } {
  return { delimiter: p.delimiter === ';' ? ';' : ',', bom: p.bom === 'true' || p.bom === '1' };
}

export const EXPORT_CONTENT_TYPES = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
} as const;

/** `audit-log_<scope>_<from day>_<to day>.<format>`, for Content-Disposition; the scope label is file-system safe. */
export function exportFileName(scopeLabel: string, from: string | Date, to: string | Date, format: 'csv' | 'xlsx'): string {
  const day = (t: string | Date) => (typeof t === 'string' ? t : t.toISOString()).slice(0, 10);
  return `audit-log_${scopeLabel}_${day(from)}_${day(to)}.${format}`;
}
