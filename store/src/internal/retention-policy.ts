import { RETENTION_POLICY_NAME } from '../index-names.js';

export { RETENTION_POLICY_NAME };

/**
 * A delete-only lifecycle policy. ILM counts an index's age from its origination date,
 * which the templates make the start of the index's day (`parse_origination_date` reads
 * `audit-events-YYYY.MM.DD` from the name), not the moment the index was created: a
 * late event replayed from a spool creates an old day's index today, and that index must
 * not live a year longer than its neighbours.
 *
 * `days + 2`: a day's index holds events up to 24 h younger than its start, so `days + 1`
 * is the first age at which all of it is past the period; one more day leaves the
 * collector's retention job (which deletes at `days + 1` and records the deletion as an
 * audit event) the first turn, with ILM as the backstop when no collector has the
 * credentials to delete.
 */
export function retentionPolicy(days: number): { policy: { _meta: Record<string, unknown>; phases: Record<string, unknown> } } {
  if (!Number.isInteger(days) || days < 1) throw new Error(`retention days must be a positive integer, got ${days}`);
  return {
    policy: {
      _meta: { description: `otel-audit: delete daily indices ${days} days after their day ends (backstop of the collector's retention job)`, days },
      phases: {
        hot: { min_age: '0ms', actions: {} },
        delete: { min_age: `${days + 2}d`, actions: { delete: {} } },
      },
    },
  };
}

/** Index settings that attach the policy, counting age from the day in the index name. */
export function lifecycleSettings(): Record<string, unknown> {
  return { 'index.lifecycle.name': RETENTION_POLICY_NAME, 'index.lifecycle.parse_origination_date': true };
}
