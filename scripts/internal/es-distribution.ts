/**
 * Elastic's minimal distribution (org.elasticsearch.distribution.integ-test-zip), fetched
 * with Maven into the cache once, and made runnable by the user the node runs as.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Pinned: the newest integ-test-zip on Maven Central (9.x is not published there), and
 * it runs on JDK 17, which every machine of ours has. The @elastic/elasticsearch client
 * is pinned to the same major (8).
 */
export const ES_VERSION = '8.19.21';
const ARTIFACT = `org.elasticsearch.distribution.integ-test-zip:elasticsearch:${ES_VERSION}:zip`;
/** JDK majors this Elasticsearch version supports, in order of preference. */
const SUPPORTED_JDKS = [21, 17, 24];
/** `nobody`: Elasticsearch refuses to run as root, and CI runs as root. */
export const UNPRIVILEGED_ID = 65534;

export const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CACHE_DIR = process.env.AUDIT_ES_CACHE_DIR ?? join(repoRoot, '.cache', 'elasticsearch');

export const asRoot = (): boolean => process.getuid?.() === 0;

/** Why Elasticsearch cannot run here, or undefined when it can. */
export function unavailableReason(cacheDir = CACHE_DIR): string | undefined {
  if (!findJavaHome()) return `no JDK ${SUPPORTED_JDKS.join('/')} found (set ES_JAVA_HOME, or install one under /usr/lib/jvm)`;
  // Maven only fetches; once the distribution is unpacked it is not needed.
  const unpacked = existsSync(join(cacheDir, `elasticsearch-${ES_VERSION}`, 'bin', 'elasticsearch'));
  if (!unpacked && spawnSync('mvn', ['-v'], { stdio: 'ignore' }).status !== 0) return 'Maven (mvn) is not on the PATH';
  return undefined;
}

export function findJavaHome(): string | undefined {
  const explicit = process.env.ES_JAVA_HOME;
  if (explicit) return existsSync(join(explicit, 'bin', 'java')) ? explicit : undefined;
  const candidates: { home: string; major: number }[] = [];
  const roots = process.env.JAVA_HOME ? [process.env.JAVA_HOME] : [];
  if (existsSync('/usr/lib/jvm')) roots.push(...readdirSync('/usr/lib/jvm').map((d) => join('/usr/lib/jvm', d)));
  for (const home of roots) {
    const release = join(home, 'release');
    if (!existsSync(join(home, 'bin', 'java')) || !existsSync(release)) continue;
    const m = /JAVA_VERSION="(\d+)/.exec(readFileSync(release, 'utf8'));
    if (m) candidates.push({ home, major: Number(m[1]) });
  }
  for (const major of SUPPORTED_JDKS) {
    const hit = candidates.find((c) => c.major === major);
    if (hit) return hit.home;
  }
  return undefined;
}

/** Fetches the distribution with Maven (its local repository is the cache) and unpacks it once. */
export async function ensureDistribution(cacheDir = CACHE_DIR): Promise<string> {
  const home = join(cacheDir, `elasticsearch-${ES_VERSION}`);
  if (existsSync(join(home, 'bin', 'elasticsearch'))) return home;
  const download = join(cacheDir, 'download');
  mkdirSync(download, { recursive: true });
  await run('mvn', ['-B', '-q', 'dependency:copy', `-Dartifact=${ARTIFACT}`, `-DoutputDirectory=${download}`], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const zip = join(download, `elasticsearch-${ES_VERSION}.zip`);
  const staging = join(cacheDir, `staging-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  await run('unzip', ['-q', zip, '-d', staging]).catch(async () => {
    // No unzip: the JDK's jar tool unpacks zips too, but drops the executable bits.
    const java = findJavaHome();
    await run(join(java ?? '', 'bin', 'jar'), ['xf', zip], { cwd: staging });
    for (const f of readdirSync(join(staging, `elasticsearch-${ES_VERSION}`, 'bin'))) {
      chmodSync(join(staging, `elasticsearch-${ES_VERSION}`, 'bin', f), 0o755);
    }
  });
  // A rename makes the unpacked tree appear whole or not at all, even if two runs race.
  try {
    renameSync(join(staging, `elasticsearch-${ES_VERSION}`), home);
  } catch (err) {
    if (!existsSync(join(home, 'bin', 'elasticsearch'))) throw err;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return home;
}

/**
 * True when `nobody` can enter `dir` and everything above it. Asked of the kernel itself
 * (a `test -x` as that user), not worked out from modes: ACLs, groups and mount options
 * would all have to be read to get it right.
 */
export function nobodyCanEnter(dir: string): boolean {
  const probe = spawnSync('setpriv', [`--reuid=${UNPRIVILEGED_ID}`, `--regid=${UNPRIVILEGED_ID}`, '--clear-groups', '--', 'test', '-x', dir], {
    stdio: 'ignore',
  });
  return probe.status === 0;
}

/**
 * A fresh folder `nobody` can reach, for a node's files when the caller's is out of its
 * reach (a checkout under /root or under a `mktemp -d` folder). The temporary folder first,
 * then /tmp; with neither reachable, an error that says what to change.
 */
export function reachableScratch(prefix: string): string {
  const tried: string[] = [];
  for (const base of [...new Set([tmpdir(), '/tmp'])]) {
    tried.push(base);
    if (!existsSync(base) || !nobodyCanEnter(base)) continue;
    // mkdtemp makes it 0700 and root's; the caller hands it to nobody (chown) before starting.
    return mkdtempSync(join(base, prefix));
  }
  throw new Error(
    `as root, Elasticsearch runs as nobody (uid ${UNPRIVILEGED_ID}), but it cannot enter any of ${tried.join(', ')}: ` +
      'set TMPDIR to a folder every user can enter (chmod o+x on it and each folder above it), or run as a user other than root',
  );
}

/**
 * The distribution as the node's user can run it. As root the node runs as nobody, who may
 * not be able to reach the cache (a checkout under a 0700 folder): then a copy is made
 * inside `placeDir` (a folder nobody reaches; 120 MB, about a second). Otherwise the cache.
 */
export function runnableHome(home: string, placeDir: string): string {
  if (!asRoot() || nobodyCanEnter(join(home, 'bin'))) return home;
  const copy = join(placeDir, `elasticsearch-${ES_VERSION}`);
  if (!existsSync(join(copy, 'bin', 'elasticsearch'))) cpSync(home, copy, { recursive: true, preserveTimestamps: true });
  return copy;
}
