import { Readable } from 'node:stream';
import { XML_FORBIDDEN, xmlSafeText, type AuditEvent } from '@otel-audit/contract';
import { FORMULA_AT_GUARD, neutralizeFormulas } from '../neutralize-formulas.js';
import { checkFormat, headerRow, type CsvFormat } from './export-format.js';
import { dateText } from './zoned-clock.js';

/** Text handed to the stream at once: a few dozen rows, one push instead of one per row. */
const CHUNK_CHARS = 16 * 1024;

/** RFC 4180 quoting of every non-empty cell; an empty cell has nothing to protect. */
function quoted(cell: string): string {
  if (cell === '') return '';
  return `"${cell.includes('"') ? cell.replaceAll('"', '""') : cell}"`;
}

/**
 * Anything that makes a cell more than itself in quotes: a character XML forbids, a quote to
 * double, a formula trigger at a guarded position. Nearly every cell has none, and one test
 * for all three cost less than the three passes it stands for (bench/RESULTS.md, issue 15).
 */
const NEEDS_WORK = new RegExp(`${XML_FORBIDDEN.source}|"|${FORMULA_AT_GUARD.source}`);

/** A value as its CSV cell: xmlSafeText, then neutralizeFormulas, then quoted. */
function csvCell(value: string): string {
  if (value === '') return '';
  if (!NEEDS_WORK.test(value)) return '"' + value + '"';
  return quoted(neutralizeFormulas(xmlSafeText(value)));
}

/**
 * A Readable of CSV text (RFC 4180, LF line ends, as csv-stringify wrote it before), header
 * first; each cell through xmlSafeText (the same text as the XLSX) and neutralizeFormulas
 * (neutralize-formulas.ts), and quoted, so that a reader using the file's own delimiter
 * cannot split a value. Rows are written straight into text chunks: an object stream per
 * row into a stringifier cost more than the rows themselves (bench/RESULTS.md, issue 15).
 * Back-pressure: it pulls from `events` only while the consumer wants more. Errors in
 * `events` destroy the stream with that error; destroying the stream ends the iteration
 * of `events` (its `return()` runs).
 */
export function csvStream(events: AsyncIterable<AuditEvent>, format: CsvFormat): Readable {
  const columns = checkFormat(format);
  if (format.delimiter !== ',' && format.delimiter !== ';') {
    throw new RangeError(`delimiter must be ',' or ';', got ${JSON.stringify(format.delimiter)}`);
  }
  const delimiter = format.delimiter;
  const date = dateText(format);
  const values = columns.map((c): ((event: AuditEvent) => string) => (c.key === 'date' ? (e) => date(e.time) : c.value));
  const row = (event: AuditEvent) => {
    // One string grown cell by cell: no array of cells per row to build and join.
    let line = csvCell(values[0]!(event));
    for (let i = 1; i < values.length; i++) line += delimiter + csvCell(values[i]!(event));
    return line + '\n';
  };
  const iterator = events[Symbol.asyncIterator]();
  let pending = (format.bom ? '\ufeff' : '') + headerRow(format).map((h) => quoted(neutralizeFormulas(h))).join(delimiter) + '\n';
  let reading = false;

  // Buffers out, as csv-stringify gave: a file or S3 upload takes bytes.
  return new Readable({
    async read() {
      // One loop at a time: read() is called again while a pull from `events` waits.
      if (reading) return;
      reading = true;
      try {
        for (;;) {
          const next = await iterator.next();
          if (this.destroyed) return;
          if (next.done) {
            if (pending) this.push(pending);
            this.push(null);
            return;
          }
          pending += row(next.value);
          if (pending.length >= CHUNK_CHARS) {
            const more = this.push(pending);
            pending = '';
            if (!more) return;
          }
        }
      } catch (err) {
        this.destroy(err as Error);
      } finally {
        reading = false;
      }
    },
    destroy(err, callback) {
      // Ends a query (and its point in time) whose reader went away; its own error changes nothing.
      Promise.resolve(iterator.return?.())
        .catch(() => undefined)
        .then(() => callback(err));
    },
  });
}
