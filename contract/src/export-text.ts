import type { AuditEvent } from './audit-event.js';

/**
 * How an event's `changes` and `metadata` read as text: in the Changes and Metadata export
 * columns (CSV and XLSX) and on a row's details in the web viewer, so all three show the
 * same words. Free of dependencies so that the viewer's bundle can import it alone
 * (`@otel-audit/contract/export-text`).
 */

/** Excel's limit on the characters of one cell; LibreOffice cuts longer text too. */
export const CELL_MAX_CHARS = 32_767;

/** The arrow between a change's old and new value. */
export const CHANGE_ARROW = '→';

/**
 * A value as it reads in a cell: text as it is, anything else as JSON (`null`, `3`,
 * `["a","b"]`). Text holding a line break is quoted as JSON too, so that one change
 * stays on one line of the cell.
 */
function valueText(value: unknown): string {
  if (typeof value === 'string') return /[\r\n\u2028\u2029]/.test(value) ? JSON.stringify(value) : value;
  if (value === undefined) return '';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    // A cycle or a BigInt cannot be in a stored event (it came as JSON); said rather than thrown.
    return String(value);
  }
}

/**
 * One change per line: `email: a@x → b@x`. A side the change does not have is left out
 * (`email: → b@x` for a value set where there was none); a redacted value reads
 * `[REDACTED]`, as stored, since redaction happened before the event was stored.
 */
export function changesText(changes: AuditEvent['changes']): string {
  if (!changes || changes.length === 0) return '';
  return capCell(
    changes
      .map((c) => {
        const hasFrom = 'from' in c && c.from !== undefined;
        const hasTo = 'to' in c && c.to !== undefined;
        if (!hasFrom && !hasTo) return c.field;
        const from = hasFrom ? `${valueText(c.from)} ` : '';
        const to = hasTo ? ` ${valueText(c.to)}` : '';
        return `${c.field}: ${from}${CHANGE_ARROW}${to}`;
      })
      .join('\n'),
  );
}

/** One `key: value` line per metadata key, in the order the event holds them. */
export function metadataText(metadata: AuditEvent['metadata']): string {
  if (!metadata) return '';
  return capCell(
    Object.entries(metadata)
      .map(([key, value]) => `${key}: ${valueText(value)}`)
      .join('\n'),
  );
}

/**
 * A value past a spreadsheet cell's limit is cut, and says so: a change's values are any
 * JSON, so 200 changes can outgrow a cell, and a spreadsheet would cut it without a word.
 */
function capCell(text: string): string {
  if (text.length <= CELL_MAX_CHARS) return text;
  const note = (n: number) => `… (${n} more characters)`;
  let keep = CELL_MAX_CHARS - note(text.length).length;
  // Not between the two halves of a surrogate pair.
  const code = text.charCodeAt(keep - 1);
  if (code >= 0xd800 && code <= 0xdbff) keep -= 1;
  return text.slice(0, keep) + note(text.length - keep);
}
