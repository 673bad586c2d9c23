import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AUDIT_LOG_SERVICE_NAME, ConfigError, isReservedAction } from '@otel-audit/contract';

/**
 * One sender token: the `service.name` it vouches for and, optionally, the only actions
 * it may write (exact actions, or prefixes written `invoice.*`). Without a list the token
 * may write any action except the reserved `audit_log.*` ones.
 */
export type SenderTokenEntry = [token: string, serviceName: string, actions?: readonly string[]];

/** Who wrote a record, as far as the collector can tell. */
export interface Sender {
  service: string;
  /** Undefined: any action that is not reserved. */
  actions?: readonly string[] | undefined;
  /** False when tokens are off and `service` is only what the record declares. */
  authenticated: boolean;
}

/**
 * Bearer tokens bound to a `service.name`: a leaked token lets its holder write only in
 * the name of the one service it was issued to. Tokens are kept as SHA-256 digests, so
 * the map in memory is not a list of secrets, and lookup does not compare secrets byte
 * by byte.
 */
export class SenderTokens {
  readonly #byDigest: Map<string, Sender>;

  constructor(entries: readonly SenderTokenEntry[]) {
    this.#byDigest = new Map(entries.map(([token, service, actions]) => [digest(token), { service, actions, authenticated: true }]));
  }

  get size(): number {
    return this.#byDigest.size;
  }

  /** The sender a presented `Authorization` header authenticates, or undefined. */
  senderFor(authorization: string | undefined): Sender | undefined {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    return match ? this.#byDigest.get(digest(match[1]!)) : undefined;
  }
}

/**
 * Why `sender` may not write `action`, or undefined when it may. The reserved actions are
 * the record of who read the log: only the export service writes them, unless a token's
 * own action list names them (an operator's deliberate choice, e.g. a second reader).
 */
export function actionRefusal(action: string, sender: Sender): string | undefined {
  const who = sender.authenticated
    ? `the sender token of service.name ${JSON.stringify(sender.service)}`
    : `service.name ${JSON.stringify(sender.service)} (declared; sender tokens are off)`;
  if (sender.actions) {
    if (sender.actions.some((p) => actionMatches(p, action))) return undefined;
    return `action ${JSON.stringify(action)} is not among the actions ${who} may write (${sender.actions.join('|')})`;
  }
  if (isReservedAction(action) && sender.service !== AUDIT_LOG_SERVICE_NAME) {
    return `action ${JSON.stringify(action)} is reserved for service.name ${JSON.stringify(AUDIT_LOG_SERVICE_NAME)}; refused from ${who}`;
  }
  return undefined;
}

function actionMatches(pattern: string, action: string): boolean {
  return pattern.endsWith('.*') ? action.startsWith(pattern.slice(0, -1)) : action === pattern;
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

// The contract's action syntax, and the same with a trailing `.*` for a prefix.
const EXACT_ACTION = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const ACTION_PREFIX = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.\*$/;

/**
 * `token=service.name` or `token=service.name:action|prefix.*|...` entries, separated by
 * commas or new lines (the variable), or one per line (the file; `#` starts a comment).
 * The service name ends at the first `:`, since actions never contain one. A malformed
 * entry fails start-up, naming its position but never the token.
 */
export function parseSenderTokens(text: string, source: string): SenderTokenEntry[] {
  const entries: SenderTokenEntry[] = [];
  text
    .split(/[,\n]/)
    .map((l) => l.trim())
    .forEach((line, i) => {
      if (line === '' || line.startsWith('#')) return;
      const eq = line.indexOf('=');
      const token = line.slice(0, eq).trim();
      const rest = line.slice(eq + 1);
      const colon = rest.indexOf(':');
      const service = (colon < 0 ? rest : rest.slice(0, colon)).trim();
      // The entries hold secrets: errors name the entry's position, never its text.
      if (eq < 1 || !service) throw new ConfigError(source, `${source}: entry ${i + 1} must be token=service.name or token=service.name:action|prefix.*`);
      if (token.length < 16) throw new ConfigError(source, `${source}: entry ${i + 1} has a token shorter than 16 characters`);
      if (colon < 0) {
        entries.push([token, service]);
        return;
      }
      const actions = rest
        .slice(colon + 1)
        .split('|')
        .map((a) => a.trim());
      const bad = actions.find((a) => !EXACT_ACTION.test(a) && !ACTION_PREFIX.test(a));
      if (bad !== undefined) {
        throw new ConfigError(
          source,
          `${source}: entry ${i + 1} has an invalid action ${JSON.stringify(bad)}; list exact actions (invoice.create) or prefixes (invoice.*), separated by |`,
        );
      }
      entries.push([token, service, actions]);
    });
  return entries;
}

export function readSenderTokensFile(path: string): SenderTokenEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('AUDIT_COLLECTOR_TOKENS_FILE', `AUDIT_COLLECTOR_TOKENS_FILE cannot be read: ${(err as Error).message}`, { value: path, cause: err });
  }
  return parseSenderTokens(text, 'AUDIT_COLLECTOR_TOKENS_FILE');
}
