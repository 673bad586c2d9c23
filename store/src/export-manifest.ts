import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { checkSignature, signRecord, type DigestSigner } from './digest-signing.js';

/**
 * What a compliance user keeps next to an export file to prove later that the file is
 * genuine and complete: its SHA-256 and size, what was asked for (scope, filters, range),
 * how many rows came out, when, signed with the same kind of key as the chain digests.
 */
export interface ExportManifest {
  version: 1;
  /** The file's name as the service stored it. */
  file: string;
  format: 'csv' | 'xlsx';
  sha256: string;
  bytes: number;
  rows: number;
  /** The request as given: scope, from, to, filters, columns. */
  request: Record<string, string>;
  /** Who asked (user id). */
  requestedBy: string;
  createdAt: string;
  keyId: string;
  algorithm: 'Ed25519';
}

export type SignedManifest = ExportManifest & { signature: string };

/** SHA-256 (hex) and size of a stream, read once. */
export async function digestStream(body: Readable): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

export async function signManifest(manifest: Omit<ExportManifest, 'keyId' | 'algorithm' | 'version'>, signer: DigestSigner): Promise<SignedManifest> {
  return signRecord({ version: 1, ...manifest, keyId: signer.keyId, algorithm: 'Ed25519' } as ExportManifest, signer);
}

/** `otel-audit verify-export`: the manifest's signature, then the file's hash and size against it. */
export async function verifyExportFile(
  path: string,
  manifest: SignedManifest,
  keys: ReadonlyMap<string, KeyObject>,
): Promise<{ ok: boolean; problems: string[]; manifest: SignedManifest; sha256: string; bytes: number }> {
  const problems: string[] = [];
  const signature = typeof manifest.signature === 'string' && typeof manifest.keyId === 'string' ? checkSignature(manifest, keys) : 'bad-signature';
  if (signature === 'unknown-key') problems.push(`the manifest is signed with key ${manifest.keyId}, which was not given`);
  if (signature === 'bad-signature') problems.push('the manifest signature does not verify: the manifest was altered or forged');
  const actual = await digestStream(createReadStream(path));
  if (actual.sha256 !== manifest.sha256) problems.push(`the file's SHA-256 is ${actual.sha256}, the manifest signs ${manifest.sha256}: the file was altered, truncated or replaced`);
  if (actual.bytes !== manifest.bytes) problems.push(`the file has ${actual.bytes} bytes, the manifest signs ${manifest.bytes}`);
  return { ok: problems.length === 0, problems, manifest, ...actual };
}
