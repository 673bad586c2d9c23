import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Bearer tokens bound to a `service.name`: a leaked token lets its holder write only in
 * the name of the one service it was issued to. Tokens are kept as SHA-256 digests, so
 * the map in memory is not a list of secrets, and lookup does not compare secrets byte
 * by byte.
 */
export class SenderTokens {
  readonly #byDigest: Map<string, string>;

  constructor(pairs: [token: string, serviceName: string][]) {
    this.#byDigest = new Map(pairs.map(([token, service]) => [digest(token), service]));
  }

  get size(): number {
    return this.#byDigest.size;
  }

  /** The service a presented `Authorization` header may write for, or undefined. */
  serviceFor(authorization: string | undefined): string | undefined {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    return match ? this.#byDigest.get(digest(match[1]!)) : undefined;
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * `token=service.name` pairs, separated by commas or new lines (the variable), or one pair
 * per line (the file; `#` starts a comment). A malformed entry fails start-up, naming
 * its position but never the token.
 */
export function parseSenderTokens(text: string, source: string): [string, string][] {
  const pairs: [string, string][] = [];
  text
    .split(/[,\n]/)
    .map((l) => l.trim())
    .forEach((line, i) => {
      if (line === '' || line.startsWith('#')) return;
      const eq = line.indexOf('=');
      const token = line.slice(0, eq).trim();
      const service = line.slice(eq + 1).trim();
      if (eq < 1 || !service) throw new Error(`${source}: entry ${i + 1} must be token=service.name`);
      if (token.length < 16) throw new Error(`${source}: entry ${i + 1} has a token shorter than 16 characters`);
      pairs.push([token, service]);
    });
  return pairs;
}

export function readSenderTokensFile(path: string): [string, string][] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`AUDIT_COLLECTOR_TOKENS_FILE cannot be read: ${(err as Error).message}`);
  }
  return parseSenderTokens(text, 'AUDIT_COLLECTOR_TOKENS_FILE');
}
