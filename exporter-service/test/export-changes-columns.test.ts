import { buffer } from 'node:stream/consumers';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CELL_MAX_CHARS, EXPORT_COLUMNS, REDACTED, changesText, metadataText, redact, DEFAULT_REDACT, type AuditEvent } from '@otel-audit/contract';
import { restoreFormulas } from '../src/index.js';
import { csvStream, EXPORT_FORMAT_DEFAULTS, writeXlsx } from '../src/internal/export-writers.js';

const base: AuditEvent = {
  id: '0190a0b0-0000-7000-8000-000000000001',
  time: '2026-11-22T03:04:05.678Z',
  action: 'user.update',
  category: 'iam',
  outcome: 'success',
  actor: { id: 'u-1', type: 'user' },
};

async function* from<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) yield item;
}

const csvRows = async (events: AuditEvent[]) =>
  parse((await buffer(csvStream(from(events), { ...EXPORT_FORMAT_DEFAULTS, delimiter: ',', bom: false }))).toString('utf8')) as string[][];

describe('Changes and Metadata columns', () => {
  it('come after Span ID, so the earlier columns keep their letters', () => {
    const keys = EXPORT_COLUMNS.map((c) => c.key);
    expect(keys.slice(-3)).toEqual(['spanId', 'changes', 'metadata']);
    expect(keys.indexOf('service')).toBe(13); // N
  });

  it('read one change per line, old → new, with redacted values kept redacted', async () => {
    // As the collector stores it: redaction ran before the store.
    const event = redact(
      {
        ...base,
        changes: [
          { field: 'email', from: 'a@x', to: 'b@x' },
          { field: 'password', from: 'hunter2', to: 'correct horse' },
          { field: 'nickname', to: 'Al' },
          { field: 'manager', from: 'u-9' },
          { field: 'avatar' },
          { field: 'roles', from: null, to: ['admin', 'auditor'] },
          { field: 'bio', from: 'line one\nline two', to: '' },
        ],
        metadata: { source: 'admin console', attempts: 2, mfa: false, apiKey: 'sk-live-123' },
      },
      DEFAULT_REDACT,
    );
    const [header, row] = await csvRows([event]);
    expect(header!.slice(-2)).toEqual(['Changes', 'Metadata']);
    expect(row!.at(-2)!.split('\n')).toEqual([
      'email: a@x → b@x',
      `password: ${REDACTED} → ${REDACTED}`,
      'nickname: → Al',
      'manager: u-9 →',
      'avatar',
      'roles: null → ["admin","auditor"]',
      'bio: "line one\\nline two" → ',
    ]);
    expect(row!.at(-1)!.split('\n')).toEqual(['source: admin console', 'attempts: 2', 'mfa: false', `apiKey: ${REDACTED}`]);
    expect(row!.join('\n')).not.toContain('hunter2');
    expect(row!.join('\n')).not.toContain('sk-live-123');
  });

  it('neutralise a formula on any line of the cell, in the CSV', async () => {
    const event = { ...base, changes: [{ field: 'name', from: 'Bob', to: '=HYPERLINK("http://evil")' }], metadata: { note: '+1', x: '@SUM(A1)' } };
    const [, row] = await csvRows([event]);
    // `→ =` is guarded (a space before it), and each `key: value` line too.
    expect(row!.at(-2)).toBe(`name: Bob → '=HYPERLINK("http://evil")`);
    expect(row!.at(-1)).toBe("note: '+1\nx: '@SUM(A1)");
    expect(restoreFormulas(row!.at(-2)!)).toBe(changesText(event.changes));
  });

  it('are text cells with wrapped lines in the XLSX', async () => {
    const event = { ...base, changes: [{ field: 'email', from: 'a@x', to: 'b@x' }, { field: 'plan', from: 'free', to: 'pro' }], metadata: { via: 'api' } };
    const out = new PassThrough();
    const [, bytes] = await Promise.all([writeXlsx(from([event]), out, { ...EXPORT_FORMAT_DEFAULTS }), buffer(out)]);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(bytes as never);
    const sheet = workbook.worksheets[0]!;
    expect(sheet.getRow(1).getCell(17).value).toBe('Changes');
    const changes = sheet.getRow(2).getCell(17);
    expect(changes.value).toBe('email: a@x → b@x\nplan: free → pro');
    expect(changes.alignment?.wrapText).toBe(true);
    expect(sheet.getRow(2).getCell(18).value).toBe('via: api');
  });

  it('cut a cell past the spreadsheet limit and say how much is left out', () => {
    const changes = Array.from({ length: 200 }, (_, i) => ({ field: `f${i}`, from: 'x'.repeat(400), to: 'y'.repeat(400) }));
    const text = changesText(changes);
    expect(text.length).toBeLessThanOrEqual(CELL_MAX_CHARS);
    expect(text).toMatch(/… \(\d+ more characters\)$/);
    const full = changes.map((c) => `${c.field}: ${c.from} → ${c.to}`).join('\n');
    const left = Number(/\((\d+) more characters\)$/.exec(text)![1]);
    expect(text.slice(0, text.lastIndexOf('…'))).toBe(full.slice(0, full.length - left));
  });

  it('hold every change and metadata key, one line each, for any values (property)', () => {
    const line = fc.string({ maxLength: 20 }).filter((s) => !/[\r\n\u2028\u2029]/.test(s));
    const json = fc.oneof(line, fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }));
    fc.assert(
      fc.property(
        fc.array(fc.record({ field: fc.string({ minLength: 1, maxLength: 10 }).filter((s) => !/[\r\n\u2028\u2029]/.test(s)), from: json, to: json }), { maxLength: 10 }),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }).filter((s) => !/[\r\n\u2028\u2029]/.test(s)), fc.oneof(line, fc.integer(), fc.boolean()), { maxKeys: 10 }),
        (changes, metadata) => {
          const c = changesText(changes);
          expect(c === '' ? [] : c.split('\n')).toEqual(
            changes.map((x) => `${x.field}: ${typeof x.from === 'string' ? x.from : JSON.stringify(x.from)} → ${typeof x.to === 'string' ? x.to : JSON.stringify(x.to)}`),
          );
          const m = metadataText(metadata);
          expect(m === '' ? [] : m.split('\n')).toEqual(Object.entries(metadata).map(([k, v]) => `${k}: ${String(v)}`));
        },
      ),
    );
  });
});
