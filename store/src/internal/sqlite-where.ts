import { BlockList, isIP } from 'node:net';
import type { EventQuery } from '../audit-store.js';
import { searchWords } from './search-words.js';

/** The filter as SQL over indexed columns where there are some, the JSON document otherwise. */
export function whereClause(q: EventQuery): { sql: string; params: unknown[] } {
  const parts = ['time_ms >= ?', 'time_ms < ?'];
  const params: unknown[] = [q.from.getTime(), q.to.getTime()];
  const f = q.filter ?? {};
  const anyOf = (column: string, values: readonly string[] | undefined) => {
    if (!values) return;
    // An empty list matches nothing: a scope with no members must not mean "no condition".
    if (values.length === 0) return void parts.push('0');
    parts.push(`${column} IN (${values.map(() => '?').join(', ')})`);
    params.push(...values);
  };
  anyOf('actor_id', f.actorIds);
  anyOf('workspace_id', f.workspaceIds);
  anyOf('category', f.categories);
  anyOf('outcome', f.outcomes);
  if (f.traceId !== undefined) anyOf('trace_id', [f.traceId]);
  if (f.actions || f.actionPrefixes) {
    const alternatives = [
      ...(f.actions ?? []).map((a) => (params.push(a), 'action = ?')),
      ...(f.actionPrefixes ?? []).map((p) => (params.push(`${escapeLike(p)}%`), "action LIKE ? ESCAPE '\\'")),
    ];
    parts.push(alternatives.length > 0 ? `(${alternatives.join(' OR ')})` : '0');
  }
  const equals = (path: string, value: string | undefined) => {
    if (value === undefined) return;
    parts.push(`json_extract(doc, '${path}') = ?`);
    params.push(value);
  };
  equals('$.resource.type', f.resourceType);
  equals('$.resource.id', f.resourceId);
  if (!f.ip?.includes('/')) equals('$.client.ip', f.ip);
  for (const word of searchWords(f.text)) {
    // Bound parameters and escaped wildcards: user text is data, never SQL or a pattern.
    const like = `%${escapeLike(word)}%`;
    parts.push(
      "(json_extract(doc, '$.message') LIKE ? ESCAPE '\\' OR json_extract(doc, '$.actor.name') LIKE ? ESCAPE '\\' OR json_extract(doc, '$.resource.name') LIKE ? ESCAPE '\\')",
    );
    params.push(like, like, like);
  }
  return { sql: parts.join(' AND '), params };
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export function ipMatcher(ip: string | undefined): ((candidate: string | undefined) => boolean) | undefined {
  if (!ip?.includes('/')) return undefined;
  const [addr, bits] = ip.split('/');
  const family = isIP(addr!) === 6 ? 'ipv6' : 'ipv4';
  const list = new BlockList();
  list.addSubnet(addr!, Number(bits), family);
  return (candidate) => {
    const kind = isIP(candidate ?? '');
    return kind !== 0 && list.check(candidate!, kind === 6 ? 'ipv6' : 'ipv4');
  };
}
