import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromLogRecord, xmlSafeDeep, xmlSafeText } from '../src/index.js';

// XML 1.0, production [2]: Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
const XML_CHARS = /^[\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]*$/u;

describe('xmlSafeText', () => {
  it('replaces each character XML 1.0 forbids by U+FFFD', () => {
    const forbidden = [
      ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)).filter((c) => !'\t\n\r'.includes(c)),
      '\ufffe',
      '\uffff',
      '\ud800', // lone high surrogate
      '\udfff', // lone low surrogate
    ];
    expect(forbidden).toHaveLength(33);
    for (const c of forbidden) expect(xmlSafeText(`a${c}b`), `U+${c.charCodeAt(0).toString(16)}`).toBe('a\ufffdb');
    expect(xmlSafeText('\udc00\ud800')).toBe('\ufffd\ufffd'); // a pair in the wrong order is two lone halves
    expect(xmlSafeText('x\ud83d')).toBe('x\ufffd');
  });

  it('keeps what XML 1.0 allows, the discouraged characters included', () => {
    for (const s of ['tab\tLF\nCR\r', 'DEL \u007f C1 \u0080\u0085\u009f', 'noncharacters \ufdd0\ufdef \u{1fffe}\u{10ffff}', '🦄 日本語 \ufffd', '']) {
      expect(xmlSafeText(s)).toBe(s);
    }
  });

  it('always returns XML 1.0 text of the same length', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        const out = xmlSafeText(s);
        return out.length === s.length && XML_CHARS.test(out);
      }),
      { numRuns: 5_000 },
    );
  });
});

describe('xmlSafeDeep', () => {
  it('cleans every string at any depth, object keys included, and leaves other values alone', () => {
    const when = new Date(0);
    const input = { a: 'x\u0000', n: 1, b: true, nil: null, list: ['ok', 'y\uffff', 2], nested: { 'k\u0001': { deep: '\ud800' } }, when };
    expect(xmlSafeDeep(input)).toEqual({ a: 'x\ufffd', n: 1, b: true, nil: null, list: ['ok', 'y\ufffd', 2], nested: { 'k\ufffd': { deep: '\ufffd' } }, when });
    expect(input.a).toBe('x\u0000'); // not modified in place
  });

  it('returns the same objects when nothing needs cleaning', () => {
    const clean = { a: 'x', list: ['y', { z: 'w' }] };
    expect(xmlSafeDeep(clean)).toBe(clean);
  });

  it('keeps a __proto__ key as data', () => {
    const input = JSON.parse('{"__proto__": {"polluted": "\\u0001"}}') as Record<string, unknown>;
    const out = xmlSafeDeep(input);
    expect(Object.prototype.hasOwnProperty.call(out, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('fromLogRecord', () => {
  it('cleans every string of the candidate event, including the body, metadata and changes', () => {
    const event = fromLogRecord({
      eventName: 'auth.login',
      timestamp: Date.parse('2026-01-02T03:04:05Z'),
      body: 'failed\u0007',
      attributes: {
        'user.id': 'u\u0000',
        'user_agent.original': 'curl\u001b[31m',
        'user.roles': ['admin\ufffe'],
        'audit.metadata.k': 'v\ud800',
        'audit.changes': JSON.stringify([{ field: 'f\u0002', from: 'a\u0003', to: { nested: ['\u0004'] } }]),
      },
      serviceName: 'svc\u0005',
    });
    expect(event).toMatchObject({
      message: 'failed\ufffd',
      actor: { id: 'u\ufffd', roles: ['admin\ufffd'] },
      client: { userAgent: 'curl\ufffd[31m' },
      metadata: { k: 'v\ufffd' },
      changes: [{ field: 'f\ufffd', from: 'a\ufffd', to: { nested: ['\ufffd'] } }],
      service: { name: 'svc\ufffd' },
    });
  });
});
