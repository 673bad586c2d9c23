import { Api, ApiError, type Me } from './api.js';
import { eventRow } from './events-table.js';
import { ExportPanel } from './export-panel.js';
import { fillFilterForm, stateFromForm } from './filter-form.js';
import { pageElements } from './page-elements.js';
import { dateInputValue, ianaZone, localZoneName, zoneName, type DisplayZone } from './time-zone.js';
import { FILTER_KEYS, VIEW_TITLES, apiParams, readState, writeState, type View, type ViewState } from './view-state.js';
import type { AuditEvent } from '@otel-audit/contract';

const TOKEN_KEY = 'otel-audit.token';
const PAGE_SIZE = 50;

const VIEW_HELP: Record<View, string> = {
  self: 'Everything you did, newest first.',
  workspace: "Everything members did in one of your workspaces, newest first.",
  all: "Every user's events, newest first.",
  user: "One user's events, newest first.",
};

type SignIn = 'token' | 'front-door';

let signIn: SignIn = 'token';
let me: Me | null = null;
let state: ViewState = readState(window.location.search);
/** Cursors of the pages seen so far: index 0 is the first page (no cursor). */
let cursors: (string | null)[] = [null];
let page = 0;
let shown: AuditEvent[] = [];
let count = 0;
let loadNumber = 0;

// The token lives in this tab's sessionStorage, never in the URL: it is not in the history, logs or shared links.
const api = new Api(() => (signIn === 'token' ? sessionStorage.getItem(TOKEN_KEY) : null));
let exportPanel: ExportPanel | null = null;

const el = pageElements();

function showMessage(text: string | null): void {
  el.message.hidden = text === null;
  el.message.textContent = text ?? '';
}

async function boot(): Promise<void> {
  try {
    const config = (await (await fetch('/viewer-config.json', { cache: 'no-store' })).json()) as { signIn?: SignIn };
    signIn = config.signIn === 'front-door' ? 'front-door' : 'token';
  } catch {
    showMessage('The export service cannot be reached. Reload the page to try again.');
    return;
  }
  if (signIn === 'token' && !sessionStorage.getItem(TOKEN_KEY)) return showSignIn();
  await loadMe();
}

function showSignIn(error?: string): void {
  me = null;
  el.viewer.hidden = true;
  el.views.hidden = true;
  el.who.hidden = true;
  el.signInSection.hidden = false;
  el.signInError.hidden = !error;
  el.signInError.textContent = error ?? '';
  document.title = 'Sign in — Audit log';
  el.token.focus();
}

async function loadMe(afterSignIn = false): Promise<void> {
  try {
    me = await api.me();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      if (signIn === 'token') {
        sessionStorage.removeItem(TOKEN_KEY);
        return showSignIn('That token was not accepted: it is invalid or has expired. Paste a new one.');
      }
      return showMessage('You are not signed in, or your sign-in has expired. Reload the page to sign in again.');
    }
    return showMessage(err instanceof Error ? err.message : String(err));
  }
  el.signInSection.hidden = true;
  el.viewer.hidden = false;
  el.views.hidden = false;
  el.who.hidden = false;
  // Behind a front door, signing out is the front door's business.
  el.signOut.hidden = signIn !== 'token';
  el.whoName.textContent = me.name ? `${me.name} (${me.id})` : me.id;
  exportPanel = new ExportPanel(api, el.exportStatus, { rowCap: me.limits.rowCap, backgroundExports: me.backgroundExports });
  el.tzLocal.textContent = `${localZoneName()} (your time zone)`;
  render();
  // After signing in, focus goes to the view's heading rather than being lost with the hidden form.
  if (afterSignIn) el.title.focus();
}

