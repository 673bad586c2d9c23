import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import { finished, pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@otel-audit/contract';
import { convertWithLibreOffice, libreOfficeNote, skipLibreOffice } from '../../test/support/libreoffice.js';
import {
  csvStream,
  EXCEL_MAX_HYPERLINKS_PER_SHEET,
  EXPORT_FORMAT_DEFAULTS,
  headerRow,
  isValidTimeZone,
  writeXlsx,
  type CsvFormat,
  type XlsxFormat,
} from '../src/internal/export-writers.js';

const ALL_HEADERS = [
  'Date (UTC)', 'User', 'User ID', 'Workspace', 'Action', 'Category', 'Resource', 'Target',
  'Outcome', 'IP address', 'User agent', 'Details', 'Event ID', 'Service', 'Trace ID', 'Span ID', 'Changes', 'Metadata',
];

function eventId(n: number): string {
  return `0190a0b0-0000-7000-8000-${String(n).padStart(12, '0')}`;
}

function event(n: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: eventId(n),
    time: '2026-11-22T03:04:05.678Z',
    action: 'api_token.create',
    category: 'iam',
    outcome: 'success',
    actor: { id: `u-${n}`, name: `User ${n}`, type: 'user' },
    ...overrides,
  };
}

async function* from<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) yield item;
}

const csvFormat = (over: Partial<CsvFormat> = {}): CsvFormat => ({ ...EXPORT_FORMAT_DEFAULTS, ...over });
const xlsxFormat = (over: Partial<XlsxFormat> = {}): XlsxFormat => ({ ...EXPORT_FORMAT_DEFAULTS, ...over });
const parseCsv = (csv: string, delimiter = ','): string[][] => parse(csv, { bom: true, delimiter });
const nextTurn = (ms = 50) => new Promise((resolve) => setTimeout(resolve, ms));

