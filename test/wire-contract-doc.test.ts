import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ATTR } from '../contract/src/otel-mapping.js';
import { WIRE_FIELDS } from '../contract/src/wire-contract.js';
import { WIRE_CONTRACT_DOC, wireContractDocument } from '../scripts/write-wire-contract.js';

describe('docs/wire-contract.md', () => {
  it('documents every attribute the collector reads, once', () => {
    // A new ATTR entry without a line in the wire contract would be an attribute senders cannot learn about.
    const documented = WIRE_FIELDS.flatMap((f) => (f.attr ? [f.attr] : []));
    expect([...documented].sort()).toEqual(Object.keys(ATTR).sort());
    for (const f of WIRE_FIELDS) if (f.attr) expect(f.name.startsWith(ATTR[f.attr])).toBe(true);
  });

  it('matches the contract and the examples (regenerate: npx tsx scripts/write-wire-contract.ts)', () => {
    expect(readFileSync(WIRE_CONTRACT_DOC, 'utf8')).toBe(wireContractDocument());
  });
});
