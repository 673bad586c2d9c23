import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import canonicalize from 'canonicalize';
import { ConfigError } from '@otel-audit/contract';
import type { ChainSpan } from './hash-chain.js';

/** A digest of a chain span, signed by the collector that wrote the span (CloudTrail's digest file). */
export interface ChainDigest extends ChainSpan {
  /** When it was signed (ISO 8601). */
  digestTime: string;
  /** The signature of this chain's previous digest; null for its first. Deleting or replacing a digest breaks this link. */
  previousSignature: string | null;
  /** Which public key verifies it (`keyIdOf`), so keys can rotate. */
  keyId: string;
  algorithm: 'Ed25519';
}

export interface SignedDigest extends ChainDigest {
  /** Base64 signature over the RFC 8785 canonical JSON of every other field. */
  signature: string;
}

/**
 * Who signs digests and export manifests. The built-in one holds an Ed25519 key in
 * process; a KMS or HSM plugs in by implementing this (sign with the remote key, report
 * its Ed25519 public key's `keyIdOf`), and the private key then never reaches the host.
 */
export interface DigestSigner {
  readonly keyId: string;
  readonly algorithm: 'Ed25519';
  sign(data: Buffer): Promise<Buffer>;
}

/** The identity of a public key: the first 16 hex digits of the SHA-256 of its SPKI DER form. */
export function keyIdOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

/** Signs with an Ed25519 private key held in this process (a PEM file or an environment variable). */
export class Ed25519Signer implements DigestSigner {
  readonly algorithm = 'Ed25519' as const;
  readonly keyId: string;
  readonly #key: KeyObject;

  constructor(privateKeyPem: string | Buffer) {
    this.#key = createPrivateKey(privateKeyPem);
    if (this.#key.asymmetricKeyType !== 'ed25519') {
      throw new Error(`the signing key must be an Ed25519 private key, got ${this.#key.asymmetricKeyType ?? 'unknown'}`);
    }
    this.keyId = keyIdOf(this.#key);
  }

  async sign(data: Buffer): Promise<Buffer> {
    return sign(null, data, this.#key);
  }

  /** The public half, PEM: what auditors are given. */
  publicKeyPem(): string {
    return createPublicKey(this.#key).export({ type: 'spki', format: 'pem' }).toString();
  }
}

/** A new Ed25519 key pair, PEM encoded (`otel-audit keygen`). */
export function generateSigningKey(): { privateKeyPem: string; publicKeyPem: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

/**
 * The signing key from the environment: `AUDIT_SIGNING_KEY_FILE` (a PEM file) or
 * `AUDIT_SIGNING_KEY` (the PEM text itself), not both. Undefined when neither is set.
 * Either way the key lives outside the store: whoever can rewrite the store cannot sign.
 */
export function signerFromEnv(env: NodeJS.ProcessEnv = process.env): Ed25519Signer | undefined {
  const file = env.AUDIT_SIGNING_KEY_FILE?.trim();
  const inline = env.AUDIT_SIGNING_KEY?.trim();
  if (file && inline) throw new ConfigError('AUDIT_SIGNING_KEY', 'set AUDIT_SIGNING_KEY_FILE or AUDIT_SIGNING_KEY, not both');
  try {
    if (file) return new Ed25519Signer(readFileSync(file));
    if (inline) return new Ed25519Signer(inline.replace(/\\n/g, '\n'));
  } catch (err) {
    const key = file ? 'AUDIT_SIGNING_KEY_FILE' : 'AUDIT_SIGNING_KEY';
    // The file's path is no secret; the key's PEM text is, so only the path is named as the value.
    throw new ConfigError(key, `${key}: ${(err as Error).message}`, { value: file, cause: err });
  }
  return undefined;
}

/** Public keys by key id, for verification; several, so digests signed before a rotation still verify. */
export function publicKeyRing(pems: readonly (string | Buffer)[]): Map<string, KeyObject> {
  const ring = new Map<string, KeyObject>();
  for (const pem of pems) {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a verification key must be an Ed25519 public key, got ${key.asymmetricKeyType ?? 'unknown'}`);
    ring.set(keyIdOf(key), key);
  }
  return ring;
}

/** The bytes a signature covers: the canonical JSON of the record without its signature. */
export function signedBytes(record: object): Buffer {
  const rest: Record<string, unknown> = { ...record };
  delete rest.signature;
  return Buffer.from(canonicalize(rest)!, 'utf8');
}

/** Signs a record (a digest or an export manifest) whose `keyId` is the signer's. */
export async function signRecord<T extends { keyId: string }>(record: T, signer: DigestSigner): Promise<T & { signature: string }> {
  if (record.keyId !== signer.keyId) throw new Error('the record names another key than the signer has');
  const signature = (await signer.sign(signedBytes(record))).toString('base64');
  return { ...record, signature };
}

/** 'ok', or why the signature does not hold. */
export function checkSignature(record: { keyId: string; signature: string }, ring: ReadonlyMap<string, KeyObject>): 'ok' | 'unknown-key' | 'bad-signature' {
  const key = ring.get(record.keyId);
  if (!key) return 'unknown-key';
  let good = false;
  try {
    good = verify(null, signedBytes(record), key, Buffer.from(record.signature, 'base64'));
  } catch {
    good = false;
  }
  return good ? 'ok' : 'bad-signature';
}
