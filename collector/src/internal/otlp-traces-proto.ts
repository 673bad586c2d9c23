import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { CollectorError } from '../errors.js';
import { readTraceMapping, type TraceReading } from './otlp-traces.js';

// The official .proto files ship in the package's proto/ folder, two levels above both
// src/internal/ (tests on sources) and dist/internal/ (the published build).
const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

// Loaded once, at module load, so a missing or broken definition stops the collector at
// start-up instead of failing the first traces request. A root of its own: the logs
// decoder's stays as it was.
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
root.loadSync(['opentelemetry/proto/collector/trace/v1/trace_service.proto']);
root.resolveAll();

const ExportTraceServiceRequest = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
const ExportTraceServiceResponse = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');

// The protobuf JSON mapping, as for logs (otlp-proto.ts): int64 as decimal strings, bytes
// as base64, only the fields that were present.
const JSON_MAPPING: protobuf.IConversionOptions = { longs: String, bytes: String, defaults: false };

/** Decodes an OTLP/protobuf ExportTraceServiceRequest; bytes that are not one are a 400. */
export function decodeTracesProtobuf(body: Buffer): TraceReading {
  let mapping: Record<string, unknown>;
  try {
    mapping = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), JSON_MAPPING);
  } catch (err) {
    throw new CollectorError('AUDIT_ERR_BAD_REQUEST', `invalid OTLP/protobuf traces request: ${(err as Error).message}`);
  }
  return readTraceMapping(mapping, 'OTLP/protobuf', 'base64');
}

export interface TracePartialSuccess {
  rejectedSpans: number;
  errorMessage: string;
}

/** An ExportTraceServiceResponse; without `partialSuccess` it is empty (zero bytes), as for full success. */
export function encodeExportTraceResponse(partialSuccess?: TracePartialSuccess): Buffer {
  const message = ExportTraceServiceResponse.fromObject(partialSuccess ? { partialSuccess } : {});
  const bytes = ExportTraceServiceResponse.encode(message).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
