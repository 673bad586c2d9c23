import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildCollector, collectorConfigFromEnv, collectorOptionsFromConfig, listenCollectorGrpc, retentionFromConfig } from '@otel-audit/collector';
import {
  createExportFileStorage,
  buildExportService,
  exportServiceConfigFromEnv,
  loadOrCreateDevSecret,
  maxTokenTtlMsFromEnv,
  signToken,
} from '@otel-audit/exporter-service';
import { embeddedSenderToken } from './embedded-sender-token.js';
import { setupSecurity } from './setup-security.js';
import {
  ElasticsearchStore,
  RETENTION_POLICY_NAME,
  createExportJobStore,
  createStore,
  ConfigError,
  retentionDaysFromEnv,
  settingsReader,
  storeConfigFromEnv,
  type AuditStore,
} from '@otel-audit/store';
import { CLI_SETTINGS } from './cli-settings.js';
import { importDashboards, type KibanaAuth } from './dashboards-import.js';
import { keygenCommand, verifyCommand, verifyExportCommand } from './integrity-commands.js';
import { deadLettersCommand } from './dead-letters.js';

const USAGE = `usage: otel-audit <command> [options]

commands:
  start            collector and export service in one process (the embedded default)
  collector        the OTLP collector alone (HTTP port 4318, gRPC port 4317)
  export-service   the export service alone (port 8080)
  setup            install the Elasticsearch index templates (run as the admin user);
                     --security also creates the roles and users (AUDIT_WRITER_PASSWORD,
                     AUDIT_READER_PASSWORD, AUDIT_ADMIN_PASSWORD, KIBANA_SYSTEM_PASSWORD)
  token            print a development JWT for the export service:
                     --sub <id> [--name <name>] [--workspace <id>]... [--permission <p>]...
                     [--super-admin] [--ttl 8h]
  dashboards import  import the Kibana dashboards, saved searches and data view:
                     --kibana-url <url> [--space <id>]
                     [--username <u> --password <p> | --api-key <key>]
  keygen           make an Ed25519 key pair for signed digests and manifests: --out <folder>
  verify           check the hash chains and signed digests in the store:
                     [--from <time>] [--to <time>] --public-key <pem>... [--json]
  verify-export    check an export file against its signed manifest:
                     <file> <manifest.json> --public-key <pem>... [--json]
  dead-letters     what the collector refused, as sent, and replay once the cause is fixed:
                     list [--since <time|24h>] [--service <name>] [--limit <n>] [--json]
                     show <id> [--json]
                     replay [--since <time|24h>] [--service <name>] | --id <id>... [--json]

Configuration comes from the environment; see docs/configuration.md.`;

const logger = () => ({ level: settingsReader(CLI_SETTINGS, process.env).choice('AUDIT_LOG_LEVEL') });

async function openStore(config = storeConfigFromEnv()): Promise<AuditStore> {
  const store = createStore(config);
  await store.init();
  return store;
}

function retentionLine(store: ElasticsearchStore): string {
  const days = retentionDaysFromEnv();
  if (days === 0) return 'retention: off (AUDIT_RETENTION_DAYS=0), events are kept for ever';
  if (store.lifecycle === 'ilm') return `retention: ${days} days, ILM policy ${RETENTION_POLICY_NAME} attached by the templates (backstop of the collector's retention job)`;
  return `retention: ${days} days; this cluster has no ILM, so the collector's retention job deletes (give it AUDIT_RETENTION_ELASTICSEARCH_USERNAME / _PASSWORD)`;
}

/** SIGTERM / SIGINT: stop accepting, let in-flight requests finish, close the store. */
function closeOnSignal(apps: FastifyInstance[], store: AuditStore): void {
  let closing = false;
  const close = async (signal: string) => {
    if (closing) return;
    closing = true;
    apps[0]?.log.info({ signal }, 'shutting down');
    await Promise.allSettled(apps.map((a) => a.close()));
    await store.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void close('SIGTERM'));
  process.once('SIGINT', () => void close('SIGINT'));
}

async function startCollector(store: AuditStore, config = collectorConfigFromEnv()) {
  const retention = retentionFromConfig(config, store);
  const app = buildCollector({ store, retention: retention.options, ...collectorOptionsFromConfig(config), logger: logger() });
  // Once per start: an operator who opted out of sender authentication beyond loopback is reminded in the log.
  for (const warning of config.warnings) app.log.warn(warning);
  if (retention.warning) app.log.warn(retention.warning);
  app.addHook('onClose', () => retention.close());
  await app.listen({ host: config.host, port: config.port });
  // After HTTP: a gRPC port already taken fails the start, and closing the app closes both.
  const grpcPort = config.grpcPort === undefined ? undefined : await listenCollectorGrpc(app);
  return {
    app,
    url: `http://${config.host}:${(app.server.address() as { port: number }).port}`,
    grpcUrl: grpcPort === undefined ? undefined : `http://${config.host}:${grpcPort}`,
  };
}

