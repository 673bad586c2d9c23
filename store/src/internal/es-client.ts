import { createRequire } from 'node:module';
import type * as Elasticsearch from '@elastic/elasticsearch';
import type { Client, errors } from '@elastic/elasticsearch';

export interface ElasticsearchConnection {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  apiKey?: string | undefined;
}

// The client is loaded when the first Elasticsearch store or job store is built, never at import:
// it is about 30 MiB of RSS that a SQLite-backed service (or the collector) would carry for nothing,
// and the store's index exports the Elasticsearch classes beside the SQLite ones. The package ships
// CommonJS, so a synchronous require keeps the stores' constructors synchronous; every other module
// imports only its types.
const require = createRequire(import.meta.url);
let loaded: typeof Elasticsearch | undefined;
const elasticsearch = (): typeof Elasticsearch => (loaded ??= require('@elastic/elasticsearch') as typeof Elasticsearch);

/** One way to connect, for the event store and the job store alike. */
export function createElasticsearchClient(c: ElasticsearchConnection): Client {
  return new (elasticsearch().Client)({
    node: c.url,
    ...(c.apiKey ? { auth: { apiKey: c.apiKey } } : c.username ? { auth: { username: c.username, password: c.password ?? '' } } : {}),
    // Retries are the caller's policy (the collector's per-item backoff, the spool), not the client's.
    maxRetries: 0,
    requestTimeout: 30_000,
  });
}

/**
 * True when `err` is the client's answer with an HTTP status (any, or one of `statuses`). Only
 * reached after a client call failed, so the client is loaded by then and this loads nothing.
 */
export function isResponseError(err: unknown, ...statuses: number[]): err is errors.ResponseError {
  return err instanceof elasticsearch().errors.ResponseError && (statuses.length === 0 || statuses.includes(err.statusCode ?? 0));
}
