import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '@otel-audit/contract';
import { canonicalEvent } from '@otel-audit/store';
import { EventSource } from '../../bench/generate-events.js';

// Every chain ever written was hashed over `canonicalize`'s bytes: the faster serialiser
// must give exactly those, or old chains stop verifying.
describe('canonicalEvent: the bytes of the canonicalize package', () => {
  it('for realistic events, as the store returns them', () => {
    const events = new EventSource(21, 5000).take(5000).map((e) => JSON.parse(JSON.stringify(e)) as AuditEvent);
    const differing = events.filter((e) => canonicalEvent(e) !== canonicalize(e));
    expect(differing).toEqual([]);
  });

  it('for the awkward corners of RFC 8785: numbers, escapes, key order, empty and nested containers', () => {
    const awkward = {
      numbers: [0, -0, 1, -1, 0.1, 1e21, 1e-7, 123456789012345680000, 5e-324, 1.7976931348623157e308, 333333333.3333333],
      strings: ['', '"\\/\b\f\n\r\t', '\u0000\u001f\u007f', 'é€😀', '\u2028\u2029', '<script>'],
      // UTF-16 code unit order, integer-like keys included (JS enumerates those first).
      keys: { b: 1, a: 2, '10': 3, '9': 4, '': 5, é: 6, '😀': 7, '\u20ac': 8, A: 9, aa: 10 },
      empty: { object: {}, array: [], nested: [[], [{}], { x: [] }] },
      literals: [true, false, null],
      deep: { a: { b: { c: { d: [1, { e: 'f' }] } } } },
    };
    const parsed = JSON.parse(JSON.stringify(awkward)) as AuditEvent;
    expect(canonicalEvent(parsed)).toBe(canonicalize(parsed));
  });

  it('for what is not plain JSON: left out in objects, null in arrays, toJSON applied', () => {
    const odd = { u: undefined, f: () => 1, s: Symbol('x'), list: [undefined, () => 1, 1], when: new Date(0) } as unknown as AuditEvent;
    expect(canonicalEvent(odd)).toBe(canonicalize(odd));
  });

  it('refuses what canonicalize refuses: lone surrogates, NaN, Infinity', () => {
    for (const bad of [{ s: '\ud800' }, { '\udc00': 1 }, { n: Number.NaN }, { n: Number.POSITIVE_INFINITY }]) {
      expect(() => canonicalize(bad)).toThrow();
      expect(() => canonicalEvent(bad as unknown as AuditEvent)).toThrow(/no canonical JSON form/);
    }
  });
});
