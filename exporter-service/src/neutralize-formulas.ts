/**
 * Spreadsheet formula injection (OWASP "CSV Injection"), whatever delimiter the
 * spreadsheet assumes.
 *
 * Checking only a cell's first character is not enough: a spreadsheet whose list
 * separator is `;` splits the comma-file cell `x;=1+1;y` and evaluates `=1+1`
 * (LibreOffice Calc does, with formula evaluation on; so does a reader that ignores
 * quotes and splits on `|` or tab). So a character is *guarded* when it starts the
 * cell or follows a character a reader may split on or strip before it looks for a
 * formula:
 *
 *   , ; | tab CR LF space "
 *
 * (the separators spreadsheets offer on import, line breaks for readers that ignore
 * quotes, space because "trim spaces" turns `x; =1+1` into a formula in LibreOffice,
 * and `"` because a reader's quote handling may strip it.) A guarded formula trigger
 * `= + - @` gets an apostrophe before it, the text marker of every spreadsheet; a
 * guarded apostrophe is doubled, so that {@link restoreFormulas} can tell an inserted
 * apostrophe from one that was in the value.
 *
 * Lookalikes count as what they look like: any character whose NFKC form is one of
 * the characters above (full-width ＝ ＋ － ＠ ， ； ｜ ＂ ＇, small forms ﹦ ﹢ ﹣ ﹫ ﹐ ﹔,
 * the Greek question mark, no-break and other Unicode spaces …), because a reader
 * that folds widths (Excel's Japanese input does) would otherwise meet a bare `=`.
 * They are kept as they are, not replaced: the apostrophe already makes the cell text,
 * and replacing them would lose the original value.
 */

/** The characters whose NFKC form is an ASCII break (guard) character; checked by a test. */
const BREAK_LOOKALIKES =
  '\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000' + // space
  '\u037e\ufe14\ufe54\uff1b' + // ;
  '\ufe10\ufe50\uff0c' + // ,
  '\uff5c' + // |
  '\uff02'; // "
const BREAKS = new Set([...',;|\t\r\n "', ...BREAK_LOOKALIKES]);

/** The characters whose NFKC form is a formula trigger or an apostrophe; checked by a test. */
const TRIGGER_LOOKALIKES =
  '\u207c\u208c\ufe66\uff1d' + // =
  '\u207a\u208a\ufb29\ufe62\uff0b' + // +
  '\ufe63\uff0d' + // -
  '\ufe6b\uff20' + // @
  '\uff07'; // '
const TRIGGERS = new Set([..."=+-@'", ...TRIGGER_LOOKALIKES]);

/**
 * A trigger at a guarded position (not global): what {@link neutralizeFormulas} changes, for
 * a writer that tests a cell once for all its rules. Every break and trigger is in the BMP,
 * so walking UTF-16 code units is exact.
 */
export const FORMULA_AT_GUARD = new RegExp(`(^|[${escapeClass([...BREAKS].join(''))}])[${escapeClass([...TRIGGERS].join(''))}]`);

function escapeClass(chars: string): string {
  return chars.replace(/[\\\]^-]/g, '\\$&');
}

/** The cell with an apostrophe before each guarded trigger (and each guarded apostrophe). */
export function neutralizeFormulas(cell: string): string {
  // Most cells hold nothing to guard; one regex test keeps them a single pass.
  if (!FORMULA_AT_GUARD.test(cell)) return cell;
  let out = '';
  let guarded = true;
  for (let i = 0; i < cell.length; i++) {
    const c = cell[i]!;
    if (guarded && TRIGGERS.has(c)) out += "'";
    out += c;
    guarded = BREAKS.has(c);
  }
  return out;
}

/**
 * The exact inverse of {@link neutralizeFormulas}: drops every apostrophe that stands
 * at a guarded position (the start, or after a break character) and keeps the
 * character after it as it is. `restoreFormulas(neutralizeFormulas(s)) === s` for
 * every string s.
 */
export function restoreFormulas(cell: string): string {
  if (!cell.includes("'")) return cell;
  let out = '';
  let guarded = true;
  for (let i = 0; i < cell.length; i++) {
    let c = cell[i]!;
    if (guarded && c === "'" && i + 1 < cell.length) {
      i += 1;
      c = cell[i]!;
    }
    out += c;
    guarded = BREAKS.has(c);
  }
  return out;
}
