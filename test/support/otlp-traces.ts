import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toLogRecord, type AuditEvent } from '@otel-audit/contract';
import protobuf from 'protobufjs';

// Tests read the official trace definitions the collector ships, independently of the
// collector's own loading, to build requests and to read the answers.
const PROTO_DIR = fileURLToPath(new URL('../../collector/proto/', import.meta.url));
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
root.loadSync(['opentelemetry/proto/collector/trace/v1/trace_service.proto', 'google/rpc/status.proto']);
export const ExportTraceServiceRequest = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
export const ExportTraceServiceResponse = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');

/** A span event in the OTLP/JSON mapping. */
export interface JsonSpanEvent {
  name: string;
  timeUnixNano?: string;
  attributes?: Array<{ key: string; value: unknown }>;
}

/** A span event carrying an audit event: named by its action, with the log record's attributes and time. */
export function auditSpanEvent(event: AuditEvent, extra: Record<string, string> = {}): JsonSpanEvent {
  const r = toLogRecord(event);
  const attributes = { ...r.attributes, ...extra };
  return {
    name: r.eventName,
    timeUnixNano: String(BigInt(r.timestamp) * 1_000_000n),
    attributes: Object.entries(attributes).map(([key, value]) => ({ key, value: anyValue(value) })),
  };
}

function anyValue(v: unknown): unknown {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  return { stringValue: JSON.stringify(v) };
}

/**
 * An OTLP/JSON ExportTraceServiceRequest: one span per entry, each with its events;
 * ids in hex, as OTLP/JSON writes them.
 */
export function otlpTracesJson(
  spans: Array<{ traceId: string; spanId: string; name?: string; events: JsonSpanEvent[]; attributes?: JsonSpanEvent['attributes'] }>,
  serviceName = 'test-app',
): Record<string, unknown> {
  const now = BigInt(Date.now()) * 1_000_000n;
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: serviceName } }] },
        scopeSpans: [
          {
            scope: { name: 'test' },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              name: s.name ?? 'operation',
              kind: 1,
              startTimeUnixNano: String(now - 1_000_000n),
              endTimeUnixNano: String(now),
              ...(s.attributes ? { attributes: s.attributes } : {}),
              events: s.events,
            })),
          },
        ],
      },
    ],
  };
}

/**
 * The same request as OTLP/protobuf. The JSON mapping's hex ids become the bytes they
 * stand for (protobufjs' fromObject would read a string as base64).
 */
export function otlpTracesProtobuf(json: Record<string, unknown>): Buffer {
  const copy = JSON.parse(JSON.stringify(json)) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }> };
  for (const rs of copy.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        for (const key of ['traceId', 'spanId', 'parentSpanId']) {
          if (typeof span[key] === 'string') span[key] = Buffer.from(span[key], 'hex');
        }
      }
    }
  }
  return Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(copy)).finish());
}
