import { ConfigError, ElasticsearchStore, RETENTION_POLICY_NAME, retentionDaysFromEnv, storeConfigFromEnv } from '@otel-audit/store';
import { openStore } from './service-lifecycle.js';
import { setupSecurity } from './setup-security.js';

function retentionLine(store: ElasticsearchStore): string {
  const days = retentionDaysFromEnv();
  if (days === 0) return 'retention: off (AUDIT_RETENTION_DAYS=0), events are kept for ever';
  if (store.lifecycle === 'ilm') return `retention: ${days} days, ILM policy ${RETENTION_POLICY_NAME} attached by the templates (backstop of the collector's retention job)`;
  return `retention: ${days} days; this cluster has no ILM, so the collector's retention job deletes (give it AUDIT_RETENTION_ELASTICSEARCH_USERNAME / _PASSWORD)`;
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

/** `otel-audit setup [--security]`. */
export async function setupCommand(args: string[]): Promise<void> {
  if (args.includes('--security')) await securitySetup();
  const store = await openStore();
  console.log(`ready: ${store.description}`);
  if (store instanceof ElasticsearchStore) console.log(retentionLine(store));
  return store.close();
}
