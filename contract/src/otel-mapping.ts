import type { AuditEvent } from './audit-event.js';
import { withEventDefaults } from './event-defaults.js';
import { eventIdOf } from './event-id.js';
import { xmlSafeDeep, xmlSafeText } from './xml-safe-text.js';

/**
 * How an audit event travels as an OpenTelemetry LogRecord (docs/wire-contract.md lists it for senders).
 * Semantic-convention names where they exist, `audit.*` for the rest. The
 * instrumentation encodes with `toLogRecord`, the collector decodes with
 * `LogRecordFields` (`fromLogRecord` over an attribute map); both sides read this one table.
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
   * The record as the sender sent it, as a one-record OTLP/JSON request (`{ resourceLogs:
   * [{ resource, scopeLogs: [{ scope, logRecords: [lr] }] }] }`), when a holder of this
   * shape keeps it; a derived id leaves it out. The collector builds it only for a refused
   * record, for the dead-letter store, outside this shape.
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
  const fields = new LogRecordFields();
  fields.eventName = record.eventName;
  fields.timestamp = record.timestamp;
  fields.observedTimestamp = record.observedTimestamp;
  fields.body = record.body;
  fields.serviceName = record.serviceName;
  fields.traceId = record.traceId;
  fields.spanId = record.spanId;
  for (const [key, value] of Object.entries(record.attributes)) fields.attribute(key, value);
  return fields.candidate(() => record);
}

// The attributes an event field is read from, in the order the event's keys are written
// (the order of the stored JSON, and of a dead letter's candidate, whose id hashes it).
const MAPPED = [
  'id', 'eventName', 'category', 'outcome', 'reason', 'actorId', 'actorName', 'actorType', 'actorEmail', 'actorRoles',
  'clientIp', 'userAgent', 'sessionId', 'workspaceId', 'workspaceName', 'resourceType', 'resourceId', 'resourceName',
  'resourceHref', 'changes', 'requestId', 'requestParentId', 'correlationId',
] as const satisfies readonly (keyof typeof ATTR)[];
const SLOT_OF: ReadonlyMap<string, number> = new Map(MAPPED.map((name, i) => [ATTR[name], i]));
const S = Object.fromEntries(MAPPED.map((name, i) => [name, i])) as Record<(typeof MAPPED)[number], number>;

/**
 * `fromLogRecord` for a decoder that reads a record's attributes one by one off the wire:
 * each attribute goes straight to its event field (ATTR, looked up once per key), so no
 * attribute map is built. Set the record's own fields, give every attribute in the order
 * sent (the last of one key wins, as in a map), then take `candidate`; the instance is
 * then empty again for the next record. Attributes that map to no field are dropped here
 * (they still count in a derived id, which `candidate` asks the whole record for).
 */
export class LogRecordFields {
  eventName: unknown;
  /** Milliseconds since the epoch; 0 or undefined when unset. */
  timestamp: number | undefined;
  observedTimestamp: number | undefined;
  body: unknown;
  serviceName: unknown;
  /** Hex text, any case; kept only when well-formed and not all zero. */
  traceId: unknown;
  spanId: unknown;
  readonly #slots: unknown[] = new Array<unknown>(MAPPED.length).fill(undefined);
  #metadata: Record<string, unknown> | undefined;
  #metadataUnset = false;

