export {
  AUDIT_CATEGORIES,
  AUDIT_OUTCOMES,
  ACTOR_TYPES,
  ACTION_PATTERN,
  TRACE_ID_PATTERN,
  SPAN_ID_PATTERN,
  UUID_PATTERN,
  METADATA_LIMITS,
  AuditEventSchema,
  ActorSchema,
  ClientSchema,
  WorkspaceSchema,
  ResourceSchema,
  ChangeSchema,
  RequestRefSchema,
  MetadataSchema,
} from './audit-event.js';
export type {
  AuditEvent,
  AuditEventInput,
  AuditCategory,
  AuditOutcome,
  ActorType,
  Actor,
  AuditResource,
  AuditChange,
} from './audit-event.js';
export { validateAuditEvent } from './validate.js';
export type { ValidationResult } from './validate.js';
export { ATTR, SEVERITY, LogRecordFields, toLogRecord, fromLogRecord } from './otel-mapping.js';
export type { AttributeValue, Attributes, AuditLogRecord, ReceivedLogRecord } from './otel-mapping.js';
export { ecsCategorization } from './ecs.js';
export { EXPORT_COLUMNS, exportFields } from './export-columns.js';
export type { ExportColumnKey, ExportedField } from './export-columns.js';
export { CELL_MAX_CHARS, changesText, metadataText } from './export-text.js';
export { AUDIT_ACTIONS, actionDefinition, catalogueMarkdownTable } from './action-catalogue.js';
export type { ActionDefinition, KnownAuditAction } from './action-catalogue.js';
export { AUDIT_LOG_SERVICE_NAME, RESERVED_ACTION_PREFIXES, isReservedAction } from './reserved-actions.js';
export { XML_FORBIDDEN, xmlSafeText, xmlSafeDeep } from './xml-safe-text.js';
export { DEFAULT_ACTOR_TYPE, DEFAULT_OUTCOME, withEventDefaults } from './event-defaults.js';
export { derivedEventId, eventIdOf } from './event-id.js';
export { DEFAULT_REDACT, REDACTED, redact } from './redact.js';
export { EARLIEST_EVENT_TIME, TIME_UNIT_BANDS, timeUnitProblem } from './time-unit-problem.js';
export { CodedError, ConfigError, CONFIG_ERRORS, optionError } from './coded-error.js';
export type { ErrorCatalogueEntry } from './coded-error.js';
export { positiveIntegerOptions } from './positive-integer-options.js';
