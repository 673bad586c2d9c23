import type { AuditEvent } from './audit-event.js';
import { withEventDefaults } from './event-defaults.js';
import { eventIdOf } from './event-id.js';
import { xmlSafeDeep } from './xml-safe-text.js';

/**
 * How an audit event travels as an OpenTelemetry LogRecord (docs/wire-contract.md lists it for senders).
 * Semantic-convention names where they exist, `audit.*` for the rest. The
 * instrumentation encodes with `toLogRecord`, the collector decodes with
 * `fromLogRecord`; both sides read this one table.
 */
export const ATTR = {
  /** semconv: "a unique identifier for the Log Record"; duplicates may be dropped. */
  id: 'log.record.uid',
  /** Fallback for senders that set no LogRecord `eventName` (older OTLP clients). */
  eventName: 'event.name',
  category: 'audit.category',
  outcome: 'audit.outcome',
  reason: 'audit.reason',
  actorId: 'user.id',
  actorName: 'user.name',
  actorEmail: 'user.email',
  actorRoles: 'user.roles',
  actorType: 'audit.actor.type',
  clientIp: 'client.address',
  userAgent: 'user_agent.original',
  sessionId: 'session.id',
  workspaceId: 'audit.workspace.id',
  workspaceName: 'audit.workspace.name',
  resourceType: 'audit.resource.type',
  resourceId: 'audit.resource.id',
  resourceName: 'audit.resource.name',
  resourceHref: 'audit.resource.href',
  // `from`/`to` may be any JSON value, null included, which OTel attribute values
  // cannot carry faithfully: the list travels as one JSON string.
  changes: 'audit.changes',
  requestId: 'audit.request.id',
  requestParentId: 'audit.request.parent_id',
  correlationId: 'audit.correlation_id',
  metadataPrefix: 'audit.metadata.',
} as const;

export type AttributeValue = string | number | boolean | string[];
export type Attributes = Record<string, AttributeValue>;

/** SeverityNumber values from the OpenTelemetry logs data model. */
export const SEVERITY = { INFO: 9, WARN: 13 } as const;

export interface AuditLogRecord {
  eventName: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
  severityNumber: number;
  severityText: string;
  body?: string;
  attributes: Attributes;
  /** The LogRecord's trace context (lower-case hex), not an attribute; set only when the event has one. */
  traceId?: string;
  spanId?: string;
}

export function toLogRecord(event: AuditEvent): AuditLogRecord {
  const a: Attributes = {};
  const put = (key: string, value: AttributeValue | undefined) => {
    if (value !== undefined) a[key] = value;
  };
  put(ATTR.id, event.id);
  put(ATTR.category, event.category);
  put(ATTR.outcome, event.outcome);
  put(ATTR.reason, event.reason);
  put(ATTR.actorId, event.actor.id);
  put(ATTR.actorName, event.actor.name);
  put(ATTR.actorEmail, event.actor.email);
  put(ATTR.actorRoles, event.actor.roles);
  put(ATTR.actorType, event.actor.type);
  put(ATTR.clientIp, event.client?.ip);
  put(ATTR.userAgent, event.client?.userAgent);
  put(ATTR.sessionId, event.sessionId);
  put(ATTR.workspaceId, event.workspace?.id);
  put(ATTR.workspaceName, event.workspace?.name);
  put(ATTR.resourceType, event.resource?.type);
  put(ATTR.resourceId, event.resource?.id);
  put(ATTR.resourceName, event.resource?.name);
  put(ATTR.resourceHref, event.resource?.href);
  if (event.changes) put(ATTR.changes, JSON.stringify(event.changes));
  put(ATTR.requestId, event.request?.id);
  put(ATTR.requestParentId, event.request?.parentId);
  put(ATTR.correlationId, event.correlationId);
  for (const [key, value] of Object.entries(event.metadata ?? {})) put(ATTR.metadataPrefix + key, value);
  const failed = event.outcome === 'failure';
  return {
    eventName: event.action,
    timestamp: Date.parse(event.time),
    severityNumber: failed ? SEVERITY.WARN : SEVERITY.INFO,
    severityText: failed ? 'WARN' : 'INFO',
    ...(event.message !== undefined ? { body: event.message } : {}),
    attributes: a,
    ...(event.traceId !== undefined ? { traceId: event.traceId } : {}),
    ...(event.spanId !== undefined ? { spanId: event.spanId } : {}),
  };
}

