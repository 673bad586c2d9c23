import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter as PATH_DELIMITER, extname, join } from 'node:path';
import { promisify } from 'node:util';

/**
 * LibreOffice Calc, the real spreadsheet of the CSV and XLSX tests. Without it those
 * tests are skipped with a reason; under CI=true they run and fail instead, like the
 * Elasticsearch suites (test/global-setup.ts), so CI cannot pass without it.
 */
export const soffice = onPath('soffice') ?? onPath('libreoffice');
export const skipLibreOffice = soffice === undefined && process.env.CI !== 'true';
export const libreOfficeNote = soffice ? '' : ' (skipped: neither libreoffice nor soffice is on the PATH)';

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(PATH_DELIMITER)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * CSV import options of LibreOffice's "Text - txt - csv (StarCalc)" filter, in the
 * filter's token order (LibreOffice help, "CSV Filter Options"): 1 field separators as
 * character codes joined by '/', 2 text delimiter code (0: none, quotes are kept as
 * text), 3 charset (76: UTF-8), 4 first line, 5 column formats (empty: Standard, which
 * detects numbers), 6 language (1033: en-US), 7 quoted field as text, 8 detect special
 * numbers, 9 and 10 export-only, 11 trim spaces, 12 export-only, 13 evaluate formulas.
 */
export interface CsvImport {
  separators: string[];
  quotes: boolean;
  trimSpaces: boolean;
}

export function csvImportFilter({ separators, quotes, trimSpaces }: CsvImport): string {
  const codes = separators.map((s) => s.charCodeAt(0)).join('/');
  // Token 13 true: formulas are evaluated on import, as Excel does when it opens a CSV.
  return `Text - txt - csv (StarCalc):${codes},${quotes ? 34 : 0},76,1,,1033,false,true,false,false,${trimSpaces},-1,true`;
}

/**
 * Converts `files` with LibreOffice (one process, its own profile: a desktop LibreOffice
 * already running would otherwise take the job) and returns the paths it wrote.
 * `outOptions` are the export filter's options, e.g. '44,34,76' for a UTF-8 comma CSV.
 */
export async function convertWithLibreOffice(files: string[], to: 'xlsx' | 'csv', outDir: string, inFilter?: string, outOptions?: string): Promise<string[]> {
  const outFilter = { xlsx: 'Calc MS Excel 2007 XML', csv: 'Text - txt - csv (StarCalc)' }[to];
  if (!soffice) throw new Error('LibreOffice (soffice) is required here (CI=true) but is not on the PATH; apt-get install libreoffice-calc-nogui');
  const profile = mkdtempSync(join(tmpdir(), 'otel-audit-soffice-profile-'));
  try {
    await promisify(execFile)(
      soffice,
      [
        `-env:UserInstallation=file://${profile}`,
        '--headless',
        ...(inFilter ? [`--infilter=${inFilter}`] : []),
        '--convert-to',
        outOptions ? `${to}:${outFilter}:${outOptions}` : to,
        '--outdir',
        outDir,
        ...files,
      ],
      { timeout: 120_000 },
    );
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
  return files.map((f) => join(outDir, `${basename(f, extname(f))}.${to}`));
}
