import { searchWords } from './search-words.js';
import type { EventQuery } from '../audit-store.js';

/**
 * The filter as an Elasticsearch bool query, in filter context. User text goes into a
 * `multi_match` (analysed words, no syntax), never `query_string`: it cannot reach
 * outside the scope's conditions or run query syntax.
 */
export function esQuery(q: EventQuery): Record<string, unknown> {
  const f = q.filter ?? {};
  const must: Record<string, unknown>[] = [{ range: { '@timestamp': { gte: q.from.toISOString(), lt: q.to.toISOString() } } }];
  // An empty list matches nothing (`terms` with no values would match nothing too, but say it).
  const terms = (field: string, values: readonly string[] | undefined) => {
    if (values) must.push(values.length > 0 ? { terms: { [field]: values } } : { bool: { must_not: { match_all: {} } } });
  };
  terms('user.id', f.actorIds);
  terms('organization.id', f.workspaceIds);
  terms('audit.category', f.categories);
  terms('event.outcome', f.outcomes);
  if (f.actions || f.actionPrefixes) {
    must.push({
      bool: {
        should: [
          ...(f.actions && f.actions.length > 0 ? [{ terms: { 'event.action': f.actions } }] : []),
          ...(f.actionPrefixes ?? []).map((p) => ({ prefix: { 'event.action': p } })),
        ],
        minimum_should_match: 1,
      },
    });
  }
  if (f.resourceType !== undefined) must.push({ term: { 'audit.resource.type': f.resourceType } });
  if (f.resourceId !== undefined) must.push({ term: { 'audit.resource.id': f.resourceId } });
  if (f.traceId !== undefined) must.push({ term: { 'trace.id': f.traceId } });
  // A term query on an `ip` field takes an address or a CIDR range.
  if (f.ip !== undefined) must.push({ term: { 'source.ip': f.ip } });
  const words = searchWords(f.text);
  if (words.length > 0) {
    must.push({
      multi_match: {
        query: words.join(' '),
        fields: ['message', 'user.name.text', 'audit.resource.name.text'],
        type: 'cross_fields',
        operator: 'and',
        lenient: true,
      },
    });
  }
  return { bool: { filter: must } };
}
