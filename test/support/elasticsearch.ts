import { inject } from 'vitest';
import type { Credentials } from '../../scripts/elasticsearch.js';

export interface ElasticsearchForTests {
  url: string;
  version: string;
  admin: Credentials;
  writer: Credentials;
  reader: Credentials;
}

/** The run's Elasticsearch node, or null when the suites are to be skipped. */
export function elasticsearch(): ElasticsearchForTests | null {
  return inject('elasticsearch');
}
