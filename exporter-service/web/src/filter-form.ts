import type { Me } from './api.js';
import { h } from './dom.js';
import type { PageElements } from './page-elements.js';
import { dateInputValue, instantFromDateInput, zoneName } from './time-zone.js';
import type { ViewState } from './view-state.js';

/** The filter form (and the date column's heading) showing `state`; which fields apply depends on the view. */
export function fillFilterForm(el: PageElements, state: ViewState, me: Me): void {
  el.workspaceField.hidden = state.view !== 'workspace';
  const pick = me.workspaces.length > 0;
  el.workspaceSelect.hidden = !pick;
  el.workspaceSelect.disabled = !pick;
  el.workspaceInput.hidden = pick;
  el.workspaceInput.disabled = pick;
  el.workspaceField.querySelector('label')!.htmlFor = pick ? 'f-workspace' : 'f-workspace-id';
  el.workspaceSelect.replaceChildren(...me.workspaces.map((w) => h('option', { value: w, selected: w === state.workspace }, w)));
  el.workspaceInput.value = state.workspace;
  el.userField.hidden = state.view !== 'user';
  el.user.value = state.user;
  el.actorField.hidden = state.view === 'self' || state.view === 'user';

  el.from.value = dateInputValue(state.filters.from, state.tz);
  el.to.value = dateInputValue(state.filters.to, state.tz, true);
  el.actor.value = state.filters.actor;
  el.action.value = state.filters.action;
  el.resource.value = state.filters.resourceType;
  el.outcome.value = state.filters.outcome;
  el.traceId.value = state.filters.traceId;
  el.q.value = state.filters.q;
  el.tz.value = state.tz;
  el.dateHeader.textContent = `Date (${zoneName(state.tz)})`;
}

/** The state the filter form asks for, applied over `state`. */
export function stateFromForm(el: PageElements, state: ViewState): ViewState {
  const zone = state.tz;
  const workspace = el.workspaceSelect.disabled ? el.workspaceInput.value.trim() : el.workspaceSelect.value;
  return {
    ...state,
    workspace,
    user: el.user.value.trim(),
    filters: {
      // An untouched date keeps its exact instant: a shared URL's range survives applying other filters.
      from: el.from.value === dateInputValue(state.filters.from, zone) ? state.filters.from : instantFromDateInput(el.from.value, zone),
      to: el.to.value === dateInputValue(state.filters.to, zone, true) ? state.filters.to : instantFromDateInput(el.to.value, zone, true),
      actor: el.actor.value.trim(),
      action: el.action.value.trim(),
      resourceType: el.resource.value.trim(),
      outcome: el.outcome.value,
      // Stored ids are lower case; tools show either.
      traceId: el.traceId.value.trim().toLowerCase(),
      q: el.q.value.trim(),
    },
  };
}
