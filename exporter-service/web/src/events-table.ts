import type { AuditEvent } from '@otel-audit/contract';
// The same text as the export's Changes and Metadata columns, from the same function.
import { changesText, metadataText } from '@otel-audit/contract/export-text';
import { h } from './dom.js';
import { formatInstant, type DisplayZone } from './time-zone.js';

/**
 * A resource's `href` comes from the application that recorded the event: a link only when
 * it is http(s) or a path on this site, never `javascript:` or `data:`.
 */
export function safeHref(href: string | undefined): string | undefined {
  if (!href) return undefined;
  try {
    const url = new URL(href, window.location.origin);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

const OUTCOME_LABELS: Record<string, string> = { success: 'Success', failure: 'Failure', unknown: 'Unknown' };

/**
 * `traceHref` gives the URL of this view narrowed to one trace: the trace cell links
 * there, so the other events recorded in the same request or job are one click away.
 */
export function eventRow(e: AuditEvent, zone: DisplayZone, traceHref: (traceId: string) => string): HTMLTableRowElement {
  const target = e.resource?.name ?? e.resource?.id ?? '';
  const href = safeHref(e.resource?.href);
  const user = e.actor.name ? h('span', { title: e.actor.id }, e.actor.name) : e.actor.id;
  return h(
    'tr',
    {},
    h('td', { class: 'nowrap' }, h('time', { datetime: e.time }, formatInstant(e.time, zone))),
    h('td', {}, user),
    h('td', {}, e.workspace?.name ?? e.workspace?.id ?? ''),
    h('td', {}, h('code', {}, e.action), e.message ? h('div', { class: 'detail' }, e.message) : null, changeDetails(e)),
    h('td', {}, e.resource?.type ?? ''),
    h('td', {}, href && target ? h('a', { href, rel: 'noopener noreferrer', target: '_blank' }, target) : target),
    h('td', {}, h('span', { class: `outcome outcome-${e.outcome}` }, OUTCOME_LABELS[e.outcome] ?? e.outcome)),
    h('td', { class: 'nowrap' }, e.client?.ip ?? ''),
    h('td', {}, e.service?.name ?? ''),
    h('td', { class: 'nowrap' }, e.traceId ? traceLink(e.traceId, e.spanId, traceHref(e.traceId)) : ''),
  );
}

/** The first 8 digits are enough to tell traces apart on a page; the full ids are in the title and the filter. */
function traceLink(traceId: string, spanId: string | undefined, href: string): HTMLAnchorElement {
  const title = `Show the events of trace ${traceId}${spanId ? ` (this one: span ${spanId})` : ''}`;
  return h('a', { href, title, 'aria-label': title, 'data-trace-id': traceId }, h('code', {}, `${traceId.slice(0, 8)}…`));
}

/**
 * What changed and the event's metadata, folded under the action: one `field: old → new`
 * and one `key: value` per line, as in the export's Changes and Metadata columns.
 */
function changeDetails(e: AuditEvent): HTMLElement | null {
  const changes = changesText(e.changes);
  const metadata = metadataText(e.metadata);
  if (!changes && !metadata) return null;
  const count = (e.changes?.length ?? 0) + Object.keys(e.metadata ?? {}).length;
  return h(
    'details',
    { class: 'event-details' },
    h('summary', {}, `Changes and metadata (${count})`),
    changes ? h('div', { class: 'lines', 'data-column': 'changes', 'aria-label': 'Changes' }, changes) : null,
    metadata ? h('div', { class: 'lines', 'data-column': 'metadata', 'aria-label': 'Metadata' }, metadata) : null,
  );
}
