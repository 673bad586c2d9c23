/**
 * The OpenTelemetry SDKs of other languages, as real senders for tests and for trying the
 * examples: a Python virtual environment with the pinned SDK and OTLP/HTTP exporter
 * (from the package index pip is configured with) and the Go example built from the Go
 * module proxy, and the Java example compiled against the Java SDK that Maven fetches for
 * examples/java/pom.xml, all under .cache/ (git-ignored) and reused across runs.
 *
 *   npx tsx scripts/foreign-sdks.ts   # prepare all three (first run downloads), print the paths
 *
 * test/foreign-senders.test.ts imports `prepareForeignSdks` from this file, so tests and
 * developers run the very same senders.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findJavaHome } from './elasticsearch.js';

const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(repoRoot, '.cache');

/**
 * Pinned so a test run is the same on every machine; the newest release when written.
 * The gRPC exporter is not here: the examples and tests speak OTLP/HTTP, the transport
 * every OTel SDK has.
 */
export const PYTHON_PACKAGES = ['opentelemetry-sdk==1.45.2', 'opentelemetry-exporter-otlp-proto-http==1.45.2'] as const;

export const VENV_DIR = join(CACHE, 'python-venv');
export const GO_SENDER = join(CACHE, 'go-sender', 'send-audit-events');
export const GO_EXAMPLE_DIR = join(repoRoot, 'examples', 'go');
export const JAVA_EXAMPLE_DIR = join(repoRoot, 'examples', 'java');
const JAVA_SOURCE = join(JAVA_EXAMPLE_DIR, 'src', 'main', 'java', 'example', 'SendAuditEvents.java');
const JAVA_SENDER_DIR = join(CACHE, 'java-sender');
/** Written last into the venv: its presence with the same pins means nothing to install. */
const PINS_MARKER = join(VENV_DIR, 'otel-audit-pins.txt');

export interface ForeignSdks {
  /** The venv's interpreter, with the pinned packages importable. */
  python: string;
  /** The built Go example. */
  goSender: string;
  /** The compiled Java example: run `command` with `args` (java, class path, main class). */
  javaSender?: JavaSender;
}

export interface JavaSender {
  command: string;
  args: string[];
}

/** Why the Python sender cannot be prepared here, or undefined when it can. */
export function pythonUnavailableReason(): string | undefined {
  if (existsSync(PINS_MARKER)) return undefined;
  const python = spawnSync('python3', ['-c', 'import venv, ensurepip'], { stdio: 'ignore' });
  if (python.error) return 'python3 is not on the PATH';
  // Debian splits venv/ensurepip into python3-venv; without it `python3 -m venv` fails.
  if (python.status !== 0) return "python3 cannot make virtual environments (no 'venv'/'ensurepip' module: install python3-venv)";
  return undefined;
}

/** Why the Go sender cannot be built here, or undefined when it can. */
export function goUnavailableReason(): string | undefined {
  const go = spawnSync('go', ['version'], { stdio: 'ignore' });
  if (go.error || go.status !== 0) return 'go is not on the PATH';
  return undefined;
}

/** Why the Java sender cannot be built here, or undefined when it can. */
export function javaUnavailableReason(): string | undefined {
  const home = findJavaHome();
  if (!home || !existsSync(join(home, 'bin', 'javac'))) return 'no JDK with javac found (set ES_JAVA_HOME, or install one under /usr/lib/jvm)';
  if (!existsSync(join(JAVA_SENDER_DIR, 'lib', 'pom.xml.copied')) && spawnSync('mvn', ['-v'], { stdio: 'ignore' }).status !== 0) {
    return 'Maven (mvn) is not on the PATH';
  }
  return undefined;
}

/** Creates the venv and installs the pins, unless the venv already has exactly these pins. */
export async function preparePython(): Promise<string> {
  const python = join(VENV_DIR, 'bin', 'python');
  const pins = PYTHON_PACKAGES.join('\n');
  if (existsSync(python) && existsSync(PINS_MARKER) && readFileSync(PINS_MARKER, 'utf8') === pins) return python;
  // A half-made venv (an interrupted first run) is remade, not patched.
  rmSync(VENV_DIR, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  await run('python3', ['-m', 'venv', VENV_DIR]);
  // pip's own configuration (index, certificates, timeouts) applies: nothing here names an index.
  await run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...PYTHON_PACKAGES], { maxBuffer: 16 * 1024 * 1024 });
  writeFileSync(PINS_MARKER, pins);
  return python;
}

