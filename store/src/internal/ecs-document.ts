import { ecsCategorization, type AuditEvent } from '@otel-audit/contract';

/**
 * The Elasticsearch document for an event, in Elastic Common Schema names (so Kibana and
 * the security tools that read ECS understand it), and the index template mapping that goes with it. Both live in this file
 * so they cannot drift apart; `fromDocument` is the exact inverse of `toDocument`.
 */
export { DIGESTS_INDEX, INDEX_PREFIX, READ_ALIAS, REJECTED_PREFIX, REJECTED_TEMPLATE_NAME, TEMPLATE_NAME, indexFor } from '../index-names.js';

export const DIGEST_MAPPINGS = {
  dynamic: 'strict',
  properties: {
    chainId: { type: 'keyword' },
    firstSeq: { type: 'long' },
    lastSeq: { type: 'long' },
    lastHash: { type: 'keyword', index: false },
    count: { type: 'long' },
    eventTimeFrom: { type: 'date' },
    eventTimeTo: { type: 'date' },
    digestTime: { type: 'date' },
    voided: { type: 'object', enabled: false },
    previousSignature: { type: 'keyword', index: false },
    keyId: { type: 'keyword' },
    algorithm: { type: 'keyword' },
    signature: { type: 'keyword', index: false },
  },
} as const;

/** Dead letters: searchable by time, reason and service; the record itself kept verbatim. */
export const REJECTED_MAPPINGS = {
  dynamic: 'strict',
  properties: {
    '@timestamp': { type: 'date' },
    error: { properties: { message: { type: 'keyword', ignore_above: 2048, fields: { text: { type: 'text' } } } } },
    service: { properties: { name: { type: 'keyword', ignore_above: 1024 } } },
    event: { properties: { original: { type: 'keyword', index: false, doc_values: false } } },
    // Issue 14: the record as sent (its OTLP/JSON form) for show and replay, and the
    // problems per field, searchable by field (`audit.problems.field: category`).
    audit: {
      properties: {
        original: { type: 'keyword', index: false, doc_values: false },
        problems: { properties: { field: { type: 'keyword', ignore_above: 1024 }, problem: { type: 'keyword', ignore_above: 2048 } } },
      },
    },
  },
} as const;

const keyword = { type: 'keyword', ignore_above: 1024 } as const;
// `text`, not `match_only_text`: the latter lives in a module the minimal distribution lacks.
const text = { type: 'text' } as const;
// Kept in _source for export, not indexed: arbitrary keys must not grow the mapping.
const opaque = { type: 'object', enabled: false } as const;

export const EVENT_MAPPINGS = {
  dynamic: 'strict',
  properties: {
    '@timestamp': { type: 'date' },
    message: text,
    event: {
      properties: {
        id: keyword,
        action: keyword,
        category: keyword,
        type: keyword,
        outcome: keyword,
        reason: { ...keyword, fields: { text } },
      },
    },
    user: {
      properties: {
        id: keyword,
        name: { ...keyword, fields: { text } },
        email: keyword,
        roles: keyword,
      },
    },
    // A malformed address must not cost the event: it stays in _source, unindexed.
    source: { properties: { ip: { type: 'ip', ignore_malformed: true } } },
    user_agent: { properties: { original: { ...keyword, fields: { text } } } },
    organization: { properties: { id: keyword, name: { ...keyword, fields: { text } } } },
    related: { properties: { user: keyword, ip: { type: 'ip', ignore_malformed: true } } },
    service: { properties: { name: keyword } },
    // ECS tracing fields: the trace and span active when the event was recorded, to
    // jump from an audit event to its trace in an APM tool, and back.
    trace: { properties: { id: keyword } },
    span: { properties: { id: keyword } },
    audit: {
      properties: {
        category: keyword,
        actor: { properties: { type: keyword } },
        session: { properties: { id: keyword } },
        resource: {
          properties: { type: keyword, id: keyword, name: { ...keyword, fields: { text } }, href: { type: 'keyword', index: false } },
        },
        request: { properties: { id: keyword, parent_id: keyword } },
        correlation_id: keyword,
        changes: opaque,
        metadata: opaque,
        // Tamper evidence: the position in the writing collector's hash chain. Not part of
        // the contract event, and so not part of what is hashed.
        chain: { properties: { id: keyword, seq: { type: 'long' }, hash: { type: 'keyword', index: false } } },
      },
    },
  },
} as const;

