import { describe, expect, it } from 'vitest';
import { COLLECTOR_DEFAULTS, collectorConfigFromEnv, collectorOptionsFromConfig } from '@otel-audit/collector';

/* Finding 7: a collector beyond loopback without sender tokens is refused at start-up. */

const TOKENS = { AUDIT_COLLECTOR_TOKENS: 'token-for-billing-0123456789=billing' };
const SECRET_TOKEN = 'token-for-billing-0123456789';

function startUpError(env: NodeJS.ProcessEnv): string {
  try {
    collectorConfigFromEnv(env);
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}

describe('collector configuration: listening beyond loopback', () => {
  const beyond = ['0.0.0.0', '::', '[::]', '192.168.1.20', '10.0.0.5', 'fe80::1', 'collector.internal', '128.0.0.1'];
  const loopback = ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1'];

  it.each(beyond)('refuses %s without sender tokens, naming the variable, the value and both ways out', (host) => {
    const message = startUpError({ AUDIT_COLLECTOR_HOST: host });
    expect(message).toContain(`AUDIT_COLLECTOR_HOST=${JSON.stringify(host)} listens beyond loopback without sender authentication`);
    expect(message).toContain('AUDIT_COLLECTOR_TOKENS or AUDIT_COLLECTOR_TOKENS_FILE');
    expect(message).toContain('AUDIT_COLLECTOR_ALLOW_UNAUTHENTICATED=true');
  });

  it.each(beyond)('accepts %s with sender tokens, without a warning', (host) => {
    const config = collectorConfigFromEnv({ AUDIT_COLLECTOR_HOST: host, ...TOKENS });
    expect(config.host).toBe(host);
    expect(config.warnings).toEqual([]);
    expect(JSON.stringify(config.warnings)).not.toContain(SECRET_TOKEN);
  });

  it.each(beyond)('accepts %s with the opt-out, with exactly one warning', (host) => {
    const config = collectorConfigFromEnv({ AUDIT_COLLECTOR_HOST: host, AUDIT_COLLECTOR_ALLOW_UNAUTHENTICATED: 'true' });
    expect(config.warnings).toHaveLength(1);
    expect(config.warnings[0]).toContain(`listens on ${host} without sender authentication`);
  });

  it.each(loopback)('accepts loopback %s without tokens or warning', (host) => {
    expect(collectorConfigFromEnv({ AUDIT_COLLECTOR_HOST: host }).warnings).toEqual([]);
  });

  it('defaults to 127.0.0.1, which needs neither', () => {
    expect(collectorConfigFromEnv({})).toMatchObject({ host: '127.0.0.1', warnings: [] });
  });

  it('the opt-out is needed only beyond loopback, and must be true or false', () => {
    expect(collectorConfigFromEnv({ AUDIT_COLLECTOR_ALLOW_UNAUTHENTICATED: 'true' }).warnings).toEqual([]);
    expect(startUpError({ AUDIT_COLLECTOR_HOST: '0.0.0.0', AUDIT_COLLECTOR_ALLOW_UNAUTHENTICATED: 'false' })).toContain('listens beyond loopback');
    expect(startUpError({ AUDIT_COLLECTOR_ALLOW_UNAUTHENTICATED: 'yes' })).toBe('AUDIT_COLLECTOR_ALLOW_UNAUTHENTICATED must be true or false, got "yes"');
  });
});

describe('collector configuration: timeouts, rate limit, dead letters', () => {
  it('defaults come from COLLECTOR_DEFAULTS and reach the collector options', () => {
    const config = collectorConfigFromEnv({});
    expect(collectorOptionsFromConfig(config)).toMatchObject({
      requestTimeoutMillis: COLLECTOR_DEFAULTS.requestTimeoutMillis,
      headersTimeoutMillis: COLLECTOR_DEFAULTS.headersTimeoutMillis,
      connectionTimeoutMillis: COLLECTOR_DEFAULTS.connectionTimeoutMillis,
      keepAliveTimeoutMillis: COLLECTOR_DEFAULTS.keepAliveTimeoutMillis,
      rateLimitPerMinute: COLLECTOR_DEFAULTS.rateLimitPerMinute,
      deadLetterMaxBytes: 16 * 1024,
    });
  });

  it('reads the variables and fails fast naming a bad one', () => {
    const config = collectorConfigFromEnv({
      AUDIT_COLLECTOR_REQUEST_TIMEOUT_MS: '20000',
      AUDIT_COLLECTOR_HEADERS_TIMEOUT_MS: '5000',
      AUDIT_COLLECTOR_CONNECTION_TIMEOUT_MS: '60000',
      AUDIT_COLLECTOR_KEEP_ALIVE_TIMEOUT_MS: '5000',
      AUDIT_COLLECTOR_RATE_LIMIT: '0',
      AUDIT_COLLECTOR_DEAD_LETTER_MAX_BYTES: '4096',
    });
    expect(config).toMatchObject({
      requestTimeoutMillis: 20_000,
      headersTimeoutMillis: 5000,
      connectionTimeoutMillis: 60_000,
      keepAliveTimeoutMillis: 5000,
      rateLimitPerMinute: 0,
      deadLetterMaxBytes: 4096,
    });
    expect(startUpError({ AUDIT_COLLECTOR_RATE_LIMIT: '-1' })).toMatch(/^AUDIT_COLLECTOR_RATE_LIMIT must be an integer .*"-1"/);
    expect(startUpError({ AUDIT_COLLECTOR_REQUEST_TIMEOUT_MS: '10s' })).toMatch(/^AUDIT_COLLECTOR_REQUEST_TIMEOUT_MS .*"10s"/);
    expect(startUpError({ AUDIT_COLLECTOR_DEAD_LETTER_MAX_BYTES: '10' })).toMatch(/^AUDIT_COLLECTOR_DEAD_LETTER_MAX_BYTES/);
    expect(startUpError({ AUDIT_COLLECTOR_REQUEST_TIMEOUT_MS: '5000' })).toBe(
      'AUDIT_COLLECTOR_HEADERS_TIMEOUT_MS (10000) must not exceed AUDIT_COLLECTOR_REQUEST_TIMEOUT_MS (5000)',
    );
  });
});

describe('collector configuration: the redaction pattern', () => {
  it('defaults to the Node package\'s pattern, and takes a replacement with flags (default i)', () => {
    expect(collectorOptionsFromConfig(collectorConfigFromEnv({})).redact).toEqual(COLLECTOR_DEFAULTS.redact);
    expect(collectorConfigFromEnv({}).redact.source).toBe(COLLECTOR_DEFAULTS.redact.source);
    const custom = collectorConfigFromEnv({ AUDIT_REDACT_PATTERN: 'pin|iban' });
    expect([custom.redact.source, custom.redact.flags]).toEqual(['pin|iban', 'i']);
    expect(collectorConfigFromEnv({ AUDIT_REDACT_PATTERN: 'Pin', AUDIT_REDACT_FLAGS: '' }).redact.flags).toBe('');
  });

  it.each([
    [{ AUDIT_REDACT_PATTERN: 'pass(' }, /^AUDIT_REDACT_PATTERN "pass\(" with flags "i" is not a valid regular expression: /],
    [{ AUDIT_REDACT_PATTERN: '  ' }, /^AUDIT_REDACT_PATTERN is empty: it would redact every/],
    [{ AUDIT_REDACT_FLAGS: 'gi' }, /^AUDIT_REDACT_FLAGS may hold only the flags i, m, s, u and v, got "gi"$/],
    [{ AUDIT_REDACT_FLAGS: 'y' }, /^AUDIT_REDACT_FLAGS may hold only/],
  ])('refuses %j at start-up, naming the variable and the value', (env, message) => {
    expect(startUpError(env)).toMatch(message);
  });
});
