import { buildCollector, collectorConfigFromEnv, collectorOptionsFromConfig, listenCollectorGrpc, retentionFromConfig } from '@otel-audit/collector';
import type { AuditStore } from '@otel-audit/store';
import { closeOnSignal, openStore, serviceLogger } from './service-lifecycle.js';

export async function startCollector(store: AuditStore, config = collectorConfigFromEnv()) {
  const retention = retentionFromConfig(config, store);
  const app = buildCollector({ store, retention: retention.options, ...collectorOptionsFromConfig(config), logger: serviceLogger() });
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

/** `otel-audit collector`. */
export async function collectorCommand(): Promise<void> {
  const config = collectorConfigFromEnv();
  const store = await openStore(config.store);
  const { app, url, grpcUrl } = await startCollector(store, config);
  closeOnSignal([app], store);
  app.log.info(`collector listening on ${url}${grpcUrl ? ` (OTLP/gRPC on ${grpcUrl})` : ''}, storing in ${store.description}`);
}
