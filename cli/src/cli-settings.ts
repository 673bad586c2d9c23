import { settingTable } from '@otel-audit/store';

/**
 * What the `otel-audit` command itself reads from the environment, beyond the collector's,
 * the export service's and the store's tables; docs/configuration.md is generated from it.
 */
export const CLI_SETTINGS = settingTable({
  AUDIT_LOG_LEVEL: {
    type: 'choice',
    default: 'info',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    description: 'log level of the services it runs (pino, JSON lines on stdout)',
  },
  AUDIT_ADMIN_PASSWORD: {
    type: 'secret',
    description: '`setup --security`: password of the `audit-admin` user it creates (at least 12 characters); a user without one is left alone',
  },
  AUDIT_WRITER_PASSWORD: { type: 'secret', description: '`setup --security`: password of `audit-writer` (the collector)' },
  AUDIT_READER_PASSWORD: { type: 'secret', description: '`setup --security`: password of `audit-reader` (the export service)' },
  KIBANA_SYSTEM_PASSWORD: { type: 'secret', description: "`setup --security`: sets the `kibana_system` user's password" },
  KIBANA_PASSWORD: { type: 'secret', description: '`dashboards import`: the password, instead of `--password` on the command line' },
  AUDIT_PUBLIC_KEYS: { type: 'list', description: '`verify`, `verify-export`: public key PEM files, comma-separated, when no `--public-key` is given' },
  AUDIT_HEALTHCHECK_URL: {
    type: 'url',
    default: 'http://127.0.0.1:8080/healthz',
    description: "the container image's `HEALTHCHECK`: what it asks, per role (read by the `Dockerfile`, not by the command)",
  },
});
