import type { AuditEvent } from '@otel-audit/contract';

/**
 * Where each event field lives in the Elasticsearch document (ecs-document.ts), for
 * `_source` includes: a query that names the fields it needs reads only those paths, and
 * `fromDocument` of the smaller document yields the event with just those fields
 * (checked for every field set by a property test, store/test/document-fields.test.ts).
 */
const PATHS: Record<keyof AuditEvent, readonly string[]> = {
  id: ['event.id'],
  time: ['@timestamp'],
  action: ['event.action'],
  category: ['audit.category'],
  outcome: ['event.outcome'],
  reason: ['event.reason'],
  actor: ['user.id', 'user.name', 'user.email', 'user.roles', 'audit.actor.type'],
  client: ['source.ip', 'user_agent.original'],
  sessionId: ['audit.session.id'],
  workspace: ['organization.id', 'organization.name'],
  resource: ['audit.resource'],
  changes: ['audit.changes'],
  request: ['audit.request'],
  correlationId: ['audit.correlation_id'],
  message: ['message'],
  metadata: ['audit.metadata'],
  service: ['service.name'],
  traceId: ['trace.id'],
  spanId: ['span.id'],
};

/** The `_source` paths of these fields; undefined (the whole document) when no list is given. */
export function documentPaths(fields: readonly (keyof AuditEvent)[] | undefined): string[] | undefined {
  if (!fields) return undefined;
  return [...new Set(fields.flatMap((f) => PATHS[f]))];
}
