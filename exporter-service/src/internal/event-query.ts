import { isIP } from 'node:net';
import { AUDIT_CATEGORIES, AUDIT_OUTCOMES } from '@otel-audit/contract';
import type { EventFilter, EventQuery } from '@otel-audit/store';
import type { Caller } from '../auth.js';
import { ExportError } from '../errors.js';
import { definedOnly } from './defined-only.js';

/** The ProcessMaker rule for one user's or every user's security log: both permissions, or super admin. */
export const ALL_USERS_PERMISSIONS = ['users:view', 'security-logs:view'] as const;

export function mayViewAllUsers(caller: Caller): boolean {
  return caller.superAdmin || ALL_USERS_PERMISSIONS.every((p) => caller.permissions.includes(p));
}

export type Scope = { kind: 'self' } | { kind: 'workspace'; workspace: string } | { kind: 'user'; user: string } | { kind: 'all' };

/** Query parameters shared by the JSON, CSV, XLSX and background routes (all strings, as HTTP gives them). */
export interface EventQueryParams {
  scope?: string;
  workspace?: string;
  user?: string;
  from?: string;
  to?: string;
  action?: string;
  category?: string;
  outcome?: string;
  resourceType?: string;
  resourceId?: string;
  actor?: string;
  ip?: string;
  traceId?: string;
  q?: string;
  sort?: string;
}

/** JSON schema of those parameters, for validation and the OpenAPI document. */
export const EVENT_QUERY_SCHEMA = {
  type: 'object',
  properties: {
    scope: { type: 'string', enum: ['self', 'workspace', 'user', 'all'], default: 'self', description: 'Whose events: your own, a team workspace, one user, or all users' },
    workspace: { type: 'string', maxLength: 256, description: 'With scope=workspace: a workspace you belong to' },
    user: { type: 'string', maxLength: 256, description: 'With scope=user: the user id (needs users:view and security-logs:view)' },
    from: { type: 'string', maxLength: 40, description: 'ISO 8601, inclusive; default: `to` minus the default window' },
    to: { type: 'string', maxLength: 40, description: 'ISO 8601, exclusive; default: now' },
    action: { type: 'string', maxLength: 2000, description: 'Comma-separated actions; `api_token.*` matches a prefix' },
    category: { type: 'string', maxLength: 500, description: 'Comma-separated categories' },
    outcome: { type: 'string', maxLength: 100, description: 'Comma-separated: success, failure, unknown' },
    resourceType: { type: 'string', maxLength: 128 },
    resourceId: { type: 'string', maxLength: 256 },
    actor: { type: 'string', maxLength: 256, description: 'Narrow to one actor id (within the scope)' },
    ip: { type: 'string', maxLength: 64, description: 'Client address or CIDR range' },
    traceId: { type: 'string', maxLength: 64, description: 'Events recorded inside this OpenTelemetry trace: 32 hexadecimal digits (W3C trace id)' },
    q: { type: 'string', maxLength: 500, description: 'Words that must all appear in the message, actor name or resource name' },
    sort: { type: 'string', enum: ['asc', 'desc'] },
  },
} as const;

export interface QueryLimits {
  defaultWindowMs: number;
  maxRangeMs: number;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;
const invalid = (message: string) => new ExportError('AUDIT_ERR_INVALID_QUERY', message);

function instant(name: string, raw: string | undefined, fallback: Date): Date {
  if (raw === undefined || raw === '') return fallback;
  const t = ISO_8601.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(t)) throw invalid(`${name} must be an ISO 8601 date or time, got ${JSON.stringify(raw)}`);
  return new Date(t);
}

function list(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  return [...new Set(raw.split(',').map((v) => v.trim()).filter(Boolean))].slice(0, 50);
}

