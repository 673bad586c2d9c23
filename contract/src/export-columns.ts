import type { AuditEvent } from './audit-event.js';
import { changesText, metadataText } from './export-text.js';

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
 * Changes and Metadata come last (Q, R): what changed, one `field: from → to` per line,
 * and the event's metadata, one `key: value` per line (export-text.ts); these two are the
 * `multiline` columns, which a spreadsheet shows wrapped.
 * New columns are appended, never inserted.
 *
 * `reads` names the event's fields a column's value comes from, so that a store can read
 * only those (`exportFields`). `width` is the spreadsheet column width in characters (XLSX export), sized for typical
 * values: the date column fits `yyyy-mm-dd hh:mm:ss.000`, the event id a UUID.
 */
export const EXPORT_COLUMNS = [
  { key: 'date', header: 'Date', value: (e: AuditEvent) => e.time, width: 24, reads: ['time'] },
  { key: 'user', header: 'User', value: (e: AuditEvent) => e.actor.name ?? e.actor.id, width: 22, reads: ['actor'] },
  { key: 'userId', header: 'User ID', value: (e: AuditEvent) => e.actor.id, width: 24, reads: ['actor'] },
  { key: 'workspace', header: 'Workspace', value: (e: AuditEvent) => e.workspace?.name ?? e.workspace?.id ?? '', width: 22, reads: ['workspace'] },
  { key: 'action', header: 'Action', value: (e: AuditEvent) => e.action, width: 26, reads: ['action'] },
  { key: 'category', header: 'Category', value: (e: AuditEvent) => e.category, width: 16, reads: ['category'] },
  { key: 'resource', header: 'Resource', value: (e: AuditEvent) => e.resource?.type ?? '', width: 16, reads: ['resource'] },
  {
    key: 'target',
    header: 'Target',
    value: (e: AuditEvent) => e.resource?.name ?? e.resource?.id ?? '',
    width: 30,
    reads: ['resource'],
  },
  { key: 'outcome', header: 'Outcome', value: (e: AuditEvent) => e.outcome, width: 10, reads: ['outcome'] },
  { key: 'ip', header: 'IP address', value: (e: AuditEvent) => e.client?.ip ?? '', width: 18, reads: ['client'] },
  { key: 'userAgent', header: 'User agent', value: (e: AuditEvent) => e.client?.userAgent ?? '', width: 40, reads: ['client'] },
  {
    key: 'details',
    header: 'Details',
    value: (e: AuditEvent) => [e.message, e.reason].filter(Boolean).join(' — '),
    width: 60,
    reads: ['message', 'reason'],
  },
  { key: 'eventId', header: 'Event ID', value: (e: AuditEvent) => e.id, width: 38, reads: ['id'] },
  { key: 'service', header: 'Service', value: (e: AuditEvent) => e.service?.name ?? '', width: 24, reads: ['service'] },
  { key: 'traceId', header: 'Trace ID', value: (e: AuditEvent) => e.traceId ?? '', width: 34, reads: ['traceId'] },
  { key: 'spanId', header: 'Span ID', value: (e: AuditEvent) => e.spanId ?? '', width: 18, reads: ['spanId'] },
  { key: 'changes', header: 'Changes', value: (e: AuditEvent) => changesText(e.changes), width: 48, reads: ['changes'], multiline: true },
  { key: 'metadata', header: 'Metadata', value: (e: AuditEvent) => metadataText(e.metadata), width: 40, reads: ['metadata'], multiline: true },
] as const;

export type ExportColumnKey = (typeof EXPORT_COLUMNS)[number]['key'];

/** Named by `reads` in a column, or by the reader of a query page (the cursor). */
export type ExportedField = keyof AuditEvent;

/**
 * The event fields an export of these columns reads, plus `id` and `time`, which every
 * page of a query needs for its cursor. A store may leave every other field out.
 */
export function exportFields(keys: readonly ExportColumnKey[]): ExportedField[] {
  const wanted = new Set<ExportedField>(['id', 'time']);
  for (const column of EXPORT_COLUMNS) {
    if (keys.includes(column.key)) for (const field of column.reads) wanted.add(field);
  }
  return [...wanted];
}
