import type { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import type ExcelJS from 'exceljs';

export interface WritableStateLike {
  length: number;
  needDrain: boolean;
}
export type BufferedSink = EventEmitter & Pick<Writable, 'write'> & { _writableState: WritableStateLike };

/** What write-xlsx needs of a worksheet beyond exceljs's typed API. */
export interface SheetInternals {
  /**
   * The PassThrough between the worksheet and the zip stream, once everything exceljs has
   * buffered for the sheet so far has been handed to it: from then on, bytes written to it
   * land in the sheet's XML in order, ahead of what exceljs writes when the sheet is committed.
   */
  sink: BufferedSink;
  /** Adds a relationship and the `<hyperlink>` exceljs writes when the sheet is committed. */
  addHyperlink(address: string, target: string): void;
}

/**
 * The sheet's private parts (exceljs 4's streaming WorksheetWriter and archiver), looked up
 * defensively: a release that moves them makes the first workbook fail with this error (and
 * the writer tests with it), never a corrupt file.
 */
export function sheetInternals(sheet: ExcelJS.Worksheet): SheetInternals {
  const s = sheet as unknown as {
    stream?: { pipes?: unknown; uncork?: () => void };
    _sheetRelsWriter?: { addHyperlink?: (h: { address: string; target: string }) => void };
  };
  const stream = s.stream;
  const pipes = stream?.pipes;
  const sink: unknown = Array.isArray(pipes) && pipes.length === 1 ? pipes[0] : undefined;
  const state = (sink as { _writableState?: Partial<WritableStateLike> } | undefined)?._writableState;
  const rels = s._sheetRelsWriter;
  if (
    typeof stream?.uncork !== 'function' ||
    typeof (sink as Writable | undefined)?.write !== 'function' ||
    typeof state?.length !== 'number' ||
    typeof state.needDrain !== 'boolean' ||
    typeof rels?.addHyperlink !== 'function'
  ) {
    throw new Error('this exceljs release does not have the worksheet internals the XLSX writer uses (sheet stream, its pipe, the relationships writer)');
  }
  // exceljs's StreamBuf keeps the last part-filled 64 KiB block until it is full; uncork hands it on.
  stream.uncork();
  return { sink: sink as BufferedSink, addHyperlink: (address, target) => rels.addHyperlink!({ address, target }) };
}
