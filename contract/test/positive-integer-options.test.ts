import { describe, expect, it } from 'vitest';
import { ConfigError, positiveIntegerOptions } from '@otel-audit/contract';

const DEFAULTS = { limit: 10, timeoutMillis: 500, label: 'not a count' } as const;
const KEYS = ['limit', 'timeoutMillis'] as const;

describe('positiveIntegerOptions', () => {
  it('keeps a given value, applies the default for a missing or undefined one, and takes only the listed keys', () => {
    expect(positiveIntegerOptions('build', { limit: 3 }, DEFAULTS, KEYS)).toEqual({ limit: 3, timeoutMillis: 500 });
    expect(positiveIntegerOptions('build', { limit: undefined, timeoutMillis: 1 }, DEFAULTS, KEYS)).toEqual({ limit: 10, timeoutMillis: 1 });
  });

  it.each([0, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('refuses %s, naming the factory, the option and the value', (bad) => {
    let thrown: unknown;
    try {
      positiveIntegerOptions('build', { timeoutMillis: bad }, DEFAULTS, KEYS);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect(thrown).toMatchObject({ code: 'AUDIT_ERR_CONFIG', key: 'timeoutMillis', value: String(bad), message: `build: option timeoutMillis must be a positive integer, got ${bad}` });
  });

  it('checks a default as well (a bad default is a bug to report, not to pass on)', () => {
    expect(() => positiveIntegerOptions('build', {}, { limit: 0, timeoutMillis: 1 }, KEYS)).toThrow('build: option limit must be a positive integer, got 0');
  });
});
