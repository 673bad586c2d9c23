import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ConfigError } from '@otel-audit/contract';
import { ExportError } from './errors.js';

/** Who is asking, from a verified token. Scopes are decided from this on the server. */
export interface Caller {
  id: string;
  name?: string | undefined;
  workspaces: string[];
  permissions: string[];
  superAdmin: boolean;
}

/** Claim names; the defaults are settled, deployments with another IdP can rename. */
export interface ClaimNames {
  sub: string;
  name: string;
  workspaces: string;
  permissions: string;
  superAdmin: string;
}
export const DEFAULT_CLAIMS: ClaimNames = {
  sub: 'sub',
  name: 'name',
  workspaces: 'workspaces',
  permissions: 'permissions',
  superAdmin: 'super_admin',
};

export interface AuthOptions {
  /** HS256 shared secret. One of `secret` or `jwksUrl` is required. */
  secret?: string | undefined;
  /** RS256/ES256 keys from a JWKS endpoint (the identity provider's). Needs `issuer` and `audience`. */
  jwksUrl?: string | undefined;
  /** Required `iss`; required with `jwksUrl` (an identity provider signs tokens for other apps too). */
  issuer?: string | undefined;
  /** Required `aud`; required with `jwksUrl`. */
  audience?: string | undefined;
  claims?: Partial<ClaimNames>;
  /**
   * Longest token lifetime accepted: `exp − iat`, or `exp − now` without `iat`. Tokens
   * without `exp` are always refused. Default: 24 hours.
   */
  maxTokenTtlMs?: number | undefined;
}

export const AUTH_DEFAULTS = {
  // Identity providers issue access tokens for minutes to an hour; a day still covers a
  // development token (`otel-audit token`, 8 h) while bounding what a leaked token is worth.
  maxTokenTtlMs: 24 * 3_600_000,
} as const;

/** Slack for clocks that disagree between the issuer and this service. */
const CLOCK_TOLERANCE_S = 60;

export type Authenticator = (authorization: string | undefined) => Promise<Caller>;

export function createAuthenticator(opts: AuthOptions): Authenticator {
  const claims = { ...DEFAULT_CLAIMS, ...opts.claims };
  const maxTtlS = (opts.maxTokenTtlMs ?? AUTH_DEFAULTS.maxTokenTtlMs) / 1000;
  let key: Uint8Array | JWTVerifyGetKey;
  let algorithms: string[];
  if (opts.jwksUrl) {
    // The provider's keys sign tokens meant for other applications too: only iss and aud
    // say a token is meant for this one.
    if (!opts.issuer || !opts.audience) {
      throw new ConfigError(opts.issuer ? 'audience' : 'issuer', 'authentication with AUDIT_JWKS_URL needs AUDIT_JWT_ISSUER and AUDIT_JWT_AUDIENCE');
    }
    key = createRemoteJWKSet(new URL(opts.jwksUrl));
    algorithms = ['RS256', 'ES256'];
  } else if (opts.secret) {
    key = new TextEncoder().encode(opts.secret);
    algorithms = ['HS256'];
  } else {
    throw new ConfigError('secret', 'authentication needs AUDIT_JWT_SECRET or AUDIT_JWKS_URL');
  }
  return async (authorization) => {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) throw new ExportError('AUDIT_ERR_UNAUTHENTICATED');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(match[1]!, key as Uint8Array, {
        algorithms,
        ...(opts.issuer ? { issuer: opts.issuer } : {}),
        ...(opts.audience ? { audience: opts.audience } : {}),
      }));
    } catch {
      // No detail to the client: why a token failed is useful to an attacker only.
      throw new ExportError('AUDIT_ERR_UNAUTHENTICATED', 'the bearer token is invalid or expired');
    }
    // After the signature: only a genuine token learns why its lifetime was refused.
    if (typeof payload.exp !== 'number') throw new ExportError('AUDIT_ERR_UNAUTHENTICATED', 'the bearer token has no expiry (exp); tokens must expire');
    const now = Date.now() / 1000;
    const lifetime = Math.max(payload.exp - now, typeof payload.iat === 'number' ? payload.exp - payload.iat : 0);
    if (lifetime > maxTtlS + CLOCK_TOLERANCE_S) {
      throw new ExportError('AUDIT_ERR_UNAUTHENTICATED', `the bearer token lives longer than the ${formatHours(maxTtlS)}-hour maximum; ask for a shorter-lived one`);
    }
    const sub = payload[claims.sub];
    if (typeof sub !== 'string' || sub === '') throw new ExportError('AUDIT_ERR_UNAUTHENTICATED', 'the token has no subject');
    const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    const name = payload[claims.name];
    return {
      id: sub,
      name: typeof name === 'string' ? name : undefined,
      workspaces: strings(payload[claims.workspaces]),
      permissions: strings(payload[claims.permissions]),
      superAdmin: payload[claims.superAdmin] === true,
    };
  };
}

export const DEV_SECRET_FILE = 'dev-jwt-secret';

/**
 * The local development signing secret: created once under the data dir (mode 0600) so
 * that `otel-audit token` and a running service agree without any set-up. Production
 * sets AUDIT_JWT_SECRET or AUDIT_JWKS_URL instead.
 */
export function loadOrCreateDevSecret(dataDir: string, name: string = DEV_SECRET_FILE): string {
  const file = join(dataDir, name);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    // Owner-only where we make it: it holds the secrets and, embedded, the audit log itself.
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const secret = randomBytes(32).toString('base64url');
    try {
      writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
      return secret;
    } catch {
      // Another process created it first: use theirs.
      return readFileSync(file, 'utf8').trim();
    }
  }
}

export interface TokenClaims {
  sub: string;
  name?: string | undefined;
  workspaces?: string[];
  permissions?: string[];
  superAdmin?: boolean;
  /** Lifetime, in jose's notation. Default: `8h`. */
  expiresIn?: string;
  /** Refuses a longer `expiresIn`, as the service would refuse the token. Default: `AUTH_DEFAULTS.maxTokenTtlMs`. */
  maxTtlMs?: number;
}

/** Signs an HS256 token with the default claim names (development and tests). */
export async function signToken(secret: string, claims: TokenClaims): Promise<string> {
  const expiresIn = claims.expiresIn ?? '8h';
  const token = await new SignJWT({
    ...(claims.name ? { name: claims.name } : {}),
    workspaces: claims.workspaces ?? [],
    permissions: claims.permissions ?? [],
    super_admin: claims.superAdmin ?? false,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
  const { exp = 0, iat = 0 } = decodeJwt(token);
  const maxS = (claims.maxTtlMs ?? AUTH_DEFAULTS.maxTokenTtlMs) / 1000;
  if (exp - iat > maxS) throw new Error(`a token lifetime of ${expiresIn} is over the ${formatHours(maxS)}-hour maximum (AUDIT_JWT_MAX_TTL_HOURS); the service would refuse it`);
  if (exp <= iat) throw new Error(`a token lifetime of ${expiresIn} is not in the future`);
  return token;
}

const formatHours = (seconds: number) => String(Math.round((seconds / 3600) * 100) / 100);