/** An async source that counts what has been pulled from it and whether it was closed. */
function countingSource(total: number, make: (i: number) => AuditEvent = (i) => event(i)) {
  const state = { pulled: 0, closed: false };
  async function* events() {
    try {
      for (let i = 0; i < total; i++) {
        state.pulled += 1;
        yield make(i);
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, events: events() };
}

describe('time zones and headers', () => {
  it('accepts IANA zones and refuses anything else', () => {
    for (const tz of ['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata']) expect(isValidTimeZone(tz)).toBe(true);
    for (const tz of ['', 'Mars/Olympus_Mons', 'Europe/Paris; DROP', 'not a zone']) expect(isValidTimeZone(tz)).toBe(false);
  });

  it('names the zone in the date header and keeps the column order asked for', () => {
    expect(headerRow(EXPORT_FORMAT_DEFAULTS)).toEqual(ALL_HEADERS);
    expect(headerRow({ ...EXPORT_FORMAT_DEFAULTS, timeZone: 'Europe/Paris', columns: ['eventId', 'date'] })).toEqual([
      'Event ID',
      'Date (Europe/Paris)',
    ]);
  });

  it('refuses an unknown zone, column or delimiter before reading any event', () => {
    const { state, events } = countingSource(5);
    expect(() => csvStream(events, csvFormat({ timeZone: 'Nowhere/Land' }))).toThrow(/unknown time zone "Nowhere\/Land"/);
    expect(() => csvStream(events, csvFormat({ columns: ['date', 'password' as 'date'] }))).toThrow(/unknown export column "password"/);
    expect(() => csvStream(events, csvFormat({ columns: [] }))).toThrow(RangeError);
    expect(() => csvStream(events, csvFormat({ delimiter: '\t' as ',' }))).toThrow(/delimiter/);
    expect(state.pulled).toBe(0);
  });
});

describe('CSV', () => {
  // Bytes, not stream/consumers' text(): its TextDecoder would swallow a BOM.
  const csvOf = async (events: AuditEvent[], over: Partial<CsvFormat> = {}) =>
    (await buffer(csvStream(from(events), csvFormat(over)))).toString('utf8');

  it('round-trips awkward values through csv-parse, with formula-looking cells neutralised', async () => {
    const long = 'x'.repeat(4_990) + ' end.';
    const cases: Array<[Partial<AuditEvent>, string[]]> = [
      [
        { actor: { id: 'u-1', name: 'Doe, Jane', type: 'user' }, resource: { type: 'doc', name: 'He said "hi"' }, message: 'line 1\nline 2\r\nline 3' },
        ['Doe, Jane', 'He said "hi"', 'line 1\nline 2\r\nline 3'],
      ],
      [
        { actor: { id: 'u-2', name: 'Zoë 🦄 日本語 — ok', type: 'user' }, resource: { type: 'doc', name: 'tab\tinside' }, message: long },
        ['Zoë 🦄 日本語 — ok', 'tab\tinside', long],
      ],
      [
        { actor: { id: 'u-3', name: '=HYPERLINK("x")', type: 'user' }, resource: { type: 'doc', name: '+1' }, message: '-2' },
        [`'=HYPERLINK("x")`, `'+1`, `'-2`],
      ],
      [
        { actor: { id: 'u-4', name: '@SUM(A1)', type: 'user' }, resource: { type: 'doc', name: '\t=leading tab' }, message: '\n-leading newline' },
        [`'@SUM(A1)`, `\t'=leading tab`, `\n'-leading newline`],
      ],
      [
        { actor: { id: 'u-5', name: '\rleading CR', type: 'user' }, resource: { type: 'doc', id: 'a;b' }, reason: 'why, "because"' },
        ['\rleading CR', 'a;b', 'why, "because"'],
      ],
      [
        // A trigger after any character a spreadsheet may split on (neutralize-formulas.ts).
        { actor: { id: 'u-6', name: 'x;=1+1;y', type: 'user' }, resource: { type: 'doc', name: 'x,＝1+1' }, message: "'already" },
        [`x;'=1+1;y`, `x,'＝1+1`, `''already`],
      ],
    ];
    const events = cases.map(([over], i) => event(i, over));
    const csv = await csvOf(events, { columns: ['date', 'user', 'target', 'details', 'eventId'] });
    expect(csv.length).toBeGreaterThan(5_000);
    expect(parseCsv(csv)).toEqual([
      ['Date (UTC)', 'User', 'Target', 'Details', 'Event ID'],
      ...cases.map(([, cells], i) => ['2026-11-22T03:04:05.678Z', ...cells, eventId(i)]),
    ]);
  });

  it('writes every column by default, in the EXPORT_COLUMNS order', async () => {
    const e = event(7, {
      outcome: 'failure',
      actor: { id: 'u-7', name: 'Alice', type: 'user' },
      workspace: { id: 'acme', name: 'Acme' },
      resource: { type: 'api_token', id: 'tok-7', name: 'CI deploy' },
      client: { ip: '203.0.113.7', userAgent: 'curl/8.5.0' },
      message: 'API token created',
      reason: 'expired',
      service: { name: 'billing-api' },
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      changes: [{ field: 'scopes', from: ['read'], to: ['read', 'write'] }],
      metadata: { ttlDays: 30 },
    });
    expect(parseCsv(await csvOf([e]))).toEqual([
      ALL_HEADERS,
      ['2026-11-22T03:04:05.678Z', 'Alice', 'u-7', 'Acme', 'api_token.create', 'iam', 'api_token', 'CI deploy', 'failure',
        '203.0.113.7', 'curl/8.5.0', 'API token created — expired', eventId(7), 'billing-api', '4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7',
        'scopes: ["read"] → ["read","write"]', 'ttlDays: 30'],
    ]);
  });

  it('uses ; as the delimiter when asked', async () => {
    const e = event(1, { actor: { id: 'u-1', name: 'Doe; Jane, Jr.', type: 'user' } });
    const csv = await csvOf([e], { delimiter: ';', columns: ['date', 'user', 'eventId'] });
    // Every non-empty cell is quoted, so a reader using the file's delimiter cannot split one.
    expect(csv.split('\n')[0]).toBe('"Date (UTC)";"User";"Event ID"');
    expect(parseCsv(csv, ';')).toEqual([
      ['Date (UTC)', 'User', 'Event ID'],
      ['2026-11-22T03:04:05.678Z', 'Doe; Jane, Jr.', eventId(1)],
    ]);
  });

  it('starts with a UTF-8 BOM only when asked', async () => {
    const withBom = await csvOf([event(1)], { bom: true });
    const without = await csvOf([event(1)]);
    expect(withBom.charCodeAt(0)).toBe(0xfeff);
    expect(withBom.slice(1)).toBe(without);
    expect(without.startsWith('"Date (UTC)",')).toBe(true);
    // And the bytes on the wire are EF BB BF.
    expect([...Buffer.from(withBom, 'utf8').subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  });

  it('writes the header alone when there are no events', async () => {
    expect(await csvOf([], { bom: true })).toBe(`\ufeff${ALL_HEADERS.map((h) => `"${h}"`).join(',')}\n`);
  });

  it('formats the date in the zone asked for, as ISO 8601 with its offset or as on the CyberPass page', async () => {
    const at = (time: string, timeZone: string, dateFormat: 'iso' | 'us') =>
      csvOf([event(1, { time })], { timeZone, dateFormat, columns: ['date'] }).then((csv) => parseCsv(csv));
    expect(await at('2026-11-22T03:04:05Z', 'America/New_York', 'us')).toEqual([['Date (America/New_York)'], ['11/21/2026 22:04:05']]);
    expect(await at('2026-11-22T03:04:05Z', 'Asia/Kolkata', 'iso')).toEqual([['Date (Asia/Kolkata)'], ['2026-11-22T08:34:05.000+05:30']]);
    const cases: Array<[string, string, 'iso' | 'us', string]> = [
      ['2026-11-22T03:04:05.678Z', 'Europe/Paris', 'iso', '2026-11-22T04:04:05.678+01:00'],
      ['2026-07-01T22:30:00.001Z', 'Europe/Paris', 'iso', '2026-07-02T00:30:00.001+02:00'],
      ['2026-11-22T03:04:05.678Z', 'UTC', 'iso', '2026-11-22T03:04:05.678Z'],
      ['2026-11-22T03:04:05.678Z', 'UTC', 'us', '11/22/2026 03:04:05'],
      ['2026-11-22T04:04:05.678+01:00', 'UTC', 'iso', '2026-11-22T03:04:05.678Z'],
      ['2026-11-22T03:04:05.123456789Z', 'UTC', 'iso', '2026-11-22T03:04:05.123Z'],
      ['2026-01-01T00:00:00Z', 'America/Los_Angeles', 'us', '12/31/2025 16:00:00'],
      ['2026-11-22T03:04:05Z', 'Asia/Kathmandu', 'iso', '2026-11-22T08:49:05.000+05:45'],
      ['2026-11-22T03:04:05Z', 'America/St_Johns', 'iso', '2026-11-21T23:34:05.000-03:30'],
      // Paris kept local mean time until 1911: an offset with seconds.
      ['1900-01-01T00:00:00Z', 'Europe/Paris', 'iso', '1900-01-01T00:09:21.000+00:09:21'],
    ];
    for (const [time, timeZone, dateFormat, expected] of cases) {
      expect((await at(time, timeZone, dateFormat))[1], `${time} in ${timeZone}`).toEqual([expected]);
    }
  });

  it('follows a daylight-saving change that falls inside a UTC hour', async () => {
    // St. John's springs forward at 02:00 local (-03:30), 05:30 UTC, to 03:00 (-02:30).
    const times = ['2026-03-08T05:10:00.000Z', '2026-03-08T05:29:59.999Z', '2026-03-08T05:30:00.000Z', '2026-03-08T05:50:00.000Z'];
    const csv = await csvOf(times.map((time, i) => event(i, { time })), { timeZone: 'America/St_Johns', columns: ['date'] });
    expect(parseCsv(csv).slice(1).flat()).toEqual([
      '2026-03-08T01:40:00.000-03:30',
      '2026-03-08T01:59:59.999-03:30',
      '2026-03-08T03:00:00.000-02:30',
      '2026-03-08T03:20:00.000-02:30',
    ]);
  });

  it('pulls events only as the consumer reads', async () => {
    const total = 50_000;
    const { state, events } = countingSource(total);
    const stream = csvStream(events, csvFormat());
    await nextTurn();
    // Nothing is read ahead beyond a chunk or two of text, or nothing at all before the first read.
    const early = state.pulled;
    expect(early).toBeLessThan(500);
    // Still bounded a while later (not "exactly as many": a loaded machine may still be filling
    // the stream's buffer after one turn); without back-pressure all 50,000 would be pulled.
    await nextTurn(1000);
    expect(state.pulled).toBeLessThan(500);
    const lines = (await text(stream)).trimEnd().split('\n');
    expect(lines).toHaveLength(total + 1);
    expect(state.pulled).toBe(total);
    expect(state.closed).toBe(true);
  });

  it('is destroyed with the error of the event source', async () => {
    async function* failing() {
      yield event(1);
      throw new Error('store went away');
    }
    const stream = csvStream(failing(), csvFormat());
    await expect(text(stream)).rejects.toThrow('store went away');
    expect(stream.destroyed).toBe(true);
  });

  it('ends the iteration of the events when the consumer destroys the stream', async () => {
    const { state, events } = countingSource(1_000_000);
    const stream = csvStream(events, csvFormat());
    for await (const chunk of stream) {
      expect(String(chunk)).toContain('Date (UTC)');
      break; // destroys the stream
    }
    await nextTurn();
    expect(state.closed).toBe(true);
    expect(state.pulled).toBeLessThan(1_000);
  });
});

describe('XLSX', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-xlsx-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function writeFile(name: string, events: AsyncIterable<AuditEvent>, format: XlsxFormat) {
    const path = join(dir, name);
    const out = createWriteStream(path);
    const result = await writeXlsx(events, out, format);
    await finished(out);
    return { path, result };
  }
  async function readBack(path: string) {
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(path);
    return workbook;
  }
  const rowValues = (row: ExcelJS.Row) => (row.values as unknown[]).slice(1);

  it('round-trips values, real dates, hyperlinks and the frozen, filtered header', async () => {
    const events = [
      event(1, {
        actor: { id: 'u-1', name: '=HYPERLINK("http://evil.example/","click")', type: 'user' },
        workspace: { id: 'acme', name: 'Zoë 🦄 日本語' },
        resource: { type: 'api_token', id: 'tok-1', name: 'CI deploy', href: 'https://app.example.com/tokens/tok-1' },
        client: { ip: '203.0.113.7', userAgent: 'curl/8.5.0' },
        message: 'line 1\nline 2, "quoted"\ttab',
        service: { name: 'billing-api' },
      }),
      event(2, {
        time: '2026-07-01T22:30:00.001Z',
        resource: { type: 'page', name: 'Bad link', href: 'javascript:alert(1)' },
        message: '+1',
      }),
      event(3, { resource: { type: 'file', id: 'f-3', href: 'file:///etc/passwd' }, message: '@SUM(A1)' }),
      event(4, { resource: { type: 'page', href: 'http://app.example.com/p?q=1&r=2' }, message: '-2' }),
      event(5, { resource: { type: 'blob', name: 'Data', href: 'data:text/html,<script>alert(1)</script>' } }),
    ];
    const format = xlsxFormat({ timeZone: 'Europe/Paris' });
    const { path, result } = await writeFile('round-trip.xlsx', from(events), format);
    expect(result).toEqual({ rows: 5, sheets: 1 });

    const workbook = await readBack(path);
    expect(workbook.worksheets.map((w) => w.name)).toEqual(['Audit log']);
    const ws = workbook.worksheets[0]!;
    expect(ws.rowCount).toBe(6);

    const header = ws.getRow(1);
    expect(rowValues(header)).toEqual(headerRow(format));
    expect(header.getCell(1).value).toBe('Date (Europe/Paris)');
    for (let c = 1; c <= ALL_HEADERS.length; c++) expect(header.getCell(c).font?.bold).toBe(true);
    expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(ws.autoFilter).toBe('A1:R6');
    expect(ws.getColumn(1).width).toBe(24);
    expect(ws.getColumn(13).width).toBe(38);

    const row = (n: number) => ws.getRow(n + 1);
    // Date cells: real dates holding the Paris wall clock (Excel dates have no zone).
    const d1 = row(1).getCell(1);
    expect(d1.type).toBe(ExcelJS.ValueType.Date);
    expect(d1.value).toBeInstanceOf(Date);
    expect((d1.value as Date).toISOString()).toBe('2026-11-22T04:04:05.678Z');
    expect(d1.numFmt).toBe('yyyy-mm-dd hh:mm:ss.000');
    expect((row(2).getCell(1).value as Date).toISOString()).toBe('2026-07-02T00:30:00.001Z');

    // A formula-looking string stays a string: no neutralisation needed, and no formula.
    const user = row(1).getCell(2);
    expect(user.value).toBe('=HYPERLINK("http://evil.example/","click")');
    expect(user.type).toBe(ExcelJS.ValueType.String);
    expect(user.type).not.toBe(ExcelJS.ValueType.Formula);
    expect(user.formula).toBeUndefined();
    for (const [n, value] of [[2, '+1'], [3, '@SUM(A1)'], [4, '-2']] as const) {
      expect(row(n).getCell(12).value).toBe(value);
      expect(row(n).getCell(12).type).toBe(ExcelJS.ValueType.String);
    }
    expect(rowValues(row(1)).slice(1)).toEqual([
      '=HYPERLINK("http://evil.example/","click")', 'u-1', 'Zoë 🦄 日本語', 'api_token.create', 'iam', 'api_token',
      { text: 'CI deploy', hyperlink: 'https://app.example.com/tokens/tok-1' },
      'success', '203.0.113.7', 'curl/8.5.0', 'line 1\nline 2, "quoted"\ttab', eventId(1), 'billing-api',
    ]);

    // Target: http(s) hrefs are links, other schemes plain text.
    expect(row(1).getCell(8).type).toBe(ExcelJS.ValueType.Hyperlink);
    expect(row(4).getCell(8).value).toEqual({ text: 'http://app.example.com/p?q=1&r=2', hyperlink: 'http://app.example.com/p?q=1&r=2' });
    for (const [n, text] of [[2, 'Bad link'], [3, 'f-3'], [5, 'Data']] as const) {
      expect(row(n).getCell(8).type, `row ${n}`).toBe(ExcelJS.ValueType.String);
      expect(row(n).getCell(8).value).toBe(text);
      expect(row(n).getCell(8).hyperlink).toBeUndefined();
    }
  });

  it('uses the US date format and only the columns asked for', async () => {
    const format = xlsxFormat({ timeZone: 'America/New_York', dateFormat: 'us', columns: ['eventId', 'date'], sheetName: 'Security log' });
    const { path } = await writeFile('us.xlsx', from([event(1, { time: '2026-11-22T03:04:05Z' })]), format);
    const ws = (await readBack(path)).getWorksheet('Security log')!;
    expect(rowValues(ws.getRow(1))).toEqual(['Event ID', 'Date (America/New_York)']);
    const date = ws.getRow(2).getCell(2);
    expect((date.value as Date).toISOString()).toBe('2026-11-21T22:04:05.000Z');
    expect(date.numFmt).toBe('mm/dd/yyyy hh:mm:ss');
    expect(ws.autoFilter).toBe('A1:B2');
  });

  it('escapes markup in the row XML it writes, drops DEL as exceljs does, and keeps a time it cannot read as text', async () => {
    const events = [
      event(1, { message: `a < b && c > "d" 'e'\x7F!`, resource: { type: 'doc', name: '<Q&A>', href: 'https://app.example.com/d?a=1&b="2"' } }),
      event(2, { time: 'not a time', changes: [{ field: 'x<y', from: '&', to: '"' }] }),
    ];
    const { path } = await writeFile('markup.xlsx', from(events), xlsxFormat({ columns: ['date', 'details', 'target', 'changes'] }));
    const ws = (await readBack(path)).worksheets[0]!;
    expect(ws.getRow(2).getCell(2).value).toBe(`a < b && c > "d" 'e'!`);
    expect(ws.getRow(2).getCell(3).value).toEqual({ text: '<Q&A>', hyperlink: 'https://app.example.com/d?a=1&b=%222%22' });
    expect(ws.getRow(2).getCell(3).font?.underline).toBe(true);
    expect(ws.getRow(3).getCell(1).value).toBe('not a time');
    expect(ws.getRow(3).getCell(1).type).toBe(ExcelJS.ValueType.String);
    expect(String(ws.getRow(3).getCell(4).value)).toContain('x<y');
    expect(ws.getRow(3).getCell(4).alignment?.wrapText).toBe(true);
    expect(ws.getRow(3).getCell(2).alignment?.wrapText).toBeUndefined();
  });

  it('starts a new worksheet after maxRowsPerSheet rows, each with the header, pane and filter', async () => {
    const events = Array.from({ length: 25 }, (_, i) => event(i));
    const { path, result } = await writeFile('rollover.xlsx', from(events), xlsxFormat({ maxRowsPerSheet: 10 }));
    expect(result).toEqual({ rows: 25, sheets: 3 });
    const workbook = await readBack(path);
    expect(workbook.worksheets.map((w) => w.name)).toEqual(['Audit log', 'Audit log 2', 'Audit log 3']);
    expect(workbook.worksheets.map((w) => w.rowCount - 1)).toEqual([10, 10, 5]);
    const ids: unknown[] = [];
    for (const ws of workbook.worksheets) {
      expect(rowValues(ws.getRow(1))).toEqual(ALL_HEADERS);
      expect(ws.getRow(1).getCell(1).font?.bold).toBe(true);
      expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
      expect(ws.autoFilter).toBe(`A1:R${ws.rowCount}`);
      for (let r = 2; r <= ws.rowCount; r++) ids.push(ws.getRow(r).getCell(13).value);
    }
    expect(ids).toEqual(events.map((e) => e.id));
  });

  it('writes an empty sheet with its header when there are no events', async () => {
    const { path, result } = await writeFile('empty.xlsx', from([]), xlsxFormat());
    expect(result).toEqual({ rows: 0, sheets: 1 });
    const ws = (await readBack(path)).worksheets[0]!;
    expect(ws.rowCount).toBe(1);
    expect(rowValues(ws.getRow(1))).toEqual(ALL_HEADERS);
  });

  it(`links at most ${EXCEL_MAX_HYPERLINKS_PER_SHEET} targets per worksheet, then writes plain text`, async () => {
    const total = EXCEL_MAX_HYPERLINKS_PER_SHEET + 2;
    const { events } = countingSource(total, (i) => event(i, { resource: { type: 'doc', name: `Doc ${i}`, href: `https://app.example.com/d/${i}` } }));
    const { path } = await writeFile('links.xlsx', events, xlsxFormat({ columns: ['target'] }));
    const ws = (await readBack(path)).worksheets[0]!;
    expect(ws.rowCount).toBe(total + 1);
    const last = EXCEL_MAX_HYPERLINKS_PER_SHEET - 1;
    expect(ws.getRow(last + 2).getCell(1).value).toEqual({ text: `Doc ${last}`, hyperlink: `https://app.example.com/d/${last}` });
    expect(ws.getRow(last + 3).getCell(1).value).toBe(`Doc ${last + 1}`);
    expect(ws.getRow(last + 4).getCell(1).value).toBe(`Doc ${last + 2}`);
  });

  it('stops pulling events while the output does not drain, and finishes once it does', async () => {
    const total = 200_000;
    const { state, events } = countingSource(total, (i) => event(i, { message: `event number ${i} `.repeat(4) }));
    let held: Array<() => void> | undefined = [];
    let bytes = 0;
    const out = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        if (held) held.push(callback);
        else callback();
      },
    });
    const done = writeXlsx(events, out, xlsxFormat());
    // Until the pipeline settles: on a loaded machine the last buffered chunk can take a while.
    let stalled = -1;
    for (let i = 0; i < 40 && state.pulled !== stalled; i += 1) {
      stalled = state.pulled;
      await nextTurn(300);
    }
    expect(stalled).toBeGreaterThan(0);
    expect(stalled).toBeLessThan(total / 4);
    // Still held back a while later. Not "not one more event": on a loaded machine the pipeline
    // can pause longer than a turn and then take the last buffered row or two. Without
    // back-pressure the writer would have pulled all 200,000 by now.
    await nextTurn(1000);
    expect(state.pulled).toBeLessThan(total / 4);
    const release = held;
    held = undefined;
    release.forEach((callback) => callback());
    expect(await done).toEqual({ rows: total, sheets: 1 });
    expect(state.pulled).toBe(total);
    expect(bytes).toBeGreaterThan(1_000_000);
  });

  it('rejects with the error of the event source, destroys the output and ends the iteration', async () => {
    const state = { closed: false };
    async function* failing() {
      try {
        for (let i = 0; i < 3; i++) yield event(i);
        throw new Error('store went away');
      } finally {
        state.closed = true;
      }
    }
    // As the routes use it: a PassThrough that something else pipes on.
    const out = new PassThrough();
    const piped = pipeline(out, createWriteStream(join(dir, 'failed.xlsx')));
    await expect(writeXlsx(failing(), out, xlsxFormat())).rejects.toThrow('store went away');
    await expect(piped).rejects.toThrow('store went away');
    expect(out.destroyed).toBe(true);
    expect(state.closed).toBe(true);
    // With nobody else listening, the error must not escape as an uncaught 'error' event.
    const lonely = createWriteStream(join(dir, 'failed-too.xlsx'));
    await expect(writeXlsx(failing(), lonely, xlsxFormat())).rejects.toThrow('store went away');
    await nextTurn();
    expect(lonely.destroyed).toBe(true);
  });

  it('rejects and stops reading events when the output closes early', async () => {
    const { state, events } = countingSource(1_000_000);
    let written = 0;
    const out = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        written += chunk.length;
        // A client that hangs up after the first bytes.
        if (written > 64 * 1024) out.destroy();
        callback();
      },
    });
    await expect(writeXlsx(events, out, xlsxFormat())).rejects.toThrow(/closed before the workbook was complete/);
    expect(state.closed).toBe(true);
    expect(state.pulled).toBeLessThan(1_000_000);
  });

  it('refuses a bad maxRowsPerSheet or sheet name', async () => {
    const out = () => new Writable({ write: (_c, _e, cb) => cb() });
    await expect(writeXlsx(from([]), out(), xlsxFormat({ maxRowsPerSheet: 0 }))).rejects.toThrow(/maxRowsPerSheet/);
    await expect(writeXlsx(from([]), out(), xlsxFormat({ maxRowsPerSheet: 1_048_576 }))).rejects.toThrow(/maxRowsPerSheet/);
    await expect(writeXlsx(from([]), out(), xlsxFormat({ sheetName: 'a/b' }))).rejects.toThrow(/sheetName/);
    await expect(writeXlsx(from([]), out(), xlsxFormat({ sheetName: 'x'.repeat(32) }))).rejects.toThrow(/sheetName/);
  });
});

