import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createStore, generateSigningKey, publicKeyRing, storeConfigFromEnv, verifyExportFile, verifyIntegrity, type IntegrityReport } from '@otel-audit/store';

/**
 * `otel-audit verify`, `verify-export` and `keygen`: what an auditor runs. Exit code 0
 * only when everything checks; `--json` for machines, a short report for people.
 */

/** Public keys from `--public-key` files, or AUDIT_PUBLIC_KEYS (PEM files separated by commas). */
function keyRing(files: readonly string[] | undefined) {
  const paths = files && files.length > 0 ? files : (process.env.AUDIT_PUBLIC_KEYS ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  if (paths.length === 0) throw new Error('give the public key(s) to verify with: --public-key <pem file> (repeatable) or AUDIT_PUBLIC_KEYS');
  return publicKeyRing(paths.map((p) => readFileSync(p)));
}

function date(value: string | undefined, name: string, fallback: Date): Date {
  if (value === undefined) return fallback;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new Error(`${name} must be a date or time (ISO 8601), got ${JSON.stringify(value)}`);
  return d;
}

export async function verifyCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { from: { type: 'string' }, to: { type: 'string' }, 'public-key': { type: 'string', multiple: true }, json: { type: 'boolean' } },
    strict: true,
  });
  const keys = keyRing(values['public-key']);
  const from = date(values.from, '--from', new Date(0));
  const to = date(values.to, '--to', new Date(Date.now() + 60_000));
  const store = createStore(storeConfigFromEnv());
  let result: IntegrityReport;
  try {
    result = await verifyIntegrity(store, { from, to, keys });
  } finally {
    await store.close();
  }
  if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else process.stdout.write(humanReport(result));
  if (!result.ok) process.exitCode = 1;
}

function humanReport(r: IntegrityReport): string {
  const lines = [
    `verified ${r.events} events in ${r.chains.length} chain(s) and ${r.digests} signed digest(s), ${r.from} to ${r.to}`,
    `  ${r.seconds.toFixed(2)} s, ${r.eventsPerSecond} events/s`,
    ...r.chains.map((c) => `  chain ${c.id}: seq ${c.firstSeq}-${c.lastSeq}, ${c.events} events, ${c.digests} digests`),
  ];
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  if (r.ok) lines.push('OK: no event was modified, deleted, inserted or reordered, and every digest verifies');
  else {
    lines.push(`FAILED: ${r.problems.length} problem(s)`);
    for (const p of r.problems) lines.push(`  ${p.kind}: ${p.message}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function verifyExportCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { 'public-key': { type: 'string', multiple: true }, json: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const [file, manifestFile] = positionals;
  if (!file || !manifestFile || positionals.length > 2) throw new Error('verify-export: usage: otel-audit verify-export <file> <manifest.json> --public-key <pem>');
  const result = await verifyExportFile(file, JSON.parse(readFileSync(manifestFile, 'utf8')), keyRing(values['public-key']));
  if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else process.stdout.write(result.ok ? `OK: ${file} is the export the manifest signs (${result.manifest.rows} rows, key ${result.manifest.keyId})\n` : `FAILED: ${result.problems.join('; ')}\n`);
  if (!result.ok) process.exitCode = 1;
}

export async function keygenCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { out: { type: 'string' } }, strict: true });
  if (!values.out) throw new Error('keygen: --out <folder> is required');
  const key = generateSigningKey();
  mkdirSync(values.out, { recursive: true });
  // The private key readable by its owner only: it is what makes a digest proof.
  writeFileSync(join(values.out, `signing-${key.keyId}.pem`), key.privateKeyPem, { mode: 0o600, flag: 'wx' });
  writeFileSync(join(values.out, `public-${key.keyId}.pem`), key.publicKeyPem, { flag: 'wx' });
  console.log(`key id ${key.keyId}\n  private: ${join(values.out, `signing-${key.keyId}.pem`)} (AUDIT_SIGNING_KEY_FILE; keep it out of the store's hosts' backups)\n  public:  ${join(values.out, `public-${key.keyId}.pem`)} (give it to auditors)`);
}
