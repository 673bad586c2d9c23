import { ACTION_PATTERN, ACTOR_TYPES, AUDIT_CATEGORIES, AUDIT_OUTCOMES, AuditEventSchema, METADATA_LIMITS } from './audit-event.js';
import { DEFAULT_ACTOR_TYPE, DEFAULT_OUTCOME } from './event-defaults.js';
import { ATTR } from './otel-mapping.js';
import { DEFAULT_REDACT } from './redact.js';

/**
 * The wire contract for senders in any language: every field of an OTLP LogRecord the
 * collector reads, described from the same constants and schemas the collector uses, so
 * docs/wire-contract.md (scripts/write-wire-contract.ts) cannot drift from the code.
 */
export interface WireField {
  /** Attribute key, or the LogRecord / resource field name. */
  name: string;
  where: 'attribute' | 'LogRecord field' | 'resource attribute';
  /** OTLP value type and bounds. */
  type: string;
  required: string;
  /** What the collector stores when the field is absent. */
  default: string;
  /** The OpenTelemetry semantic-convention name it follows, or `otel-audit` for our own names. */
  convention: string;
  /** The stored event field (what /v1/events answers). */
  stores: string;
  description: string;
}

type Schema = { minLength?: number; maxLength?: number; maxItems?: number; pattern?: string; properties?: Record<string, Schema>; items?: Schema };
const P = (AuditEventSchema as unknown as Schema).properties!;
const prop = (path: string): Schema => {
  let s: Schema = { properties: P };
  for (const part of path.split('.')) s = part === '[]' ? s.items! : s.properties![part]!;
  return s;
};
/** `string, 1–256 chars` from the schema itself. */
const str = (path: string): string => {
  const s = prop(path);
  return `string, ${s.minLength ? `${s.minLength}–` : 'up to '}${s.maxLength} chars`;
};
const list = (values: readonly string[]) => values.map((v) => `\`${v}\``).join(', ');
const SEMCONV = 'semconv';
const OURS = 'otel-audit';