type Doc = Record<string, unknown>;

/** Drops undefined values and empty objects, so documents carry only what was recorded. */
function compact(value: Doc): Doc | undefined {
  const out: Doc = {};
  let empty = true;
  // Object.keys, not Object.entries: no [key, value] pair per member, on every read of an event.
  for (const k of Object.keys(value)) {
    const v = value[k];
    if (v === undefined) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const inner = compact(v as Doc);
      if (!inner) continue;
      out[k] = inner;
    } else out[k] = v;
    empty = false;
  }
  return empty ? undefined : out;
}

export function toDocument(e: AuditEvent): Doc {
  const ecs = ecsCategorization(e);
  const relatedUsers = [...new Set([e.actor.id, e.actor.name].filter((v): v is string => Boolean(v)))];
  const doc = compact({
    '@timestamp': e.time,
    message: e.message,
    event: { id: e.id, action: e.action, category: ecs.category, type: ecs.type, outcome: e.outcome, reason: e.reason },
    user: { id: e.actor.id, name: e.actor.name, email: e.actor.email, roles: e.actor.roles },
    source: { ip: e.client?.ip },
    user_agent: { original: e.client?.userAgent },
    organization: { id: e.workspace?.id, name: e.workspace?.name },
    related: { user: relatedUsers, ip: e.client?.ip ? [e.client.ip] : undefined },
    service: { name: e.service?.name },
    trace: { id: e.traceId },
    span: { id: e.spanId },
    audit: {
      category: e.category,
      actor: { type: e.actor.type },
      session: { id: e.sessionId },
      resource: e.resource && { type: e.resource.type, id: e.resource.id, name: e.resource.name, href: e.resource.href },
      request: { id: e.request?.id, parent_id: e.request?.parentId },
      correlation_id: e.correlationId,
      metadata: e.metadata,
    },
  }) as Doc & { audit: Doc };
  // Set after compact(): a null `from` in a change is meaningful and must survive.
  if (e.changes) doc.audit.changes = e.changes;
  return doc;
}

/** `o[k]` as the document's paths are read: nothing past a missing or null member. */
const at = (o: unknown, k: string): unknown => (o as Doc | null | undefined)?.[k];

export function fromDocument(doc: Doc): AuditEvent {
  // Each member read once, by name: this runs for every hit an export reads (the paths it
  // used to split per field per hit were most of its cost).
  const event = doc.event;
  const user = doc.user;
  const audit = doc.audit;
  const organization = doc.organization;
  const request = at(audit, 'request');
  const out = compact({
    id: at(event, 'id'),
    time: doc['@timestamp'],
    action: at(event, 'action'),
    category: at(audit, 'category'),
    outcome: at(event, 'outcome'),
    reason: at(event, 'reason'),
    actor: { id: at(user, 'id'), name: at(user, 'name'), type: at(at(audit, 'actor'), 'type'), email: at(user, 'email'), roles: at(user, 'roles') },
    client: { ip: at(doc.source, 'ip'), userAgent: at(doc.user_agent, 'original') },
    sessionId: at(at(audit, 'session'), 'id'),
    workspace: { id: at(organization, 'id'), name: at(organization, 'name') },
    resource: at(audit, 'resource'),
    request: { id: at(request, 'id'), parentId: at(request, 'parent_id') },
    correlationId: at(audit, 'correlation_id'),
    message: doc.message,
    metadata: at(audit, 'metadata'),
    service: { name: at(doc.service, 'name') },
    traceId: at(doc.trace, 'id'),
    spanId: at(doc.span, 'id'),
  }) as AuditEvent;
  const changes = at(audit, 'changes');
  if (changes !== undefined) out.changes = changes as AuditEvent['changes'];
  return out;
}