async function startExportService(store: AuditStore, config = exportServiceConfigFromEnv(), auditEndpoint?: string) {
  const jobStore = createExportJobStore(config.store, store);
  await jobStore.init();
  const app = buildExportService({
    store,
    auth: config.auth,
    // Every look at the log is itself audited, through the same pipeline as any app's events,
    // as the one sender allowed to write audit_log.*; kept in an fsynced spool until delivered.
    audit: {
      ...(auditEndpoint ? { endpoint: auditEndpoint } : {}),
      senderToken: config.audit.senderToken,
      spool: { dir: config.audit.spoolDir },
    },
    jobs: {
      store: jobStore,
      files: createExportFileStorage(config.jobs.files),
      linkSecret: config.jobs.linkSecret,
      linkTtlMs: config.jobs.linkTtlMs,
      concurrency: config.jobs.concurrency,
      ...(config.jobs.webhookUrl ? { webhookUrl: config.jobs.webhookUrl } : {}),
      signer: config.jobs.signer,
    },
    ...(config.viewer.enabled ? { viewer: { signIn: config.viewer.signIn } } : {}),
    rowCap: config.rowCap,
    defaultWindowMs: config.defaultWindowMs,
    maxRangeMs: config.maxRangeMs,
    logger: logger(),
  });
  app.addHook('onClose', async () => {
    await jobStore.close();
  });
  await app.listen({ host: config.host, port: config.port });
  return { app, url: `http://${config.host}:${(app.server.address() as { port: number }).port}`, config };
}

async function start(): Promise<void> {
  // Every setting is checked before anything is opened: a typo fails in milliseconds.
  const collectorConfig = collectorConfigFromEnv();
  const exportConfig = exportServiceConfigFromEnv();
  const embedded = embeddedSenderToken(collectorConfig.senderTokens, exportConfig.audit.senderToken);
  collectorConfig.senderTokens = embedded.senderTokens;
  exportConfig.audit.senderToken = embedded.token;
  const store = await openStore(collectorConfig.store);
  const collector = await startCollector(store, collectorConfig);
  const exporter = await startExportService(store, exportConfig, collector.url);
  closeOnSignal([collector.app, exporter.app], store);
  const tokenHint = exporter.config.devSecret
    ? 'npx otel-audit token --sub alice --name Alice --permission users:view --permission security-logs:view'
    : '<a token from your identity provider>';
  process.stdout.write(
    [
      '',
      `otel-audit is running on ${store.description}`,
      `  collector (OTLP/HTTP)  ${collector.url}/v1/logs     health: ${collector.url}/healthz`,
      ...(collector.grpcUrl ? [`  collector (OTLP/gRPC)  ${collector.grpcUrl}        (logs and traces; AUDIT_COLLECTOR_GRPC=false turns it off)`] : []),
      `  export service         ${exporter.url}              health: ${exporter.url}/healthz`,
      ...(exporter.config.viewer.enabled ? [`  web viewer             ${exporter.url}/             (sign in with a token, see below)`] : []),
      '',
      'Try it from another terminal:',
      `  OTEL_EXPORTER_OTLP_ENDPOINT=${collector.url} node examples/record-events.mjs`,
      `  TOKEN=$(${tokenHint})`,
      `  curl -H "Authorization: Bearer $TOKEN" "${exporter.url}/v1/exports/events.csv?scope=all"`,
      '',
    ].join('\n') + '\n',
  );
}

/** `setup --security`: roles and users on a real cluster, as ELASTICSEARCH_USERNAME (a security admin). */
async function securitySetup(): Promise<void> {
  const config = storeConfigFromEnv();
  if (!config.elasticsearch?.username || !config.elasticsearch.password) {
    throw new Error('setup --security needs ELASTICSEARCH_URL, ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD of a user who may manage security');
  }
  const passwords = {
    'audit-writer': process.env.AUDIT_WRITER_PASSWORD,
    'audit-reader': process.env.AUDIT_READER_PASSWORD,
    'audit-admin': process.env.AUDIT_ADMIN_PASSWORD,
  };
  for (const [user, password] of Object.entries(passwords)) {
    if (password !== undefined && password.length < 12) {
      throw new ConfigError(`AUDIT_${user.slice('audit-'.length).toUpperCase()}_PASSWORD`, `the password for ${user} must be at least 12 characters`);
    }
  }
  const done = await setupSecurity({
    url: config.elasticsearch.url,
    username: config.elasticsearch.username,
    password: config.elasticsearch.password,
    passwords,
    kibanaSystemPassword: process.env.KIBANA_SYSTEM_PASSWORD,
  });
  console.log(`security: ${done.join(', ')}`);
}

