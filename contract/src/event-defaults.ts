import { actionDefinition } from './action-catalogue.js';
import type { AuditOutcome } from './audit-event.js';

/**
 * The outcome of an event whose sender gave none, whoever sent it: `record()` has always
 * defaulted to it, and the collector applies the same default so that the same event
 * sent through the Node package or any other OpenTelemetry SDK is stored the same. A
 * sender that does not know the outcome says `unknown`.
 */
export const DEFAULT_OUTCOME: AuditOutcome = 'success';

/**
 * The actor type of an actor given without one: the OpenTelemetry attributes an actor
 * travels in are `user.*`, which name a user; a service or the system says so.
 */
export const DEFAULT_ACTOR_TYPE = 'user';

/**
 * Fills what a sender may leave out: the outcome (DEFAULT_OUTCOME), the actor's type
 * (DEFAULT_ACTOR_TYPE) and, for a catalogued
 * action, the catalogue's category and message; a default message says when the action
 * failed ("Logged on (failed)"), since "Logged on" would misdescribe a failed log-on.
 * The one copy of these rules: `record()` and the collector (fromLogRecord) both call it.
 * An empty message counts as none, since it describes nothing. Values are kept as given,
 * for validation to name a wrong one.
 */
export function withEventDefaults(candidate: Record<string, unknown>): Record<string, unknown> {
  const known = typeof candidate.action === 'string' ? actionDefinition(candidate.action) : undefined;
  const outcome = candidate.outcome ?? DEFAULT_OUTCOME;
  const noMessage = candidate.message === undefined || candidate.message === '';
  const { actor } = candidate;
  const untypedActor = typeof actor === 'object' && actor !== null && !Array.isArray(actor) && !('type' in actor);
  return {
    ...candidate,
    outcome,
    ...(untypedActor ? { actor: { ...actor, type: DEFAULT_ACTOR_TYPE } } : {}),
    ...(known && candidate.category === undefined ? { category: known.category } : {}),
    ...(known && noMessage ? { message: outcome === 'failure' ? `${known.message} (failed)` : known.message } : {}),
  };
}
