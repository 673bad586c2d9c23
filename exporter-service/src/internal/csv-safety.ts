/**
 * Spreadsheet formula injection (OWASP "CSV Injection"): a cell starting with one of
 * these is read as a formula by Excel, LibreOffice or Sheets. csv-stringify's own
 * `escape_formulas` option is off by default and does not cover LF, so every cell goes
 * through this instead. The leading apostrophe makes the cell text and is shown by no
 * spreadsheet.
 */
const FORMULA_START = /^[=+\-@\t\r\n]/;

export function neutralizeFormula(cell: string): string {
  return FORMULA_START.test(cell) ? `'${cell}` : cell;
}
