/**
 * exceljs's rendering of a cell's text (utils.xmlEncode: the five escapes, DEL dropped), so a
 * row we write is byte for byte one it would have written. The characters XML forbids, which
 * it drops too, never get here: the caller has replaced them with xmlSafeText.
 */
const XML_SPECIAL = /[<>&'"\x7F]/g;
const XML_ESCAPES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' };
const escapeChar = (c: string) => XML_ESCAPES[c] ?? '';

export function xmlText(text: string): string {
  XML_SPECIAL.lastIndex = 0;
  return XML_SPECIAL.test(text) ? text.replace(XML_SPECIAL, escapeChar) : text;
}

/** A1-style column letters of the 1-based column `n`. */
export function columnLetters(n: number): string {
  let letters = '';
  for (let rest = n; rest > 0; rest = Math.floor((rest - 1) / 26)) letters = String.fromCharCode(65 + ((rest - 1) % 26)) + letters;
  return letters;
}

/** Excel's serial day number (1900 system) of a wall-clock time held as UTC milliseconds, as exceljs computes it. */
export const excelSerial = (wallClockMs: number): number => 25569 + wallClockMs / 86_400_000;

/** `s="…"` of a style id; the default style (0) is left out, as exceljs does. */
export const styleAttr = (id: number): string => (id ? ` s="${id}"` : '');

/** A text cell as exceljs writes it without shared strings (`t="str"`). */
export const textCell = (ref: string, style: string, text: string): string => `<c r="${ref}"${style} t="str"><v>${xmlText(text)}</v></c>`;

export const numberCell = (ref: string, style: string, value: number): string => `<c r="${ref}"${style}><v>${value}</v></c>`;

export const rowOpen = (row: number, columns: number): string => `<row r="${row}" spans="1:${columns}" x14ac:dyDescent="0.25">`;