/** The nav shows only what /v1/me says the service will grant; the service checks every request regardless. */
function render(): void {
  if (!me) return;
  showMessage(null);
  if (state.view === 'workspace' && !state.workspace && me.workspaces[0]) {
    // The first workspace is the default; the URL names it, so the link shared is the view seen.
    state.workspace = me.workspaces[0];
    history.replaceState(null, '', writeState(state));
  }
  const allowed = new Set(me.scopes);
  for (const a of el.views.querySelectorAll<HTMLAnchorElement>('a[data-view]')) {
    const view = a.dataset.view as View;
    a.parentElement!.hidden = !allowed.has(view);
    a.href = writeState({ ...state, view });
    if (view === state.view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const title = VIEW_TITLES[state.view];
  el.title.textContent = title;
  document.title = `${title} — Audit log`;
  el.help.textContent = VIEW_HELP[state.view];

  fillFilterForm(el, state, me);

  cursors = [null];
  page = 0;
  void loadPage();
}

function navigate(next: ViewState): void {
  state = next;
  const search = writeState(state);
  if (search !== window.location.search) history.pushState(null, '', search);
  render();
}

async function loadPage(): Promise<void> {
  const n = ++loadNumber;
  const zone: DisplayZone = state.tz;
  if (state.view === 'user' && !state.user) {
    shown = [];
    el.rows.replaceChildren();
    el.summary.textContent = 'Enter a user ID and apply the filters to see that user’s events.';
    updatePager(false);
    return;
  }
  el.table.setAttribute('aria-busy', 'true');
  el.summary.textContent = 'Loading…';
  const params = apiParams(state);
  try {
    const [result, total] = await Promise.all([
      api.events(params, cursors[page] ?? null, PAGE_SIZE),
      page === 0 ? api.count(params) : Promise.resolve(count),
    ]);
    if (n !== loadNumber) return;
    count = total;
    shown = result.events;
    cursors[page + 1] = result.nextCursor;
    renderRows(zone);
    const first = page * PAGE_SIZE + 1;
    el.summary.textContent =
      count === 0
        ? `No events match. ${rangeText()}`
        : `Showing ${first.toLocaleString()}–${(first + shown.length - 1).toLocaleString()} of ${count.toLocaleString()} events. ${rangeText()}`;
    updatePager(result.nextCursor !== null);
  } catch (err) {
    if (n !== loadNumber) return;
    shown = [];
    el.rows.replaceChildren();
    updatePager(false);
    if (err instanceof ApiError && err.status === 401) return void loadMe();
    el.summary.textContent = '';
    if (err instanceof ApiError && err.status === 403) {
      showMessage(`You may not see “${VIEW_TITLES[state.view]}${state.view === 'workspace' ? `: ${state.workspace}` : ''}”: the service refused it (${err.message}).`);
    } else {
      showMessage(err instanceof Error ? err.message : String(err));
    }
  } finally {
    if (n === loadNumber) el.table.setAttribute('aria-busy', 'false');
  }
}

function rangeText(): string {
  const days = me?.limits.defaultWindowDays ?? 30;
  if (!state.filters.from && !state.filters.to) return `Period: the last ${days} days.`;
  const from = state.filters.from ? dateInputValue(state.filters.from, state.tz) : `${days} days before the end`;
  const to = state.filters.to ? dateInputValue(state.filters.to, state.tz, true) : 'today';
  return `Period: ${from} to ${to} (${zoneName(state.tz)}).`;
}

function renderRows(zone: DisplayZone): void {
  el.caption.textContent = `${VIEW_TITLES[state.view]}${state.view === 'workspace' ? `: ${state.workspace}` : ''}${state.view === 'user' ? `: ${state.user}` : ''}`;
  el.rows.replaceChildren(...shown.map((e) => eventRow(e, zone, (traceId) => writeState(withTrace(traceId)))));
  el.exportCsv.disabled = el.exportXlsx.disabled = count === 0;
}

/** This view narrowed to one trace; the other filters stay, so a scope or period still holds. */
function withTrace(traceId: string): ViewState {
  return { ...state, filters: { ...state.filters, traceId } };
}

function updatePager(hasNext: boolean): void {
  el.prev.disabled = page === 0;
  el.next.disabled = !hasNext;
  el.pageNumber.textContent = `Page ${page + 1}`;
}

el.signInForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const token = el.token.value.trim().replace(/^Bearer\s+/i, '');
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  el.token.value = '';
  void loadMe(true);
});

el.signOut.addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  el.exportStatus.replaceChildren();
  showSignIn();
});

el.views.addEventListener('click', (e) => {
  const a = (e.target as HTMLElement).closest<HTMLAnchorElement>('a[data-view]');
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey) return;
  e.preventDefault();
  navigate({ ...state, view: a.dataset.view as View });
  el.title.focus();
});

el.rows.addEventListener('click', (e) => {
  const a = (e.target as HTMLElement).closest<HTMLAnchorElement>('a[data-trace-id]');
  // A modified click opens the link (a new tab) as the browser would.
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey) return;
  e.preventDefault();
  navigate(withTrace(a.dataset.traceId!));
});

el.filters.addEventListener('submit', (e) => {
  e.preventDefault();
  navigate(stateFromForm(el, state));
});

el.reset.addEventListener('click', () => {
  navigate({ ...state, filters: Object.fromEntries(FILTER_KEYS.map((k) => [k, ''])) as ViewState['filters'] });
});

el.tz.addEventListener('change', () => {
  // The dates in the form keep meaning the same instants; only how they read changes.
  navigate({ ...stateFromForm(el, state), filters: state.filters, tz: el.tz.value === 'utc' ? 'utc' : 'local' });
});

el.prev.addEventListener('click', () => {
  if (page === 0) return;
  page -= 1;
  void loadPage();
});
el.next.addEventListener('click', () => {
  if (!cursors[page + 1]) return;
  page += 1;
  void loadPage();
});

for (const [button, format] of [
  [el.exportCsv, 'csv'],
  [el.exportXlsx, 'xlsx'],
] as const) {
  button.addEventListener('click', () => {
    if (!exportPanel) return;
    void exportPanel.start({ format, params: { ...apiParams(state), tz: ianaZone(state.tz) }, count, zone: state.tz });
  });
}

window.addEventListener('popstate', () => {
  state = readState(window.location.search);
  render();
});

el.title.tabIndex = -1;
void boot();
