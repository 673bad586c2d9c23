import { Client } from '@elastic/elasticsearch';

export interface ElasticsearchConnection {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  apiKey?: string | undefined;
}

/** One way to connect, for the event store and the job store alike. */
export function createElasticsearchClient(c: ElasticsearchConnection): Client {
  return new Client({
    node: c.url,
    ...(c.apiKey ? { auth: { apiKey: c.apiKey } } : c.username ? { auth: { username: c.username, password: c.password ?? '' } } : {}),
    // Retries are the caller's policy (the collector's per-item backoff, the spool), not the client's.
    maxRetries: 0,
    requestTimeout: 30_000,
  });
}