/**
 * Builds examples/go into .cache/go-sender. Always runs `go build`: with Go's build and
 * module caches a build with nothing changed takes about a second, and an edited example
 * is never run stale. Versions come from examples/go/go.mod and go.sum.
 */
export async function prepareGo(): Promise<string> {
  mkdirSync(dirname(GO_SENDER), { recursive: true });
  await run('go', ['build', '-o', GO_SENDER, '.'], {
    cwd: GO_EXAMPLE_DIR,
    // -mod=mod: go.sum is checked in, yet a machine with an empty module cache must still
    // fetch; vcs stamping off because the example builds inside this repo's work tree.
    env: { ...process.env, GOFLAGS: '-mod=mod -buildvcs=false', CGO_ENABLED: '0' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return GO_SENDER;
}

/**
 * Builds examples/java into .cache/java-sender: Maven copies the pom's dependencies into
 * lib/ (its local repository is the download cache; nothing here names a repository), and
 * javac compiles the one source file into classes/. Each step is skipped when what it was
 * made from (the pom; the pom, source and JDK) has not changed.
 */
export async function prepareJava(): Promise<JavaSender> {
  const javaHome = findJavaHome();
  if (!javaHome) throw new Error(javaUnavailableReason());
  const lib = join(JAVA_SENDER_DIR, 'lib');
  const classes = join(JAVA_SENDER_DIR, 'classes');
  const pom = readFileSync(join(JAVA_EXAMPLE_DIR, 'pom.xml'), 'utf8');
  const copied = join(lib, 'pom.xml.copied');
  if (!existsSync(copied) || readFileSync(copied, 'utf8') !== pom) {
    // A changed pom may drop a dependency: start from an empty lib/, not a patched one.
    rmSync(lib, { recursive: true, force: true });
    await run('mvn', ['-B', '-q', '-f', join(JAVA_EXAMPLE_DIR, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${lib}`], {
      env: { ...process.env, JAVA_HOME: javaHome },
      maxBuffer: 16 * 1024 * 1024,
    });
    writeFileSync(copied, pom);
  }
  const stamp = createHash('sha256').update(pom).update(readFileSync(JAVA_SOURCE)).update(javaHome).digest('hex');
  const compiled = join(classes, 'compiled-from.sha256');
  if (!existsSync(compiled) || readFileSync(compiled, 'utf8') !== stamp) {
    rmSync(classes, { recursive: true, force: true });
    await run(join(javaHome, 'bin', 'javac'), ['--release', '17', '-encoding', 'UTF-8', '-cp', join(lib, '*'), '-d', classes, JAVA_SOURCE], {
      maxBuffer: 16 * 1024 * 1024,
    });
    writeFileSync(compiled, stamp);
  }
  return { command: join(javaHome, 'bin', 'java'), args: ['-cp', `${classes}:${join(lib, '*')}`, 'example.SendAuditEvents'] };
}

/** Prepares the Python and Go senders, and the Java one unless `java: false`. */
export async function prepareForeignSdks(opts: { java?: boolean } = {}): Promise<ForeignSdks> {
  const [python, goSender, javaSender] = await Promise.all([preparePython(), prepareGo(), opts.java === false ? undefined : prepareJava()]);
  return { python, goSender, javaSender };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const reasons = [pythonUnavailableReason(), goUnavailableReason(), javaUnavailableReason()].filter(Boolean);
  if (reasons.length > 0) {
    console.error(reasons.join('; '));
    process.exit(1);
  }
  const sdks = await prepareForeignSdks();
  console.log(`python: ${sdks.python}\ngo sender: ${sdks.goSender}\njava sender: ${[sdks.javaSender!.command, ...sdks.javaSender!.args].join(' ')}`);
}
