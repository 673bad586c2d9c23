import { collectorConfigFromEnv } from '@otel-audit/collector';
import { exportServiceConfigFromEnv } from '@otel-audit/exporter-service';
import { startCollector } from './collector-command.js';
import { embeddedSenderToken } from './embedded-sender-token.js';
import { startExportService } from './export-service-command.js';
import { closeOnSignal, openStore } from './service-lifecycle.js';

/** `otel-audit start`: collector and export service in one process. */
export async function startCommand(): Promise<void> {
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