async function token(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      sub: { type: 'string' },
      name: { type: 'string' },
      workspace: { type: 'string', multiple: true },
      permission: { type: 'string', multiple: true },
      'super-admin': { type: 'boolean' },
      ttl: { type: 'string' },
    },
    strict: true,
  });
  if (!values.sub) throw new Error('token: --sub <user id> is required');
  if (process.env.AUDIT_JWKS_URL) throw new Error('token: AUDIT_JWKS_URL is set; tokens come from your identity provider');
  const secret = process.env.AUDIT_JWT_SECRET || loadOrCreateDevSecret(storeConfigFromEnv().dataDir);
  const jwt = await signToken(secret, {
    sub: values.sub,
    name: values.name,
    workspaces: values.workspace ?? [],
    permissions: values.permission ?? [],
    superAdmin: values['super-admin'] ?? false,
    ...(values.ttl ? { expiresIn: values.ttl } : {}),
    // The service's own limit: a longer token would be refused at its first use.
    maxTtlMs: maxTokenTtlMsFromEnv(),
  });
  process.stdout.write(`${jwt}\n`);
}

async function dashboards(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'import') throw new Error(`dashboards: unknown subcommand ${JSON.stringify(sub ?? '')}; use "dashboards import"\n\n${USAGE}`);
  const { values } = parseArgs({
    args: rest,
    options: {
      'kibana-url': { type: 'string' },
      space: { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      'api-key': { type: 'string' },
    },
    strict: true,
  });
  const kibanaUrl = values['kibana-url'];
  if (!kibanaUrl) throw new Error('dashboards import: --kibana-url <url> is required');
  // A password on a command line shows in every process listing: KIBANA_PASSWORD may carry it instead.
  values.password ??= process.env.KIBANA_PASSWORD || undefined;
  if (values['api-key'] && (values.username || values.password)) {
    throw new Error('dashboards import: give either --username and --password or --api-key, not both');
  }
  if (Boolean(values.username) !== Boolean(values.password)) {
    throw new Error('dashboards import: --username and --password go together');
  }
  let auth: KibanaAuth | undefined;
  if (values['api-key']) auth = { apiKey: values['api-key'] };
  else if (values.username && values.password) auth = { username: values.username, password: values.password };
  const result = await importDashboards({
    kibanaUrl,
    ...(values.space ? { space: values.space } : {}),
    ...(auth ? { auth } : {}),
  });
  console.log(`imported ${result.successCount} saved objects into ${values.space ?? 'the default space'}`);
  for (const e of result.errors) {
    const detail = typeof e.error.message === 'string' ? `: ${e.error.message}` : '';
    console.error(`error: ${e.type} ${e.id}${e.title ? ` (${e.title})` : ''}: ${e.error.type}${detail}`);
  }
  // Not process.exit(): stdout and stderr must drain before the process ends.
  if (result.errors.length > 0) process.exitCode = 1;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start();
    case 'collector': {
      const config = collectorConfigFromEnv();
      const store = await openStore(config.store);
      const { app, url, grpcUrl } = await startCollector(store, config);
      closeOnSignal([app], store);
      app.log.info(`collector listening on ${url}${grpcUrl ? ` (OTLP/gRPC on ${grpcUrl})` : ''}, storing in ${store.description}`);
      return;
    }
    case 'export-service': {
      const config = exportServiceConfigFromEnv();
      // Not openStore(): the export service's user may only read, so it installs nothing.
      const store = createStore(config.store);
      const { app, url } = await startExportService(store, config);
      closeOnSignal([app], store);
      app.log.info(`export service listening on ${url}, reading ${store.description}`);
      return;
    }
    case 'setup': {
      if (rest.includes('--security')) await securitySetup();
      const store = await openStore();
      console.log(`ready: ${store.description}`);
      if (store instanceof ElasticsearchStore) console.log(retentionLine(store));
      return store.close();
    }
    case 'token':
      return token(rest);
    case 'dashboards':
      return dashboards(rest);
    case 'keygen':
      return keygenCommand(rest);
    case 'verify':
      return verifyCommand(rest);
    case 'verify-export':
      return verifyExportCommand(rest);
    case 'dead-letters':
      return deadLettersCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default:
      throw new Error(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`otel-audit: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
