/**
 * The Elasticsearch names the store writes under, public because operators grant roles,
 * Kibana data views and ILM policies on them (docs/elasticsearch.md).
 */
export const INDEX_PREFIX = 'audit-events-';
export const READ_ALIAS = 'audit-events';
export const TEMPLATE_NAME = 'audit-events';
export const REJECTED_PREFIX = 'audit-rejected-';
export const REJECTED_TEMPLATE_NAME = 'audit-rejected';
/** Signed chain digests: one index, a few records a minute per collector. */
export const DIGESTS_INDEX = 'audit-digests';

/** The ILM delete policy the templates attach when retention is set (where ILM is available). */
export const RETENTION_POLICY_NAME = 'otel-audit-retention';

/** The daily index of an event: by the UTC day of its own time, so a late event goes to its day. */
export function indexFor(time: string, prefix: string = INDEX_PREFIX): string {
  const d = new Date(time);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${prefix}${d.getUTCFullYear()}.${pad(d.getUTCMonth() + 1)}.${pad(d.getUTCDate())}`;
}
