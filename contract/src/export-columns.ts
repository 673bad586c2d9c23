import type { AuditEvent } from './audit-event.js';

/**
 * Export columns, in their default order: the five data points of the CyberPass audit
 * log page (Date, User, Action, Resource, Target) plus what a security team needs to
 * follow up (workspace, outcome, IP, user agent, event id).
 */
export const EXPORT_COLUMNS = [
  { key: 'date', header: 'Date', value: (e: AuditEvent) => e.time },
  { key: 'user', header: 'User', value: (e: AuditEvent) => e.actor.name ?? e.actor.id },
  { key: 'userId', header: 'User ID', value: (e: AuditEvent) => e.actor.id },
  { key: 'workspace', header: 'Workspace', value: (e: AuditEvent) => e.workspace?.name ?? e.workspace?.id ?? '' },
  { key: 'action', header: 'Action', value: (e: AuditEvent) => e.action },
  { key: 'category', header: 'Category', value: (e: AuditEvent) => e.category },
  { key: 'resource', header: 'Resource', value: (e: AuditEvent) => e.resource?.type ?? '' },
  {
    key: 'target',
    header: 'Target',
    value: (e: AuditEvent) => e.resource?.name ?? e.resource?.id ?? '',
  },
  { key: 'outcome', header: 'Outcome', value: (e: AuditEvent) => e.outcome },
  { key: 'ip', header: 'IP address', value: (e: AuditEvent) => e.client?.ip ?? '' },
  { key: 'userAgent', header: 'User agent', value: (e: AuditEvent) => e.client?.userAgent ?? '' },
  {
    key: 'details',
    header: 'Details',
    value: (e: AuditEvent) => [e.message, e.reason].filter(Boolean).join(' — '),
  },
  { key: 'eventId', header: 'Event ID', value: (e: AuditEvent) => e.id },
] as const;

export type ExportColumnKey = (typeof EXPORT_COLUMNS)[number]['key'];

export function exportRow(event: AuditEvent): string[] {
  return EXPORT_COLUMNS.map((c) => c.value(event));
}
