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

  // The spec's own vectors, so that both serialisers are held to RFC 8785 and not only to
  // each other (and the package to what it does on the Node version we run: see canonical-json.ts).
  it('for the vectors of RFC 8785: its worked example, its key-order sample, Appendix B numbers', () => {
    const example = JSON.parse(String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`) as AuditEvent;
    const exampleBytes = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    // Sorted by UTF-16 code unit; compared as text, since JSON.parse would enumerate "1" first again.
    const names: [string, string][] = [
      ['\r', 'Carriage Return'],
      ['1', 'One'],
      ['\u0080', 'Control'],
      ['\u00f6', 'Latin Small Letter O With Diaeresis'],
      ['\u20ac', 'Euro Sign'],
      ['\u{1f600}', 'Emoji: Grinning Face'],
      ['\ufb33', 'Hebrew Letter Dalet With Dagesh'],
    ];
    const keys = Object.fromEntries([...names].reverse()) as unknown as AuditEvent;
    const keyBytes = `{${names.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`).join(',')}}`;
    // Appendix B: IEEE 754 bit patterns and their canonical text.
    const numbers: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    const values = { n: numbers.map(([bits]) => Buffer.from(bits, 'hex').readDoubleBE(0)) } as unknown as AuditEvent;
    const numberBytes = `{"n":[${numbers.map(([, text]) => text).join(',')}]}`;
    for (const serialise of [canonicalize, canonicalEvent] as ((e: AuditEvent) => string | undefined)[]) {
      expect(serialise(example)).toBe(exampleBytes);
      expect(serialise(keys)).toBe(keyBytes);
      expect(serialise(values)).toBe(numberBytes);
    }
  });

  it('refuses what canonicalize refuses: lone surrogates, NaN, Infinity', () => {
    for (const bad of [{ s: '\ud800' }, { '\udc00': 1 }, { n: Number.NaN }, { n: Number.POSITIVE_INFINITY }]) {
      expect(() => canonicalize(bad)).toThrow();
      expect(() => canonicalEvent(bad as unknown as AuditEvent)).toThrow(/no canonical JSON form/);
    }
  });
});
