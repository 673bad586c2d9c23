import { toLogRecord, type AuditEvent } from '@otel-audit/contract';
import { v7 as uuidv7 } from 'uuid';

/** An OTLP/JSON ExportLogsServiceRequest for these events, in the shape the spec gives. */
export function otlpJsonBody(events: Array<Record<string, unknown>>, serviceName = 'test-app'): string {
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: serviceName } }] },
        scopeLogs: [{ scope: { name: 'test' }, logRecords: events.map((e) => otlpJsonLogRecord(e as AuditEvent)) }],
      },
    ],
  });
}

/** One event as an OTLP/JSON LogRecord (the contract's toLogRecord on the wire). */
export function otlpJsonLogRecord(event: AuditEvent): Record<string, unknown> {
  const r = toLogRecord(event);
  return {
    timeUnixNano: String(BigInt(r.timestamp) * 1_000_000n),
    severityNumber: r.severityNumber,
    severityText: r.severityText,
    eventName: r.eventName,
    ...(r.body !== undefined ? { body: { stringValue: r.body } } : {}),
    attributes: Object.entries(r.attributes).map(([key, value]) => ({ key, value: anyValue(value) })),
    // OTLP/JSON writes the ids as hex, unlike the protobuf JSON mapping's base64.
    ...(r.traceId !== undefined ? { traceId: r.traceId } : {}),
    ...(r.spanId !== undefined ? { spanId: r.spanId } : {}),
  };
}

function anyValue(v: unknown): unknown {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  // An integral double past int64 (-2^63, say) cannot travel as an intValue.
  if (typeof v === 'number') return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  return { stringValue: JSON.stringify(v) };
}

export function validEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: uuidv7(),
    time: new Date().toISOString(),
    action: 'auth.login',
    category: 'authentication',
    outcome: 'success',
    actor: { id: 'u-alice', name: 'Alice', type: 'user' },
    ...overrides,
  };
}
