/**
 * Writes instrumentation/CATALOGUE.md from the action catalogue, so the table a reader sees
 * is the one the code uses. Run after changing contract/src/action-catalogue.ts:
 *
 *   npx tsx scripts/write-catalogue.ts
 *
 * contract/test/action-catalogue.test.ts fails while the file and the catalogue differ.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
// The source, not the built package: a stale dist/ would otherwise write an old table.
import { catalogueMarkdownTable } from '../contract/src/action-catalogue.js';

const target = fileURLToPath(new URL('../instrumentation/CATALOGUE.md', import.meta.url));
writeFileSync(target, `# Audit action catalogue\n\n${catalogueMarkdownTable()}\n`);
console.log(`wrote ${target}`);