export interface ReceivedLogRecord {
  eventName?: string | undefined;
  /** Milliseconds since the epoch; undefined or 0 when the sender set none. */
  timestamp?: number | undefined;
  observedTimestamp?: number | undefined;
  /**
   * `timeUnixNano` / `observedTimeUnixNano` as sent, in decimal digits (`-` allowed), when
   * the receiver has them: timeUnitProblem names a seconds or milliseconds mistake by
   * the value the sender wrote, which `timestamp` has already divided away.
   */
  timeUnixNano?: string | undefined;
  observedTimeUnixNano?: string | undefined;
  body?: unknown;
  attributes: Record<string, unknown>;
  /** `service.name` of the sender's resource. */
  serviceName?: string | undefined;
  /**
   * The LogRecord's `traceId` / `spanId` as hex text (decoders turn protobuf bytes into
   * hex); any case. fromLogRecord keeps them only when well-formed and not all zero.
   */
  traceId?: string | undefined;
  spanId?: string | undefined;
  /**
   * The record as the sender sent it, kept in the dead-letter store when it is refused:
   * an OTLP/JSON request (protobuf JSON mapping) holding only this record with its
   * resource and scope, e.g. `{ resourceLogs: [{ resource, scopeLogs: [{ scope,
   * logRecords: [lr] }] }] }`, so `otel-audit dead-letters replay` can decode it again
   * under today's contract. Undefined when the receiver keeps none.
   */
  original?: unknown;
}

/**
 * Rebuilds the event a sender recorded, with what a sender may leave out filled the way
 * `record()` fills it: the id (eventIdOf: lower-cased, or derived from the record's
 * content when absent), the outcome and the catalogue's category and message
 * (withEventDefaults). The result is a candidate, not a valid event:
 * the caller validates it (`validateAuditEvent`) and reports what is wrong. Values are
 * copied as received so that validation, not this function, names type errors; only
 * the characters XML 1.0 forbids are replaced by U+FFFD in every string (xmlSafeDeep),
 * since the store is create-only and one such character would make every XLSX export
 * holding the event unreadable. Cleaned, not refused: a failed log-on must not be lost
 * because its user agent holds a control character.
 */
export function fromLogRecord(record: ReceivedLogRecord): Record<string, unknown> {
  const attrs = record.attributes;
  const get = (key: string) => attrs[key];
  const obj = (entries: Record<string, unknown>) => {
    const out = Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
    return Object.keys(out).length > 0 ? out : undefined;
  };
  const timestamp = record.timestamp || record.observedTimestamp;
  const metadata: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith(ATTR.metadataPrefix)) metadata[key.slice(ATTR.metadataPrefix.length)] = value;
  }
  let changes = get(ATTR.changes);
  if (typeof changes === 'string') {
    try {
      changes = JSON.parse(changes);
    } catch {
      // Left as the string: validation reports "changes: must be array".
    }
  }
  const traceId = traceContextId(record.traceId, 32);
  const event = obj({
    id: eventIdOf(record, get(ATTR.id)),
    time: timestamp ? isoTime(timestamp) : undefined,
    action: record.eventName || get(ATTR.eventName),
    category: get(ATTR.category),
    outcome: get(ATTR.outcome),
    reason: get(ATTR.reason),
    actor: obj({
      id: get(ATTR.actorId),
      name: get(ATTR.actorName),
      type: get(ATTR.actorType),
      email: get(ATTR.actorEmail),
      roles: get(ATTR.actorRoles),
    }),
    client: obj({ ip: get(ATTR.clientIp), userAgent: get(ATTR.userAgent) }),
    sessionId: get(ATTR.sessionId),
    workspace: obj({ id: get(ATTR.workspaceId), name: get(ATTR.workspaceName) }),
    resource: obj({
      type: get(ATTR.resourceType),
      id: get(ATTR.resourceId),
      name: get(ATTR.resourceName),
      href: get(ATTR.resourceHref),
    }),
    changes,
    request: obj({ id: get(ATTR.requestId), parentId: get(ATTR.requestParentId) }),
    correlationId: get(ATTR.correlationId),
    message: record.body,
    metadata: obj(metadata),
    service: obj({ name: record.serviceName }),
    traceId,
    // A span id means nothing without its trace (W3C: the pair is the span context).
    spanId: traceId ? traceContextId(record.spanId, 16) : undefined,
  });
  return xmlSafeDeep(withEventDefaults(event ?? {}));
}

/**
 * A trace or span id as stored: lower-case hex of the right length, or nothing. All
 * zeros is OpenTelemetry's "no trace", and a malformed id is dropped rather than
 * reported: the trace context only links the event to a trace, and an audit event must
 * not be refused (a failed log-on lost) because a sender's tracing is broken.
 */
function traceContextId(value: string | undefined, hexDigits: number): string | undefined {
  if (typeof value !== 'string' || value.length !== hexDigits) return undefined;
  const hex = value.toLowerCase();
  return /^[0-9a-f]+$/.test(hex) && /[1-9a-f]/.test(hex) ? hex : undefined;
}

/**
 * A timestamp outside what a Date can hold (a sender's 1e300 ns) stays the number it
 * was, so validation reports "time: must be string" instead of toISOString() throwing.
 */
function isoTime(millis: number): string | number {
  const date = new Date(millis);
  return Number.isNaN(date.getTime()) ? millis : date.toISOString();
}
