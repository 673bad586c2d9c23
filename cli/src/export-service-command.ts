import { buildExportService, createExportFileStorage, exportServiceConfigFromEnv } from '@otel-audit/exporter-service';
import { createExportJobStore, createStore, type AuditStore } from '@otel-audit/store';
import { closeOnSignal, serviceLogger } from './service-lifecycle.js';

export async function startExportService(store: AuditStore, config = exportServiceConfigFromEnv(), auditEndpoint?: string) {
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
    logger: serviceLogger(),
  });
  app.addHook('onClose', async () => {
    await jobStore.close();
  });
  await app.listen({ host: config.host, port: config.port });
  return { app, url: `http://${config.host}:${(app.server.address() as { port: number }).port}`, config };
}

/** `otel-audit export-service`. */
export async function exportServiceCommand(): Promise<void> {
  const config = exportServiceConfigFromEnv();
  // Not openStore(): the export service's user may only read, so it installs nothing.
  const store = createStore(config.store);
  const { app, url } = await startExportService(store, config);
  closeOnSignal([app], store);
  app.log.info(`export service listening on ${url}, reading ${store.description}`);
}
