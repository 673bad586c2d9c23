import type { EventEmitter } from 'node:events';
import type ExcelJS from 'exceljs';

export interface WritableStateLike {
  length: number;
  needDrain: boolean;
}
export type BufferedSink = EventEmitter & { _writableState: WritableStateLike };

/**
 * The PassThrough between a worksheet and the zip stream. Private to exceljs and archiver,
 * so looked up defensively: without it the writer still honours `out`'s back-pressure
 * and yields to the event loop regularly, it just cannot see the sheet's own buffer.
 */
export function sheetSink(sheet: ExcelJS.Worksheet): BufferedSink | undefined {
  const pipes = (sheet as unknown as { stream?: { pipes?: unknown } }).stream?.pipes;
  const sink: unknown = Array.isArray(pipes) ? pipes[0] : undefined;
  if (typeof sink !== 'object' || sink === null) return undefined;
  const state = (sink as { _writableState?: Partial<WritableStateLike> })._writableState;
  if (typeof (sink as EventEmitter).once !== 'function' || typeof state?.length !== 'number' || typeof state.needDrain !== 'boolean') {
    return undefined;
  }
  return sink as BufferedSink;
}
