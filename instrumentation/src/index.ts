export { createAuditLogger } from './create-audit-logger.js';
export type { AuditLogger, AuditLoggerOptions } from './create-audit-logger.js';
export { AuditError, ERROR_CODES } from './errors.js';
export type { AuditErrorCode } from './errors.js';
export { AUDIT_CATEGORIES, AUDIT_OUTCOMES, ACTOR_TYPES } from '@otel-audit/contract';
export type {
  AuditEvent,
  AuditEventInput,
  AuditCategory,
  AuditOutcome,
  ActorType,
  Actor,
  AuditResource,
  AuditChange,
} from '@otel-audit/contract';
