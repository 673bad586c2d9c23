/** Everything that defines a view of the log, and its round trip through the page's URL (so a view can be shared). */
export const VIEWS = ['self', 'workspace', 'all', 'user'] as const;
export type View = (typeof VIEWS)[number];

export const VIEW_TITLES: Record<View, string> = {
  self: 'My activity',
  workspace: 'Workspace',
  all: 'All users',
  user: 'User',
};

/** Filters the API applies; in the URL under the API's own names. */
export const FILTER_KEYS = ['from', 'to', 'actor', 'action', 'resourceType', 'outcome', 'traceId', 'q'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];

export interface ViewState {
  view: View;
  /** With view=workspace. */
  workspace: string;
  /** With view=user. */
  user: string;
  /** ISO instants (from inclusive, to exclusive) and the other filters; '' when not set. */
  filters: Record<FilterKey, string>;
  /** Display only: the viewer's own zone or UTC. */
  tz: 'local' | 'utc';
}

export function readState(search: string): ViewState {
  const p = new URLSearchParams(search);
  const view = (VIEWS as readonly string[]).includes(p.get('view') ?? '') ? (p.get('view') as View) : 'self';
  const filters = Object.fromEntries(FILTER_KEYS.map((k) => [k, p.get(k)?.trim() ?? ''])) as Record<FilterKey, string>;
  return { view, workspace: p.get('workspace') ?? '', user: p.get('user') ?? '', filters, tz: p.get('tz') === 'utc' ? 'utc' : 'local' };
}

/** The page's query string: only what is set, in a stable order. */
export function writeState(s: ViewState): string {
  const p = new URLSearchParams({ view: s.view });
  if (s.view === 'workspace' && s.workspace) p.set('workspace', s.workspace);
  if (s.view === 'user' && s.user) p.set('user', s.user);
  for (const k of FILTER_KEYS) if (s.filters[k]) p.set(k, s.filters[k]);
  if (s.tz === 'utc') p.set('tz', 'utc');
  return `?${p.toString()}`;
}

/** The API's query parameters for this view (scope, its subject, the filters). */
export function apiParams(s: ViewState): Record<string, string> {
  const params: Record<string, string> = { scope: s.view };
  if (s.view === 'workspace') params.workspace = s.workspace;
  if (s.view === 'user') params.user = s.user;
  // "My activity" and "User" are one user already: a user filter there would only ever match or empty it.
  const oneUser = s.view === 'self' || s.view === 'user';
  for (const k of FILTER_KEYS) if (s.filters[k] && !(k === 'actor' && oneUser)) params[k] = s.filters[k];
  return params;
}
