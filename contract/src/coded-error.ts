/**
 * The one shape of every otel-audit error, as fastify's own errors have it: a stable `code`
 * (AUDIT_ERR_…) to match on instead of the message, `statusCode` where an HTTP answer
 * follows from the error, a message that never carries a secret, and ES2022 `cause` for
 * the error underneath (which is logged, never sent to a client).
 */
export class CodedError<Code extends string = string> extends Error {
  readonly code: Code;
  /** The HTTP status the error answers with; undefined where no HTTP applies. */
  readonly statusCode?: number;

  constructor(code: Code, message: string, options: { statusCode?: number | undefined; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options.statusCode !== undefined) this.statusCode = options.statusCode;
  }
}

/** One catalogue entry: the default message, the HTTP status where one applies, and when it happens. */
export interface ErrorCatalogueEntry {
  readonly status?: number;
  readonly message: string;
  /** When the error happens and what to do, for docs/errors.md. */
  readonly when: string;
}

/** The contract's catalogue: errors every package may raise. */
export const CONFIG_ERRORS = {
  AUDIT_ERR_CONFIG: {
    message: 'a setting has a bad value',
    when: 'a setting (an environment variable, or an option passed in code) is missing, malformed or out of range; the message names the setting and, unless it is a secret, the value. Thrown at start-up, before anything listens',
  },
} as const satisfies Record<string, ErrorCatalogueEntry>;

/**
 * A bad setting: names the setting (`key`) and the value it had. A secret's value is
 * left out (`value` undefined), so the error can be logged as it is.
 */
export class ConfigError extends CodedError<'AUDIT_ERR_CONFIG'> {
  /** The environment variable or option at fault. */
  readonly key: string;
  /** The bad value as given; undefined for a secret or a missing setting. */
  readonly value: string | undefined;

  constructor(key: string, message: string, options: { value?: string | undefined; cause?: unknown } = {}) {
    super('AUDIT_ERR_CONFIG', message, { cause: options.cause });
    this.key = key;
    this.value = options.value;
  }
}

/**
 * A bad option passed in code to a factory (`buildCollector`, `buildExportService`,
 * `createAuditLogger`): names the factory, the option, what it must be and the value given.
 */
export function optionError(factory: string, option: string, value: unknown, expected: string): ConfigError {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return new ConfigError(option, `${factory}: option ${option} must be ${expected}, got ${shown}`, { value: value === undefined ? undefined : shown });
}