  attribute(key: string, value: unknown): void {
    const slot = SLOT_OF.get(key);
    if (slot !== undefined) this.#slots[slot] = value;
    else if (key.startsWith(ATTR.metadataPrefix)) {
      (this.#metadata ??= {})[key.slice(ATTR.metadataPrefix.length)] = value;
      if (value === undefined) this.#metadataUnset = true;
    }
  }

  /**
   * The candidate event (see fromLogRecord). `received` gives the whole record as
   * received, read only when the id must be derived from its content.
   */
  candidate(received: () => ReceivedLogRecord): Record<string, unknown> {
    const s = this.#slots;
    const event: Record<string, unknown> = {};
    put(event, 'id', eventIdOf(s[S.id], received));
    const timestamp = this.timestamp || this.observedTimestamp;
    if (timestamp) event.time = isoTime(timestamp);
    put(event, 'action', this.eventName || s[S.eventName]);
    put(event, 'category', s[S.category]);
    put(event, 'outcome', s[S.outcome]);
    put(event, 'reason', s[S.reason]);
    group(event, 'actor', ACTOR, s);
    group(event, 'client', CLIENT, s);
    put(event, 'sessionId', s[S.sessionId]);
    group(event, 'workspace', WORKSPACE, s);
    group(event, 'resource', RESOURCE, s);
    put(event, 'changes', parsedChanges(s[S.changes]));
    group(event, 'request', REQUEST, s);
    put(event, 'correlationId', s[S.correlationId]);
    put(event, 'message', this.body);
    put(event, 'metadata', this.#takeMetadata());
    if (this.serviceName !== undefined) event.service = put({}, 'name', this.serviceName);
    const traceId = traceContextId(this.traceId, 32);
    put(event, 'traceId', traceId);
    // A span id means nothing without its trace (W3C: the pair is the span context).
    if (traceId) put(event, 'spanId', traceContextId(this.spanId, 16));
    s.fill(undefined);
    this.eventName = this.timestamp = this.observedTimestamp = this.body = this.serviceName = this.traceId = this.spanId = undefined;
    return withEventDefaults(event);
  }

  /** The metadata object, less keys whose value was unset; undefined when none is left. */
  #takeMetadata(): Record<string, unknown> | undefined {
    let metadata = this.#metadata;
    this.#metadata = undefined;
    if (metadata && this.#metadataUnset) metadata = Object.fromEntries(Object.entries(metadata).filter(([, v]) => v !== undefined));
    this.#metadataUnset = false;
    return metadata && hasMembers(metadata) ? metadata : undefined;
  }
}

/** Sets `key` unless the value is undefined, every string in it XML-safe; returns `target`. */
function put(target: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  if (value !== undefined) target[key] = typeof value === 'string' ? xmlSafeText(value) : typeof value === 'object' ? xmlSafeDeep(value) : value;
  return target;
}

// The event's objects: each member and the slot it is read from, in the order written.
type Members = readonly (readonly [member: string, slot: number])[];
const ACTOR: Members = [['id', S.actorId], ['name', S.actorName], ['type', S.actorType], ['email', S.actorEmail], ['roles', S.actorRoles]];
const CLIENT: Members = [['ip', S.clientIp], ['userAgent', S.userAgent]];
const WORKSPACE: Members = [['id', S.workspaceId], ['name', S.workspaceName]];
const RESOURCE: Members = [['type', S.resourceType], ['id', S.resourceId], ['name', S.resourceName], ['href', S.resourceHref]];
const REQUEST: Members = [['id', S.requestId], ['parentId', S.requestParentId]];

/** The object of the members that are set, or nothing when none is. */
function group(target: Record<string, unknown>, key: string, members: Members, slots: readonly unknown[]): void {
  let out: Record<string, unknown> | undefined;
  for (const [member, slot] of members) if (slots[slot] !== undefined) put((out ??= {}), member, slots[slot]);
  if (out) target[key] = out;
}

function hasMembers(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

/** `audit.changes` is one JSON string; one that does not parse stays a string, which validation names ("changes: must be array"). */
function parsedChanges(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/**
 * A trace or span id as stored: lower-case hex of the right length, or nothing. All
 * zeros is OpenTelemetry's "no trace", and a malformed id is dropped rather than
 * reported: the trace context only links the event to a trace, and an audit event must
 * not be refused (a failed log-on lost) because a sender's tracing is broken.
 */
function traceContextId(value: unknown, hexDigits: number): string | undefined {
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
