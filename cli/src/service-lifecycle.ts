import type { FastifyInstance } from 'fastify';
import { createStore, settingsReader, storeConfigFromEnv, type AuditStore } from '@otel-audit/store';
import { CLI_SETTINGS } from './cli-settings.js';

export const serviceLogger = () => ({ level: settingsReader(CLI_SETTINGS, process.env).choice('AUDIT_LOG_LEVEL') });

export async function openStore(config = storeConfigFromEnv()): Promise<AuditStore> {
  const store = createStore(config);
  await store.init();
  return store;
}

/**
 * SIGTERM / SIGINT: stop accepting, let in-flight requests finish, close the store. The apps
 * close one by one, last started first: under `start` the export service sends the records
 * of each look at the log to the collector beside it, so it must deliver them (its close
 * flushes them) before that collector stops listening; closed together, they waited out
 * the delivery deadline and stayed in the spool until the next start.
 */
export function closeOnSignal(apps: FastifyInstance[], store: AuditStore): void {
  let closing = false;
  const close = async (signal: string) => {
    if (closing) return;
    closing = true;
    apps[0]?.log.info({ signal }, 'shutting down');
    for (const app of [...apps].reverse()) await app.close().catch((err: unknown) => app.log.error({ err }, 'closing failed'));
    await store.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void close('SIGTERM'));
  process.once('SIGINT', () => void close('SIGINT'));
}
