import Type, { type Static } from 'typebox';
import type { KnownAuditAction } from './action-catalogue.js';

/**
 * The audit event contract, defined once. The TypeScript types,
 * the runtime validation in the instrumentation and the collector, the store layouts
 * and the export columns all derive from the schemas in this file.
 */

export const AUDIT_CATEGORIES = [
  'authentication',
  'session',
  'iam',
  'configuration',
  'data',
  'ui',
  'system',
  'workflow',
  'search',
] as const;
export type AuditCategory = (typeof AUDIT_CATEGORIES)[number];

export const AUDIT_OUTCOMES = ['success', 'failure', 'unknown'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export const ACTOR_TYPES = ['user', 'service', 'system'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

/** Bounds on `metadata`, so one event cannot bloat the store or the mapping. */
export const METADATA_LIMITS = { maxKeys: 50, maxKeyLength: 40, maxValueLength: 500 } as const;

// Lengths are generous caps against abuse, not business rules: a value past them is a
// bug in the caller or an attack, never a legitimate audit field.
const text = (maxLength: number) => Type.String({ maxLength });
const required = (maxLength: number) => Type.String({ minLength: 1, maxLength });

/** `resource.verb`, lower case, dotted: `auth.login`, `api_token.create`. */
export const ACTION_PATTERN = '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$';
/**
 * Any RFC 9562 UUID (versions 1 to 8, the RFC's variant), lower case. `record()` makes
 * UUIDv7s; other SDKs send v4s or whatever their platform makes, and the collector
 * lower-cases them (eventIdOf) so one id has one spelling. Nothing relies on v7's time
 * order: the store sorts by time, then id.
 */
export const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$';
// W3C trace context ids as OpenTelemetry writes them in text: lower-case hex, 16 and 8
// bytes. The all-zero ids mean "no trace"; fromLogRecord drops them before validation.
export const TRACE_ID_PATTERN = '^[0-9a-f]{32}$';
export const SPAN_ID_PATTERN = '^[0-9a-f]{16}$';
// RFC 3339 with an explicit zone; stored events always use the `Z` form of toISOString().
const TIME_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$';

export const ActorSchema = Type.Object(
  {
    id: required(256),
    name: Type.Optional(text(256)),
    type: Type.Enum(ACTOR_TYPES),
    email: Type.Optional(text(320)),
    roles: Type.Optional(Type.Array(required(128), { maxItems: 50 })),
  },
  { additionalProperties: false },
);

export const ClientSchema = Type.Object(
  { ip: Type.Optional(text(64)), userAgent: Type.Optional(text(1024)) },
  { additionalProperties: false },
);

export const WorkspaceSchema = Type.Object(
  { id: required(256), name: Type.Optional(text(256)) },
  { additionalProperties: false },
);

export const ResourceSchema = Type.Object(
  {
    type: required(128),
    id: Type.Optional(text(256)),
    name: Type.Optional(text(512)),
    href: Type.Optional(text(2048)),
  },
  { additionalProperties: false },
);

export const ChangeSchema = Type.Object(
  { field: required(256), from: Type.Optional(Type.Unknown()), to: Type.Optional(Type.Unknown()) },
  { additionalProperties: false },
);

export const RequestRefSchema = Type.Object(
  { id: Type.Optional(text(256)), parentId: Type.Optional(text(256)) },
  { additionalProperties: false },
);

export const MetadataSchema = Type.Record(
  Type.String(),
  Type.Union([text(METADATA_LIMITS.maxValueLength), Type.Number(), Type.Boolean()]),
  { maxProperties: METADATA_LIMITS.maxKeys, propertyNames: { maxLength: METADATA_LIMITS.maxKeyLength } },
);

/** Fields an application supplies; `record()` adds `id` and defaults `time` and `outcome`. */
const callerFields = {
  action: Type.String({ pattern: ACTION_PATTERN, maxLength: 128 }),
  category: Type.Enum(AUDIT_CATEGORIES),
  reason: Type.Optional(text(1024)),
  actor: ActorSchema,
  client: Type.Optional(ClientSchema),
  sessionId: Type.Optional(text(256)),
  workspace: Type.Optional(WorkspaceSchema),
  resource: Type.Optional(ResourceSchema),
  changes: Type.Optional(Type.Array(ChangeSchema, { maxItems: 200 })),
  request: Type.Optional(RequestRefSchema),
  /** The HTTP request (or job) that caused the event, to join with application logs. */
  correlationId: Type.Optional(text(256)),
  message: Type.Optional(text(4096)),
  metadata: Type.Optional(MetadataSchema),
};

/** A stored audit event: what the collector accepts and the export service reads. */
export const AuditEventSchema = Type.Object(
  {
    id: Type.String({ pattern: UUID_PATTERN }),
    time: Type.String({ pattern: TIME_PATTERN }),
    outcome: Type.Enum(AUDIT_OUTCOMES),
    ...callerFields,
    /** Set by the collector from the sender's OpenTelemetry resource (`service.name`). */
    service: Type.Optional(Type.Object({ name: required(256) }, { additionalProperties: false })),
    /**
     * The trace and span that were active when the event was recorded, from the
     * LogRecord's own trace context (never an attribute): ECS `trace.id` / `span.id`.
     */
    traceId: Type.Optional(Type.String({ pattern: TRACE_ID_PATTERN })),
    spanId: Type.Optional(Type.String({ pattern: SPAN_ID_PATTERN })),
  },
  { additionalProperties: false },
);
export type AuditEvent = Static<typeof AuditEventSchema>;

export type Actor = AuditEvent['actor'];
export type AuditResource = NonNullable<AuditEvent['resource']>;
export type AuditChange = NonNullable<AuditEvent['changes']>[number];

/** What an application passes to `record()`. */
// `traceId`/`spanId` are not input: `record()` takes them from the active span, as every
// OpenTelemetry log does, so an event cannot claim a trace it was not recorded in.
export type AuditEventInput = Omit<AuditEvent, 'id' | 'time' | 'outcome' | 'service' | 'category' | 'action' | 'traceId' | 'spanId'> & {
  /** `resource.verb`. Catalogue actions autocomplete; any other action needs a `category`. */
  // `string & {}` keeps the catalogue's names as suggestions without refusing other strings.
  action: KnownAuditAction | (string & {});
  /** When it happened. Default: now. */
  time?: Date | string;
  /** Default: `success`. */
  outcome?: AuditOutcome;
  /** Default: the catalogue's category for a catalogued action; required for any other action. */
  category?: AuditCategory;
};
