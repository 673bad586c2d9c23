import { ecsCategorization, type AuditEvent } from '@otel-audit/contract';
import type { ChainPosition } from '../hash-chain.js';
import { canonicalJson } from './canonical-json.js';
import { fromDocument, toDocument } from './ecs-document.js';

/**
 * The bulk request's lines for an event, written straight from the event as JSON text: the
 * same document as `JSON.stringify(toDocument(e))` with `audit.chain` set (held to it by
 * store/test/ecs-document.property.test.ts), without the intermediate object the client's
 * serialiser would walk again. That object, and the serialiser, were 8.5 % of the Elasticsearch
 * collector's busy time and a good part of its garbage (bench/RESULTS.md, issue 15).
 */
export function documentLine(e: AuditEvent, chain?: ChainPosition): string {
  const q = JSON.stringify;
  const ecs = ecsCategorization(e);
  let s = `{"@timestamp":${q(e.time)}`;
  if (e.message !== undefined) s += `,"message":${q(e.message)}`;
  s += `,"event":{"id":${q(e.id)},"action":${q(e.action)},"category":${q(ecs.category)},"type":${q(ecs.type)},"outcome":${q(e.outcome)}`;
  s += e.reason !== undefined ? `,"reason":${q(e.reason)}}` : '}';
  const a = e.actor;
  s += `,"user":{"id":${q(a.id)}${member('name', a.name)}${member('email', a.email)}${member('roles', a.roles)}}`;
  s += object('source', member('ip', e.client?.ip));
  s += object('user_agent', member('original', e.client?.userAgent));
  s += object('organization', member('id', e.workspace?.id) + member('name', e.workspace?.name));
  const related = a.name && a.name !== a.id ? [a.id, a.name] : [a.id];
  s += `,"related":{"user":${q(related)}${e.client?.ip ? `,"ip":${q([e.client.ip])}` : ''}}`;
  s += object('service', member('name', e.service?.name));
  s += object('trace', member('id', e.traceId));
  s += object('span', member('id', e.spanId));
  s += `,"audit":{"category":${q(e.category)},"actor":{"type":${q(a.type)}}`;
  s += object('session', member('id', e.sessionId));
  const r = e.resource;
  if (r) s += object('resource', member('type', r.type) + member('id', r.id) + member('name', r.name) + member('href', r.href));
  s += object('request', member('id', e.request?.id) + member('parent_id', e.request?.parentId));
  s += member('correlation_id', e.correlationId);
  if (e.metadata && Object.keys(e.metadata).length > 0) s += `,"metadata":${q(e.metadata)}`;
  if (e.changes) s += `,"changes":${q(e.changes)}`;
  if (chain) s += `,"chain":${q(chain)}`;
  return `${s}}}`;
}

/** The bulk `create` action for an event: the event id as `_id`, in its day's index. */
export function createLine(index: string, id: string): string {
  return `{"create":{"_index":${JSON.stringify(index)},"_id":${JSON.stringify(id)}}}`;
}

/** `,"key":value`, or nothing for undefined: the document carries only what was recorded. */
function member(key: string, value: unknown): string {
  return value === undefined ? '' : `,"${key}":${JSON.stringify(value)}`;
}

/** `,"key":{…}` from members written by `member`, or nothing when there are none (no empty objects). */
function object(key: string, members: string): string {
  return members === '' ? '' : `,"${key}":{${members.slice(1)}}`;
}

/**
 * The bytes the chain hashes for an event stored as its document: the canonical form of the
 * event as `fromDocument` returns it, which is the event itself (the property test holds the
 * two mappings to that) except for objects with no member, which the document leaves out.
 * Only then is the event rebuilt from its document; otherwise no document is made for it.
 */
export function documentCanonical(e: AuditEvent): string {
  return hasEmptyObject(e) ? canonicalJson(fromDocument(toDocument(e))) : canonicalJson(e);
}

function hasEmptyObject(value: Record<string, unknown>, top = true): boolean {
  for (const key in value) {
    const v = value[key];
    // `changes` goes into the document as it is: an empty `from` object there is kept.
    if (v === null || typeof v !== 'object' || Array.isArray(v) || (top && key === 'changes')) continue;
    if (!Object.values(v).some((x) => x !== undefined) || hasEmptyObject(v as Record<string, unknown>, false)) return true;
  }
  return false;
}
