import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromDocument, toDocument } from '../src/internal/ecs-document.js';
import { auditEventArbitrary } from '../../test/support/audit-event-arbitrary.js';

type Doc = Record<string, unknown>;

/** fromDocument as it was before it read each member by name (paths split per field, Object.entries). */
function previousFromDocument(doc: Doc): unknown {
  const compact = (value: Doc): Doc | undefined => {
    const out: Doc = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        const inner = compact(v as Doc);
        if (inner) out[k] = inner;
      } else out[k] = v;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  };
  const g = (path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o as Doc | undefined)?.[k], doc);
  const event = compact({
    id: g('event.id'),
    time: g('@timestamp'),
    action: g('event.action'),
    category: g('audit.category'),
    outcome: g('event.outcome'),
    reason: g('event.reason'),
    actor: { id: g('user.id'), name: g('user.name'), type: g('audit.actor.type'), email: g('user.email'), roles: g('user.roles') },
    client: { ip: g('source.ip'), userAgent: g('user_agent.original') },
    sessionId: g('audit.session.id'),
    workspace: { id: g('organization.id'), name: g('organization.name') },
    resource: g('audit.resource'),
    request: { id: g('audit.request.id'), parentId: g('audit.request.parent_id') },
    correlationId: g('audit.correlation_id'),
    message: g('message'),
    metadata: g('audit.metadata'),
    service: { name: g('service.name') },
    traceId: g('trace.id'),
    spanId: g('span.id'),
  }) as Doc;
  const changes = g('audit.changes');
  if (changes !== undefined) event.changes = changes;
  return event;
}

/** Any value where the document has a member: the reader must treat a strange one exactly as before. */
const member = (keys: string[]) => fc.oneof(fc.anything(), fc.dictionary(fc.constantFrom(...keys), fc.anything()));
const strangeDocument = fc.record(
  {
    '@timestamp': fc.anything(),
    message: fc.anything(),
    event: member(['id', 'action', 'outcome', 'reason']),
    user: member(['id', 'name', 'email', 'roles']),
    source: member(['ip']),
    user_agent: member(['original']),
    organization: member(['id', 'name']),
    service: member(['name']),
    trace: member(['id']),
    span: member(['id']),
    audit: fc.oneof(
      fc.anything(),
      fc.dictionary(fc.constantFrom('category', 'actor', 'session', 'resource', 'request', 'correlation_id', 'changes', 'metadata'), member(['type', 'id', 'parent_id', 'name', 'href'])),
    ),
  },
  { requiredKeys: ['event'] },
);

describe('fromDocument reads a document as it did before it read members by name (property)', () => {
  it('on documents of events', () => {
    fc.assert(
      fc.property(auditEventArbitrary, (e) => {
        const doc = JSON.parse(JSON.stringify(toDocument(e))) as Doc;
        expect(fromDocument(doc)).toEqual(previousFromDocument(doc));
      }),
      { numRuns: 500 },
    );
  });

  it('on documents of any shape', () => {
    fc.assert(
      fc.property(strangeDocument, (doc) => {
        let before: unknown;
        let threw = false;
        try {
          before = previousFromDocument(doc);
        } catch {
          threw = true;
        }
        if (threw) expect(() => fromDocument(doc)).toThrow();
        else expect(fromDocument(doc)).toEqual(before);
      }),
      { numRuns: 1000 },
    );
  });
});
