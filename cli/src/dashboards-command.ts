import { parseArgs } from 'node:util';
import { importDashboards, type KibanaAuth } from './dashboards-import.js';
import { USAGE } from './usage.js';

/** `otel-audit dashboards import`. */
export async function dashboardsCommand(args: string[]): Promise<void> {
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
