import { Readable } from 'node:stream';
import { xmlSafeText, type AuditEvent } from '@otel-audit/contract';
import { neutralizeFormulas } from '../neutralize-formulas.js';
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
  const isDate = columns.map((c) => c.key === 'date');
  const line = (cells: string[]) => cells.map(quoted).join(delimiter) + '\n';
  const row = (event: AuditEvent) => line(columns.map((c, i) => neutralizeFormulas(xmlSafeText(isDate[i] ? date(event.time) : c.value(event)))));
  const iterator = events[Symbol.asyncIterator]();
  let pending = (format.bom ? '\ufeff' : '') + line(headerRow(format).map(neutralizeFormulas));
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
