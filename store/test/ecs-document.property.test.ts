import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/internal/canonical-json.js';
import { documentCanonical, documentLine } from '../src/internal/ecs-document-line.js';
import { fromDocument, toDocument } from '../src/internal/ecs-document.js';
import { auditEventArbitrary, withoutEmptyObjects } from '../../test/support/audit-event-arbitrary.js';

// The mappings between the event and its Elasticsearch document, on the write path (the line
// the collector sends) and the read path (the event `query` and `verify` rebuild).
describe('event ↔ Elasticsearch document (property)', () => {
  it('fromDocument(toDocument(e)) equals e, less the objects without members the document leaves out', () => {
    fc.assert(
      fc.property(auditEventArbitrary, (e) => {
        expect(fromDocument(toDocument(e))).toEqual(withoutEmptyObjects(e));
      }),
      { numRuns: 500 },
    );
  });

  it('the bulk line written straight from the event is the document toDocument makes, with the chain position in audit.chain', () => {
    const position = fc.option(fc.record({ id: fc.uuid(), seq: fc.integer({ min: 1 }), hash: fc.stringMatching(/^[0-9a-f]{64}$/) }), { nil: undefined });
    fc.assert(
      fc.property(auditEventArbitrary, position, (e, chain) => {
        const doc = toDocument(e) as { audit: Record<string, unknown> };
        if (chain) doc.audit.chain = chain;
        // Compared as JSON, which is what either reaches Elasticsearch as: JSON has no -0, so a
        // change from -0 is 0 in both (fast-check found the object compare failing on it).
        expect(JSON.parse(documentLine(e, chain))).toEqual(JSON.parse(JSON.stringify(doc)));
      }),
      { numRuns: 500 },
    );
  });

  it('the chain hashes the canonical form of the event as it is read back from its document, computed without a document when it can be', () => {
    fc.assert(
      fc.property(auditEventArbitrary, (e) => {
        expect(documentCanonical(e)).toBe(canonicalJson(fromDocument(JSON.parse(documentLine(e)))));
      }),
      { numRuns: 500 },
    );
  });
});
