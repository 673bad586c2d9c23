import canonicalize from 'canonicalize';

// canonicalize 5 declares node >=22, so `npm ci` warns under our Node 20. Harmless: past Node 18
// it needs only String.prototype.isWellFormed (in Node since 20.0), and
// store/test/canonical-json.test.ts runs it on our Node against RFC 8785's own vectors. The last
// version declaring node >=18 (4.0.0) is no fix: it writes `{"f":undefined}` for a function
// member and `[null,,1]` for a function in an array, and recursion overflows the stack on deep nesting.

/**
 * RFC 8785 canonical JSON of a value as `JSON.parse` returns it (plain objects, arrays,
 * strings, finite numbers, booleans, null), byte for byte what the `canonicalize` package
 * gives for it. Why our own: the chain hashes every stored event on the collector's one
 * thread, and `canonicalize` (iterative, cycle and `toJSON` checks, one string grown by `+=`
 * that SHA-256 must then flatten) cost about twice this per event in the chained insert's
 * profile (bench/RESULTS.md, "Tamper evidence"). Numbers and strings are still serialised
 * by `JSON.stringify`, which is what RFC 8785 specifies for ECMAScript and what
 * `canonicalize` does too: nothing is hand-formatted. store/test/canonical-json.test.ts
 * holds it to `canonicalize`'s output.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return primitive(value);
  // Not a JSON value (a Date, a class with toJSON): the package's general rules, rarely.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return canonicalize(value)!;
  if (Array.isArray(value)) {
    const items: string[] = [];
    // As JSON.stringify: what has no JSON form is null inside an array …
    for (const item of value as unknown[]) items.push(absent(item) ? 'null' : canonicalJson(item));
    return `[${items.join(',')}]`;
  }
  const object = value as Record<string, unknown>;
  const members: string[] = [];
  // The default sort compares UTF-16 code units: the order RFC 8785 requires.
  for (const key of Object.keys(object).sort()) {
    const member = object[key];
    // … and left out of an object.
    if (!absent(member)) members.push(`${text(key)}:${canonicalJson(member)}`);
  }
  return `{${members.join(',')}}`;
}

const absent = (value: unknown) => value === undefined || typeof value === 'function' || typeof value === 'symbol';

function primitive(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return text(value);
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`${value} has no canonical JSON form`);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      if (value === null) return 'null';
      throw new Error(`a ${typeof value} has no canonical JSON form`);
  }
}

function text(value: string): string {
  // As `canonicalize`: a lone surrogate is refused, not escaped (RFC 8785 section 3.2.2.2).
  if (!(value as string & { isWellFormed(): boolean }).isWellFormed()) throw new Error('a lone surrogate has no canonical JSON form');
  return JSON.stringify(value);
}
