import type { AuditEvent } from './audit-event.js';

/**
 * Export columns, in their default order: the five data points of the CyberPass audit
 * log page (Date, User, Action, Resource, Target) plus what a security team needs to
 * follow up (workspace, outcome, IP, user agent, event id) and the sender: the
 * `service.name` of the application that sent the event, which the collector takes from
 * the sender's OpenTelemetry resource and, with sender tokens on, checks against the
 * token. Service comes after the first thirteen so that those keep the letters they had
 * (A–M) in spreadsheets, macros and pivot tables built on earlier exports; for the same
 * reason the trace context comes after Service (N): the OpenTelemetry trace and span
 * active when the event was recorded, to follow an event into the application's traces.
 * New columns are appended, never inserted.
 *
 * `width` is the spreadsheet column width in characters (XLSX export), sized for typical
 * values: the date column fits `yyyy-mm-dd hh:mm:ss.000`, the event id a UUID.
 */
export const EXPORT_COLUMNS = [
  { key: 'date', header: 'Date', value: (e: AuditEvent) => e.time, width: 24 },
  { key: 'user', header: 'User', value: (e: AuditEvent) => e.actor.name ?? e.actor.id, width: 22 },
  { key: 'userId', header: 'User ID', value: (e: AuditEvent) => e.actor.id, width: 24 },
  { key: 'workspace', header: 'Workspace', value: (e: AuditEvent) => e.workspace?.name ?? e.workspace?.id ?? '', width: 22 },
  { key: 'action', header: 'Action', value: (e: AuditEvent) => e.action, width: 26 },
  { key: 'category', header: 'Category', value: (e: AuditEvent) => e.category, width: 16 },
  { key: 'resource', header: 'Resource', value: (e: AuditEvent) => e.resource?.type ?? '', width: 16 },
  {
    key: 'target',
    header: 'Target',
    value: (e: AuditEvent) => e.resource?.name ?? e.resource?.id ?? '',
    width: 30,
  },
  { key: 'outcome', header: 'Outcome', value: (e: AuditEvent) => e.outcome, width: 10 },
  { key: 'ip', header: 'IP address', value: (e: AuditEvent) => e.client?.ip ?? '', width: 18 },
  { key: 'userAgent', header: 'User agent', value: (e: AuditEvent) => e.client?.userAgent ?? '', width: 40 },
  {
    key: 'details',
    header: 'Details',
    value: (e: AuditEvent) => [e.message, e.reason].filter(Boolean).join(' — '),
    width: 60,
  },
  { key: 'eventId', header: 'Event ID', value: (e: AuditEvent) => e.id, width: 38 },
  { key: 'service', header: 'Service', value: (e: AuditEvent) => e.service?.name ?? '', width: 24 },
  { key: 'traceId', header: 'Trace ID', value: (e: AuditEvent) => e.traceId ?? '', width: 34 },
  { key: 'spanId', header: 'Span ID', value: (e: AuditEvent) => e.spanId ?? '', width: 18 },
] as const;

export type ExportColumnKey = (typeof EXPORT_COLUMNS)[number]['key'];