function oneOf(name: string, values: string[] | undefined, allowed: readonly string[]): string[] | undefined {
  const bad = values?.find((v) => !allowed.includes(v));
  if (bad !== undefined) throw invalid(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(bad)}`);
  return values;
}

/** Any case, as tools display it; stored ids are lower case. */
function validTraceId(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const id = raw.trim().toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(id)) throw invalid(`traceId must be 32 hexadecimal digits, got ${JSON.stringify(raw)}`);
  return id;
}

function validIp(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  const [addr, bits, extra] = raw.split('/');
  const family = isIP(addr ?? '');
  const maxBits = family === 6 ? 128 : 32;
  const ok = family !== 0 && extra === undefined && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits));
  if (!ok) throw invalid(`ip must be an IP address or a CIDR range, got ${JSON.stringify(raw)}`);
  return raw;
}

/** Which scope the caller asks for; who may have it is `authorizeScope`'s business. */
export function requestedScope(p: EventQueryParams): Scope {
  switch (p.scope ?? 'self') {
    case 'self':
      return { kind: 'self' };
    case 'workspace':
      if (!p.workspace) throw invalid('scope=workspace needs workspace=<id>');
      return { kind: 'workspace', workspace: p.workspace };
    case 'user':
      if (!p.user) throw invalid('scope=user needs user=<id>');
      return { kind: 'user', user: p.user };
    case 'all':
      return { kind: 'all' };
    default:
      throw invalid(`scope must be self, workspace, user or all, got ${JSON.stringify(p.scope)}`);
  }
}

/**
 * The scope as store conditions, decided from the verified token alone, never from a
 * client's parameters (docs/security-model.md). Refusals say nothing about whether the data exists.
 */
export function authorizeScope(caller: Caller, scope: Scope): EventFilter {
  const forbidden = () => new ExportError('AUDIT_ERR_SCOPE_FORBIDDEN');
  switch (scope.kind) {
    case 'self':
      return { actorIds: [caller.id] };
    case 'workspace':
      if (!caller.superAdmin && !caller.workspaces.includes(scope.workspace)) throw forbidden();
      return { workspaceIds: [scope.workspace] };
    case 'user':
      if (!mayViewAllUsers(caller)) throw forbidden();
      return { actorIds: [scope.user] };
    case 'all':
      if (!mayViewAllUsers(caller)) throw forbidden();
      return {};
  }
}

/** Both lists must hold: the intersection, so a client filter can narrow a scope but never widen it. */
function intersect(scope: readonly string[] | undefined, wanted: readonly string[] | undefined): readonly string[] | undefined {
  if (!scope) return wanted;
  if (!wanted) return scope;
  return scope.filter((v) => wanted.includes(v));
}

export interface ParsedEventQuery {
  scope: Scope;
  query: Omit<EventQuery, 'after' | 'limit'>;
  /** The client's own filters, for the audit record of this look at the log. */
  filters: Record<string, string>;
}

export function parseEventQuery(caller: Caller, p: EventQueryParams, limits: QueryLimits, defaultOrder: 'asc' | 'desc'): ParsedEventQuery {
  const scope = requestedScope(p);
  const scopeFilter = authorizeScope(caller, scope);
  const to = instant('to', p.to, new Date());
  const from = instant('from', p.from, new Date(to.getTime() - limits.defaultWindowMs));
  if (from >= to) throw invalid('`from` must be before `to`');
  if (to.getTime() - from.getTime() > limits.maxRangeMs) {
    throw invalid(`the range may span at most ${Math.round(limits.maxRangeMs / 86_400_000)} days`);
  }
  const actions = list(p.action);
  const filter: EventFilter = {
    ...scopeFilter,
    actorIds: intersect(scopeFilter.actorIds, p.actor ? [p.actor] : undefined),
    categories: oneOf('category', list(p.category), AUDIT_CATEGORIES),
    outcomes: oneOf('outcome', list(p.outcome), AUDIT_OUTCOMES),
    ...(actions
      ? {
          actions: actions.filter((a) => !a.endsWith('*')),
          actionPrefixes: actions.filter((a) => a.endsWith('*')).map((a) => a.slice(0, -1)),
        }
      : {}),
    ...(p.resourceType ? { resourceType: p.resourceType } : {}),
    ...(p.resourceId ? { resourceId: p.resourceId } : {}),
    ...(validIp(p.ip) ? { ip: p.ip } : {}),
    traceId: validTraceId(p.traceId),
    ...(p.q?.trim() ? { text: p.q.trim() } : {}),
  };
  const filters = Object.fromEntries(
    Object.entries(p).filter(([k, v]) => v !== undefined && v !== '' && !['scope', 'workspace', 'user'].includes(k)),
  ) as Record<string, string>;
  return { scope, query: { from, to, order: p.sort === 'asc' || p.sort === 'desc' ? p.sort : defaultOrder, filter: definedOnly(filter) }, filters };
}

/** For file names: the scope and range, in characters every file system accepts. */
export function scopeLabel(scope: Scope): string {
  const safe = (v: string) => v.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 40);
  switch (scope.kind) {
    case 'self':
      return 'my-activity';
    case 'workspace':
      return `workspace-${safe(scope.workspace)}`;
    case 'user':
      return `user-${safe(scope.user)}`;
    case 'all':
      return 'all-users';
  }
}
