/**
 * schemathesis, the OpenAPI contract fuzzer the export service's test runs against its own
 * `/docs/json`: a Python virtual environment under .cache/ (git-ignored) with the pinned
 * release (from the package index pip is configured with), reused across runs.
 *
 *   npx tsx scripts/schemathesis.ts   # prepare it (first run downloads), print the command
 *
 * exporter-service/test/openapi-contract.test.ts imports `prepareSchemathesis` from this
 * file, so the test and a developer rerunning it by hand use the very same fuzzer.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(repoRoot, '.cache');

/**
 * Pinned: the CLI's flags changed in 4.x and a new release may add checks; a test run is the
 * same on every machine. The newest release when written.
 */
export const SCHEMATHESIS_PACKAGES = ['schemathesis==4.32.5'] as const;

/** Its own venv, not the OpenTelemetry SDK's: the two pin sets must not constrain each other. */
export const SCHEMATHESIS_VENV_DIR = join(CACHE, 'schemathesis-venv');
export const SCHEMATHESIS_BIN = join(SCHEMATHESIS_VENV_DIR, 'bin', 'schemathesis');
/** Written last into the venv: its presence with the same pins means nothing to install. */
const PINS_MARKER = join(SCHEMATHESIS_VENV_DIR, 'otel-audit-pins.txt');

/** Why schemathesis cannot be prepared here, or undefined when it can. */
export function schemathesisUnavailableReason(): string | undefined {
  if (existsSync(PINS_MARKER)) return undefined;
  const python = spawnSync('python3', ['-c', 'import venv, ensurepip'], { stdio: 'ignore' });
  if (python.error) return 'python3 is not on the PATH';
  // Debian splits venv/ensurepip into python3-venv; without it `python3 -m venv` fails.
  if (python.status !== 0) return "python3 cannot make virtual environments (no 'venv'/'ensurepip' module: install python3-venv)";
  return undefined;
}

/** Creates the venv and installs the pins, unless the venv already has exactly these pins; returns the CLI. */
export async function prepareSchemathesis(): Promise<string> {
  const pins = SCHEMATHESIS_PACKAGES.join('\n');
  if (existsSync(SCHEMATHESIS_BIN) && existsSync(PINS_MARKER) && readFileSync(PINS_MARKER, 'utf8') === pins) return SCHEMATHESIS_BIN;
  // A half-made venv (an interrupted first run) is remade, not patched.
  rmSync(SCHEMATHESIS_VENV_DIR, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  await run('python3', ['-m', 'venv', SCHEMATHESIS_VENV_DIR]);
  const python = join(SCHEMATHESIS_VENV_DIR, 'bin', 'python');
  // pip's own configuration (index, certificates, timeouts) applies: nothing here names an index.
  await run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...SCHEMATHESIS_PACKAGES], { maxBuffer: 16 * 1024 * 1024 });
  writeFileSync(PINS_MARKER, pins);
  return SCHEMATHESIS_BIN;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const reason = schemathesisUnavailableReason();
  if (reason) {
    console.error(reason);
    process.exit(1);
  }
  console.log(`schemathesis: ${await prepareSchemathesis()}`);
}
