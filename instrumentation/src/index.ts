export { createAuditLogger, AUDIT_LOGGER_DEFAULTS } from './create-audit-logger.js';
export type { AuditLogger, AuditLoggerOptions, OtlpProtocol, SpoolOptions } from './create-audit-logger.js';
export type { DeliveryFailureState, DeliveryStats } from './internal/delivery-processor.js';
export type { UndeliveredReport } from './internal/undelivered-report.js';
export type { FsyncPolicy } from '@otel-audit/spool';
export { AuditError, AUDIT_ERRORS, ERROR_CODES } from './errors.js';
export type { AuditErrorCode } from './errors.js';
export {
  auditContextMiddleware,
  auditContextPlugin,
  contextFromRequest,
  currentAuditContext,
  runWithAuditContext,
} from './request-context.js';
export type { AuditContextOptions, AuditRequestContext } from './request-context.js';
export { DEFAULT_REDACT, REDACTED } from '@otel-audit/contract';
export { AUDIT_ACTIONS, AUDIT_CATEGORIES, AUDIT_OUTCOMES, ACTOR_TYPES, actionDefinition } from '@otel-audit/contract';
export type {
  ActionDefinition,
  AuditEvent,
  AuditEventInput,
  AuditCategory,
  AuditOutcome,
  ActorType,
  Actor,
  AuditResource,
  AuditChange,
  KnownAuditAction,
} from '@otel-audit/contract';