describe('XLSX read by LibreOffice', () => {
  it.skipIf(skipLibreOffice)(
    `converts to CSV with the same rows${libreOfficeNote}`,
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'otel-audit-soffice-'));
      try {
        const events = [
          event(1, { actor: { id: 'u-1', name: '=HYPERLINK("x")', type: 'user' }, resource: { type: 'doc', name: 'Doc', href: 'https://app.example.com/d/1' } }),
          ...Array.from({ length: 11 }, (_, i) => event(i + 2, { message: `message ${i + 2}, "quoted"` })),
          event(13, {
            changes: [
              { field: 'email', from: 'a@x', to: 'b@x' },
              { field: 'password', from: '[REDACTED]', to: '[REDACTED]' },
            ],
            metadata: { via: 'admin console', mfa: true },
          }),
        ];
        const file = join(dir, 'audit.xlsx');
        const out = createWriteStream(file);
        await writeXlsx(from(events), out, xlsxFormat({ maxRowsPerSheet: 100 }));
        await finished(out);
        // 44,34,76: comma, quote, UTF-8 (the default charset would turn → into ?).
        const [csv] = await convertWithLibreOffice([file], 'csv', dir, undefined, '44,34,76');
        const rows = parseCsv(readFileSync(csv!, 'utf8'));
        expect(rows).toHaveLength(events.length + 1);
        expect(rows[0]).toEqual(ALL_HEADERS);
        expect(rows[1]![0]).toBe('2026-11-22 03:04:05.678');
        expect(rows[1]![1]).toBe('=HYPERLINK("x")');
        expect(rows[1]![7]).toBe('Doc');
        expect(rows[3]![11]).toBe('message 3, "quoted"');
        expect(rows[12]![12]).toBe(eventId(12));
        // The last two columns (Q, R), one item per line of the cell.
        expect(rows[13]!.slice(16)).toEqual(['email: a@x → b@x\npassword: [REDACTED] → [REDACTED]', 'via: admin console\nmfa: true']);
        expect(rows[12]!.slice(16)).toEqual(['', '']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    180_000,
  );
});

