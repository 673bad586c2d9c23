/**
 * The receive path as it was before records were decoded straight into events (commit
 * b1d8037): the request in the protobuf JSON mapping (protobufjs `toObject` for protobuf),
 * a ReceivedLogRecord with an attribute map per record, the contract's fromLogRecord of
 * then, and checkRecord over them. Kept only as the reference the property test
 * (receive-path.property.test.ts) holds the one-pass decoders to; nothing in src/ uses it.
 */
import {
  ATTR,
  DEFAULT_REDACT,
  derivedEventId,
  redact,
  timeUnitProblem,
  validateAuditEvent,
  withEventDefaults,
  xmlSafeDeep,
  type ReceivedLogRecord,
} from '@otel-audit/contract';
import { MAX, NIL } from 'uuid';
import { redactOriginal } from '../src/internal/original-record.js';
import { actionRefusal, type Sender } from '../src/internal/sender-auth.js';
import { anyValue, idHex, isObject, keyValues, nanosAsSent, type IdEncoding, type Obj } from '../src/internal/otlp-values.js';
import { ExportLogsServiceRequest } from '../../test/support/otlp-proto.js';

export function previousDecodeProtobuf(body: Buffer): ReceivedLogRecord[] {
  const mapping = ExportLogsServiceRequest.toObject(ExportLogsServiceRequest.decode(body), { longs: String, bytes: String, defaults: false });
  return previousRecordsFromJsonMapping(mapping, 'base64');
}

export function previousRecordsFromJsonMapping(body: unknown, ids: IdEncoding): ReceivedLogRecord[] {
  const list = (parent: Obj, key: string): Obj[] => (Array.isArray(parent[key]) ? (parent[key] as Obj[]) : []);
  const records: ReceivedLogRecord[] = [];
  for (const rl of list(body as Obj, 'resourceLogs')) {
    const resource = isObject(rl.resource) ? keyValues(rl.resource.attributes) : {};
    const serviceName = typeof resource['service.name'] === 'string' ? resource['service.name'] : undefined;
    for (const sl of list(rl, 'scopeLogs')) {
      for (const lr of list(sl, 'logRecords')) {
        records.push({
          eventName: typeof lr.eventName === 'string' ? lr.eventName : undefined,
          timestamp: nanosToMillis(lr.timeUnixNano),
          observedTimestamp: nanosToMillis(lr.observedTimeUnixNano),
          timeUnixNano: nanosAsSent(lr.timeUnixNano),
          observedTimeUnixNano: nanosAsSent(lr.observedTimeUnixNano),
          body: anyValue(lr.body),
          attributes: keyValues(lr.attributes),
          serviceName,
          traceId: idHex(lr.traceId, ids),
          spanId: idHex(lr.spanId, ids),
          original: originalRecord(rl, sl, lr, ids),
        });
      }
    }
  }
  return records;
}

function nanosToMillis(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.floor(v / 1e6) : undefined;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return Number(BigInt(v) / 1_000_000n);
  return undefined;
}

function originalRecord(rl: Obj, sl: Obj, lr: Obj, ids: IdEncoding): Obj {
  let record = lr;
  if (ids === 'base64') {
    record = { ...lr };
    for (const key of ['traceId', 'spanId'] as const) {
      const v = lr[key];
      if (typeof v === 'string' && v !== '') record[key] = Buffer.from(v, 'base64').toString('hex');
    }
  }
  return {
    resourceLogs: [
      {
        ...(rl.resource !== undefined ? { resource: rl.resource } : {}),
        scopeLogs: [{ ...(sl.scope !== undefined ? { scope: sl.scope } : {}), logRecords: [record] }],
      },
    ],
  };
}

export function previousFromLogRecord(record: ReceivedLogRecord): Record<string, unknown> {
  const attrs = record.attributes;
  const get = (key: string) => attrs[key];
  const obj = (entries: Record<string, unknown>) => {
    const out = Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
    return Object.keys(out).length > 0 ? out : undefined;
  };
  const timestamp = record.timestamp || record.observedTimestamp;
  const metadata: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith(ATTR.metadataPrefix)) metadata[key.slice(ATTR.metadataPrefix.length)] = value;
  }
  let changes = get(ATTR.changes);
  if (typeof changes === 'string') {
    try {
      changes = JSON.parse(changes);
    } catch {
      // left as the string
    }
  }
  const uid = get(ATTR.id);
  const lower = typeof uid === 'string' ? uid.toLowerCase() : uid;
  const traceId = traceContextId(record.traceId, 32);
  const date = timestamp ? new Date(timestamp) : undefined;
  const event = obj({
    id: uid === undefined || uid === '' || lower === NIL || lower === MAX ? derivedEventId(record) : lower,
    time: date ? (Number.isNaN(date.getTime()) ? timestamp : date.toISOString()) : undefined,
    action: record.eventName || get(ATTR.eventName),
    category: get(ATTR.category),
    outcome: get(ATTR.outcome),
    reason: get(ATTR.reason),
    actor: obj({ id: get(ATTR.actorId), name: get(ATTR.actorName), type: get(ATTR.actorType), email: get(ATTR.actorEmail), roles: get(ATTR.actorRoles) }),
    client: obj({ ip: get(ATTR.clientIp), userAgent: get(ATTR.userAgent) }),
    sessionId: get(ATTR.sessionId),
    workspace: obj({ id: get(ATTR.workspaceId), name: get(ATTR.workspaceName) }),
    resource: obj({ type: get(ATTR.resourceType), id: get(ATTR.resourceId), name: get(ATTR.resourceName), href: get(ATTR.resourceHref) }),
    changes,
    request: obj({ id: get(ATTR.requestId), parentId: get(ATTR.requestParentId) }),
    correlationId: get(ATTR.correlationId),
    message: record.body,
    metadata: obj(metadata),
    service: obj({ name: record.serviceName }),
    traceId,
    spanId: traceId ? traceContextId(record.spanId, 16) : undefined,
  });
  return xmlSafeDeep(withEventDefaults(event ?? {}));
}

function traceContextId(value: string | undefined, hexDigits: number): string | undefined {
  if (typeof value !== 'string' || value.length !== hexDigits) return undefined;
  const hex = value.toLowerCase();
  return /^[0-9a-f]+$/.test(hex) && /[1-9a-f]/.test(hex) ? hex : undefined;
}

/** checkRecord as it was, with the dead letter's original as the receiver kept it (redacted). */
export function previousCheckRecord(record: ReceivedLogRecord, sender: Sender | undefined, pattern: RegExp = DEFAULT_REDACT) {
  const candidate = redact(previousFromLogRecord(record), pattern);
  const refusal =
    typeof candidate.action === 'string' ? actionRefusal(candidate.action, sender ?? { service: record.serviceName ?? '', authenticated: false }) : undefined;
  const original = redactOriginal(record.original, pattern);
  if (refusal) return { ok: false as const, kind: 'action_forbidden', candidate, reason: refusal, original };
  const timeProblem = timeUnitProblem(record);
  const result = validateAuditEvent(candidate);
  if (result.ok && !timeProblem) return { ok: true as const, event: result.event };
  const lines = [...(timeProblem ? [timeProblem] : []), ...(result.ok ? [] : result.problems)];
  return { ok: false as const, kind: 'contract', candidate, reason: lines.join(', '), original };
}
