/**
 * The export writers, by what each exports: the format and its columns, the CSV stream,
 * the XLSX writer. One import for the routes and the background exports.
 */
export {
  EXCEL_MAX_DATA_ROWS,
  EXCEL_MAX_HYPERLINKS_PER_SHEET,
  EXPORT_FORMAT_DEFAULTS,
  headerRow,
  isValidTimeZone,
  type CsvFormat,
  type ExportFormat,
  type XlsxFormat,
} from './export-format.js';
export { csvStream } from './csv-stream.js';
export { writeXlsx } from './write-xlsx.js';
