import { readFile } from 'node:fs/promises';

// From cli/dist/ (and cli/src/ under vitest) to the repository's dashboards/ folder: the file ships
// beside the CLI rather than inside it, so there is one copy to review and test.
export const DASHBOARDS_FILE = new URL('../../dashboards/otel-audit.ndjson', import.meta.url);

export type KibanaAuth = { username: string; password: string } | { apiKey: string };

export interface ImportDashboardsOptions {
  kibanaUrl: string;
  /** Kibana space id; unset or "default" means the default space. */
  space?: string;
  auth?: KibanaAuth;
  /** The NDJSON to import; defaults to dashboards/otel-audit.ndjson. */
  file?: string | URL;
  fetchImpl?: typeof fetch;
}

export interface ImportError {
  id: string;
  type: string;
  title?: string;
  error: { type: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface ImportDashboardsResult {
  successCount: number;
  errors: ImportError[];
}

export function importUrl(kibanaUrl: string, space?: string): string {
  const base = kibanaUrl.replace(/\/+$/, '');
  const prefix = space && space !== 'default' ? `/s/${encodeURIComponent(space)}` : '';
  return `${base}${prefix}/api/saved_objects/_import?overwrite=true`;
}

function authHeader(auth: KibanaAuth | undefined): Record<string, string> {
  if (!auth) return {};
  if ('apiKey' in auth) return { authorization: `ApiKey ${auth.apiKey}` };
  return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
}

/** Imports the saved objects with overwrite=true, so running it again updates the dashboards in place. */
export async function importDashboards(options: ImportDashboardsOptions): Promise<ImportDashboardsResult> {
  const doFetch = options.fetchImpl ?? fetch;
  const ndjson = await readFile(options.file ?? DASHBOARDS_FILE);
  const form = new FormData();
  // Kibana picks the parser by the file name's extension, so the name must end in .ndjson.
  form.append('file', new Blob([ndjson], { type: 'application/ndjson' }), 'otel-audit.ndjson');
  const url = importUrl(options.kibanaUrl, options.space);
  let response: Response;
  try {
    response = await doFetch(url, { method: 'POST', headers: { 'kbn-xsrf': 'true', ...authHeader(options.auth) }, body: form });
  } catch (err) {
    throw new Error(`could not reach Kibana at ${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const text = await response.text();
  if (!response.ok) {
    const hint =
      response.status === 401
        ? ' (authentication failed: check --username/--password or --api-key)'
        : response.status === 403
          ? ' (the user may not manage saved objects in this space)'
          : response.status === 404
            ? ' (no such Kibana space, or not a Kibana URL)'
            : '';
    throw new Error(`Kibana answered HTTP ${response.status} to the import${hint}: ${text.slice(0, 500)}`);
  }
  let body: { successCount?: unknown; errors?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`Kibana's import answer is not JSON: ${text.slice(0, 500)}`);
  }
  return {
    successCount: typeof body.successCount === 'number' ? body.successCount : 0,
    errors: Array.isArray(body.errors) ? (body.errors as ImportError[]) : [],
  };
}
