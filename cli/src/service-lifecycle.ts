import type { FastifyInstance } from 'fastify';
import { createStore, settingsReader, storeConfigFromEnv, type AuditStore } from '@otel-audit/store';
import { CLI_SETTINGS } from './cli-settings.js';

export const serviceLogger = () => ({ level: settingsReader(CLI_SETTINGS, process.env).choice('AUDIT_LOG_LEVEL') });

export async function openStore(config = storeConfigFromEnv()): Promise<AuditStore> {
  const store = createStore(config);
  await store.init();
  return store;
}

/** SIGTERM / SIGINT: stop accepting, let in-flight requests finish, close the store. */
export function closeOnSignal(apps: FastifyInstance[], store: AuditStore): void {
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