const slow = process.env.AUDIT_SLOW_TESTS === '1';

describe('XLSX at Excel scale', () => {
  it.skipIf(!slow)(
    `writes 1,100,000 rows into 2 worksheets with flat memory${slow ? '' : ' (skipped: set AUDIT_SLOW_TESTS=1 to run)'}`,
    async () => {
      const total = 1_100_000;
      const dir = mkdtempSync(join(tmpdir(), 'otel-audit-xlsx-big-'));
      const MiB = 1024 * 1024;
      const startRss = process.memoryUsage().rss;
      let peakRss = startRss;
      const sample = () => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      };
      const base = Date.parse('2026-01-01T00:00:00Z');
      async function* events(): AsyncGenerator<AuditEvent> {
        for (let i = 0; i < total; i++) {
          if (i % 5_000 === 0) sample();
          yield event(i, {
            time: new Date(base + i * 1_000).toISOString(),
            workspace: { id: 'acme', name: 'Acme' },
            resource: { type: 'api_token', id: `tok-${i}`, name: `Token ${i}`, href: `https://app.example.com/tokens/tok-${i}` },
            client: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' },
            message: 'API token created',
          });
        }
      }
      try {
        const file = join(dir, 'big.xlsx');
        const out = createWriteStream(file);
        const timer = setInterval(sample, 200);
        const started = Date.now();
        const result = await writeXlsx(events(), out, xlsxFormat({ timeZone: 'Europe/Paris' }));
        await finished(out);
        const seconds = (Date.now() - started) / 1000;
        clearInterval(timer);
        sample();
        console.log(
          `[export-writers] ${total.toLocaleString('en-US')} XLSX rows in ${seconds.toFixed(1)} s, ` +
            `${(statSync(file).size / MiB).toFixed(0)} MiB file, RSS ${(startRss / MiB).toFixed(0)} MiB before, peak ${(peakRss / MiB).toFixed(0)} MiB`,
        );
        expect(result).toEqual({ rows: total, sheets: 2 });
        expect(peakRss).toBeLessThan(400 * MiB);

        const reader = new ExcelJS.stream.xlsx.WorkbookReader(file, {
          worksheets: 'emit',
          sharedStrings: 'ignore',
          hyperlinks: 'ignore',
          styles: 'ignore',
          entries: 'ignore',
        });
        const dataRows: number[] = [];
        for await (const worksheet of reader) {
          let n = 0;
          for await (const row of worksheet) {
            n += 1;
            expect(row.number).toBe(n); // no gap, no repeat
          }
          dataRows.push(n - 1);
        }
        expect(dataRows).toEqual([1_048_575, 51_425]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    15 * 60_000,
  );
});