export const WIRE_FIELDS: readonly (WireField & { attr?: keyof typeof ATTR })[] = [
  {
    name: 'eventName',
    where: 'LogRecord field',
    type: `string matching \`${ACTION_PATTERN}\`, up to ${prop('action').maxLength} chars`,
    required: 'required (here or in `event.name`)',
    default: '—',
    convention: 'OTLP LogRecord `EventName` (logs data model)',
    stores: 'action',
    description: '`resource.verb`, the audit action: a catalogue action (instrumentation/CATALOGUE.md) or your own.',
  },
  {
    attr: 'eventName',
    name: ATTR.eventName,
    where: 'attribute',
    type: 'string, as `eventName`',
    required: 'when the SDK cannot set `eventName` (Python logging, older SDKs)',
    default: '—',
    convention: `${SEMCONV} \`event.name\` (the attribute form, before the LogRecord field)`,
    stores: 'action',
    description: 'Read only when `eventName` is empty.',
  },
  {
    attr: 'id',
    name: ATTR.id,
    where: 'attribute',
    type: 'string: an RFC 9562 UUID, any version, any case',
    required: 'optional',
    default: 'a UUIDv8 derived from the whole record (SHA-256): a resent record gets the same id',
    convention: `${SEMCONV} \`log.record.uid\``,
    stores: 'id (lower-cased)',
    description: 'One per event, so a retried export is stored once. The nil and max UUIDs count as absent.',
  },
  {
    name: 'timeUnixNano',
    where: 'LogRecord field',
    type: 'uint64 nanoseconds since the epoch',
    required: 'required (or `observedTimeUnixNano`, which SDKs always set)',
    default: '`observedTimeUnixNano`',
    convention: 'OTLP LogRecord `Timestamp`',
    stores: 'time (ISO 8601, UTC)',
    description:
      'A value that reads as seconds, milliseconds or microseconds (before 1973 in nanoseconds) is refused, the error naming the unit: SDKs set nanoseconds from a clock; a hand-written sender must multiply.',
  },
  {
    name: 'observedTimeUnixNano',
    where: 'LogRecord field',
    type: 'uint64 nanoseconds since the epoch',
    required: 'optional',
    default: '—',
    convention: 'OTLP LogRecord `ObservedTimestamp`',
    stores: 'time, when `timeUnixNano` is 0',
    description: 'Checked for the unit like `timeUnixNano` when it is the one used.',
  },
  {
    name: 'body',
    where: 'LogRecord field',
    type: `string, up to ${prop('message').maxLength} chars`,
    required: 'optional',
    default: "the catalogue's message for a catalogue action, with ` (failed)` when the outcome is failure",
    convention: 'OTLP LogRecord `Body`',
    stores: 'message',
    description: 'Human-readable description, shown in exports.',
  },
  {
    name: 'traceId, spanId',
    where: 'LogRecord field',
    type: '16 / 8 bytes (hex in OTLP/JSON)',
    required: 'optional',
    default: '—',
    convention: 'OTLP LogRecord trace context (W3C Trace Context)',
    stores: 'traceId, spanId (lower-case hex)',
    description: 'Set by the SDK when a span is active. Malformed or all-zero ids are dropped, never a reason to refuse the event.',
  },
  {
    name: 'service.name',
    where: 'resource attribute',
    type: `string, 1–${prop('service.name').maxLength} chars`,
    required: 'required when the collector has sender tokens (must be the token\'s service)',
    default: '—',
    convention: `${SEMCONV} \`service.name\` (OTEL_SERVICE_NAME)`,
    stores: 'service.name',
    description: 'Which application sent the event.',
  },
  {
    attr: 'category',
    name: ATTR.category,
    where: 'attribute',
    type: `string, one of the categories below`,
    required: 'required unless the action is in the catalogue',
    default: "the catalogue's category",
    convention: OURS,
    stores: 'category',
    description: 'What a reviewer asks about (who logged on, who changed access …).',
  },
  {
    attr: 'outcome',
    name: ATTR.outcome,
    where: 'attribute',
    type: `string: ${list(AUDIT_OUTCOMES)}`,
    required: 'optional',
    default: `\`${DEFAULT_OUTCOME}\``,
    convention: OURS,
    stores: 'outcome',
    description: 'A failed log-on is `auth.login` with outcome `failure`; send `unknown` when you do not know.',
  },
  { attr: 'reason', name: ATTR.reason, where: 'attribute', type: str('reason'), required: 'optional', default: '—', convention: OURS, stores: 'reason', description: 'Why it failed, or why it was done.' },
  {
    attr: 'actorId',
    name: ATTR.actorId,
    where: 'attribute',
    type: str('actor.id'),
    required: 'required',
    default: '—',
    convention: `${SEMCONV} \`user.id\``,
    stores: 'actor.id',
    description: 'Who did it: a user, a service account or `system`.',
  },
  { attr: 'actorName', name: ATTR.actorName, where: 'attribute', type: str('actor.name'), required: 'optional', default: '—', convention: `${SEMCONV} \`user.name\``, stores: 'actor.name', description: 'Display name.' },
  {
    attr: 'actorType',
    name: ATTR.actorType,
    where: 'attribute',
    type: `string: ${list(ACTOR_TYPES)}`,
    required: 'optional',
    default: `\`${DEFAULT_ACTOR_TYPE}\``,
    convention: OURS,
    stores: 'actor.type',
    description: 'Say `service` or `system` when no person acted.',
  },
  { attr: 'actorEmail', name: ATTR.actorEmail, where: 'attribute', type: str('actor.email'), required: 'optional', default: '—', convention: `${SEMCONV} \`user.email\``, stores: 'actor.email', description: '' },
  {
    attr: 'actorRoles',
    name: ATTR.actorRoles,
    where: 'attribute',
    type: `string array, up to ${prop('actor.roles').maxItems} items of ${prop('actor.roles.[]').minLength}–${prop('actor.roles.[]').maxLength} chars`,
    required: 'optional',
    default: '—',
    convention: `${SEMCONV} \`user.roles\``,
    stores: 'actor.roles',
    description: 'Roles at the time of the event.',
  },
  { attr: 'clientIp', name: ATTR.clientIp, where: 'attribute', type: str('client.ip'), required: 'optional', default: '—', convention: `${SEMCONV} \`client.address\``, stores: 'client.ip', description: "The end user's address (not a proxy's)." },
  { attr: 'userAgent', name: ATTR.userAgent, where: 'attribute', type: str('client.userAgent'), required: 'optional', default: '—', convention: `${SEMCONV} \`user_agent.original\``, stores: 'client.userAgent', description: '' },
  { attr: 'sessionId', name: ATTR.sessionId, where: 'attribute', type: str('sessionId'), required: 'optional', default: '—', convention: `${SEMCONV} \`session.id\``, stores: 'sessionId', description: '' },
  { attr: 'workspaceId', name: ATTR.workspaceId, where: 'attribute', type: str('workspace.id'), required: 'with `audit.workspace.name`', default: '—', convention: OURS, stores: 'workspace.id', description: 'The team or tenant the event belongs to; scopes who may read it.' },
  { attr: 'workspaceName', name: ATTR.workspaceName, where: 'attribute', type: str('workspace.name'), required: 'optional', default: '—', convention: OURS, stores: 'workspace.name', description: '' },
  { attr: 'resourceType', name: ATTR.resourceType, where: 'attribute', type: str('resource.type'), required: 'with any other `audit.resource.*`', default: '—', convention: OURS, stores: 'resource.type', description: 'What was acted on: `user`, `api_token`, `file` …' },
  { attr: 'resourceId', name: ATTR.resourceId, where: 'attribute', type: str('resource.id'), required: 'optional', default: '—', convention: OURS, stores: 'resource.id', description: '' },
  { attr: 'resourceName', name: ATTR.resourceName, where: 'attribute', type: str('resource.name'), required: 'optional', default: '—', convention: OURS, stores: 'resource.name', description: '' },
  { attr: 'resourceHref', name: ATTR.resourceHref, where: 'attribute', type: str('resource.href'), required: 'optional', default: '—', convention: OURS, stores: 'resource.href', description: 'A link to it.' },
  {
    attr: 'changes',
    name: ATTR.changes,
    where: 'attribute',
    type: `string holding a JSON array (up to ${prop('changes').maxItems}) of \`{"field", "from", "to"}\`; from/to any JSON`,
    required: 'optional',
    default: '—',
    convention: OURS,
    stores: 'changes',
    description: `One JSON string because attribute values cannot hold null or nested objects. Values of fields whose name matches \`${DEFAULT_REDACT.source}\` (case-insensitive) are stored as \`[REDACTED]\`.`,
  },
  { attr: 'requestId', name: ATTR.requestId, where: 'attribute', type: str('request.id'), required: 'optional', default: '—', convention: OURS, stores: 'request.id', description: '' },
  { attr: 'requestParentId', name: ATTR.requestParentId, where: 'attribute', type: str('request.parentId'), required: 'optional', default: '—', convention: OURS, stores: 'request.parentId', description: '' },
  { attr: 'correlationId', name: ATTR.correlationId, where: 'attribute', type: str('correlationId'), required: 'optional', default: '—', convention: OURS, stores: 'correlationId', description: 'Joins the event with your application logs.' },
  {
    attr: 'metadataPrefix',
    name: `${ATTR.metadataPrefix}<key>`,
    where: 'attribute',
    type: `string (up to ${METADATA_LIMITS.maxValueLength} chars), int, double or bool; key up to ${METADATA_LIMITS.maxKeyLength} chars, at most ${METADATA_LIMITS.maxKeys} keys`,
    required: 'optional',
    default: '—',
    convention: OURS,
    stores: 'metadata.<key>',
    description: `Anything else worth keeping. Keys matching \`${DEFAULT_REDACT.source}\` (case-insensitive) are stored as \`[REDACTED]\`.`,
  },
];

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The table of every field, then the allowed categories, outcomes and actor types. */
export function wireContractMarkdownTable(): string {
  const head = ['| field | where | type | required | default | convention | stored as | notes |', '| --- | --- | --- | --- | --- | --- | --- | --- |'];
  const rows = WIRE_FIELDS.map((f) =>
    `| \`${f.name}\` | ${f.where} | ${cell(f.type)} | ${cell(f.required)} | ${cell(f.default)} | ${cell(f.convention)} | ${cell(f.stores)} | ${cell(f.description)} |`,
  );
  return [
    ...head,
    ...rows,
    '',
    `**Categories** (\`audit.category\`): ${list(AUDIT_CATEGORIES)}.`,
    '',
    `**Outcomes** (\`audit.outcome\`): ${list(AUDIT_OUTCOMES)}.`,
    '',
    `**Actor types** (\`audit.actor.type\`): ${list(ACTOR_TYPES)}.`,
  ].join('\n');
}
