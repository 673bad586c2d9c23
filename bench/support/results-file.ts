/**
 * bench/RESULTS.md holds one `## ` section per benchmark, each rewritten by its own script
 * (the others are kept); raw numbers go to bench/results/<name>.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
export const RESULTS_MD = join(BENCH_DIR, 'RESULTS.md');

export const resultsJsonPath = (name: string) => join(BENCH_DIR, 'results', `${name}.json`);

/**
 * Replaces the section that starts with `heading` (up to the next `## `), or adds it: just
 * before the section headed `before` where given and present, else at the end.
 */
export function writeSection(heading: string, section: string, before?: string): void {
  const existing = existsSync(RESULTS_MD) ? readFileSync(RESULTS_MD, 'utf8') : '# Benchmark results\n';
  const start = existing.indexOf(heading);
  const anchor = before === undefined ? -1 : existing.indexOf(`\n${before}`);
  let next: string;
  if (start < 0 && anchor >= 0) {
    next = `${existing.slice(0, anchor).trimEnd()}\n\n${section.trimEnd()}\n\n${existing.slice(anchor + 1)}`;
  } else if (start < 0) {
    next = `${existing.trimEnd()}\n\n${section}`;
  } else {
    // A section ends at the next heading of its level or above: rewriting a `###` section
    // keeps the `###` sections after it under the same `##`.
    const level = /^#+/.exec(heading)?.[0].length ?? 2;
    const rest = existing.slice(start + heading.length);
    const m = new RegExp(`\\n#{1,${level}} `).exec(rest);
    const after = m ? start + heading.length + m.index : -1;
    next = existing.slice(0, start) + section.trimEnd() + (after < 0 ? '' : `\n\n${existing.slice(after + 1)}`);
  }
  writeFileSync(RESULTS_MD, `${next.trimEnd()}\n`);
}

/** Raw numbers, fractions rounded to 4 decimals so the file diffs readably. */
export function writeResultsJson(name: string, results: unknown): void {
  const path = resultsJsonPath(name);
  mkdirSync(dirname(path), { recursive: true });
  const rounded = JSON.stringify(results, (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1e4) / 1e4 : v));
  writeFileSync(path, `${rounded}\n`);
}

export function readResultsJson<T>(name: string): T {
  return JSON.parse(readFileSync(resultsJsonPath(name), 'utf8')) as T;
}
