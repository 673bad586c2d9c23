import { Compile } from 'typebox/compile';
import { AuditEventSchema, type AuditEvent } from './audit-event.js';

const checker = Compile(AuditEventSchema);

export type ValidationResult = { ok: true; event: AuditEvent } | { ok: false; problems: string[] };

/** Validates a candidate event; problems name the field (`actor.id: …`), first ones first. */
export function validateAuditEvent(value: unknown, maxProblems = 5): ValidationResult {
  if (checker.Check(value)) return { ok: true, event: value };
  const problems: string[] = [];
  for (const error of checker.Errors(value)) {
    // TypeBox reports an extra property twice: once as `schema is false` on the
    // property itself, once on the parent. Keep the readable one.
    if (error.keyword === 'boolean') continue;
    const path = error.instancePath.replace(/^\//, '').replaceAll('/', '.');
    const missing = error.keyword === 'required' ? (error.params as { requiredProperties?: string[] }).requiredProperties : undefined;
    if (missing) {
      // "actor.id: is required" names the field a developer has to add.
      for (const name of missing) problems.push(`${path ? `${path}.` : ''}${name}: is required`);
    } else {
      problems.push(`${path || '(event)'}: ${error.message}`);
    }
    if (problems.length >= maxProblems) break;
  }
  return { ok: false, problems: problems.length > 0 ? problems.slice(0, maxProblems) : ['(event): invalid'] };
}
