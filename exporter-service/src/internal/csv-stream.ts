import { pipeline, Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { xmlSafeText, type AuditEvent } from '@otel-audit/contract';
import { neutralizeFormulas } from '../neutralize-formulas.js';
import { checkFormat, headerRow, type CsvFormat } from './export-format.js';
import { dateText } from './zoned-clock.js';


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
