import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReceivedLogRecord } from '@otel-audit/contract';
import protobuf from 'protobufjs';
import { CollectorError } from '../errors.js';
import { recordsFromJsonMapping } from './otlp-json.js';

// The official .proto files ship in the package's proto/ folder, two levels above both
// src/internal/ (tests on sources) and dist/internal/ (the published build).
const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

// Loaded once, at module load, so a missing or broken definition stops the collector
// at start-up instead of failing the first protobuf request.
// google/protobuf/any.proto (imported by google/rpc/status.proto) comes bundled with protobufjs.
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
root.loadSync(['opentelemetry/proto/collector/logs/v1/logs_service.proto', 'google/rpc/status.proto']);
root.resolveAll();

const ExportLogsServiceRequest = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const ExportLogsServiceResponse = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');
const RpcStatus = root.lookupType('google.rpc.Status');

// `toObject` with these options yields the protobuf JSON mapping that OTLP/JSON uses:
// lowerCamelCase keys, 64-bit integers as decimal strings, bytes as base64, and only
// the fields that were present (so an unset oneof member stays absent).
const JSON_MAPPING: protobuf.IConversionOptions = { longs: String, bytes: String, defaults: false };

/**
 * Decodes an OTLP/protobuf ExportLogsServiceRequest into the same records as
 * `decodeOtlpJson`, by way of the shared JSON-mapping reader. Bytes that are not a
 * valid message (truncated, wrong wire types, nested too deep) are a 400.
 */
export function decodeOtlpProtobuf(body: Buffer): ReceivedLogRecord[] {
  let mapping: Record<string, unknown>;
  try {
    mapping = ExportLogsServiceRequest.toObject(ExportLogsServiceRequest.decode(body), JSON_MAPPING);
  } catch (err) {
    throw new CollectorError('AUDIT_ERR_BAD_REQUEST', `invalid OTLP/protobuf logs request: ${(err as Error).message}`);
  }
  return recordsFromJsonMapping(mapping, 'OTLP/protobuf', 'base64');
}

export interface PartialSuccess {
  rejectedLogRecords: number;
  errorMessage: string;
}

/** An ExportLogsServiceResponse; without `partialSuccess` it is empty (zero bytes), as for full success. */
export function encodeExportLogsResponse(partialSuccess?: PartialSuccess): Buffer {
  const message = ExportLogsServiceResponse.fromObject(partialSuccess ? { partialSuccess } : {});
  return toBuffer(ExportLogsServiceResponse.encode(message).finish());
}

/** A google.rpc.Status, the body of every OTLP/HTTP failure. */
export function encodeRpcStatus(code: number, message: string): Buffer {
  return toBuffer(RpcStatus.encode(RpcStatus.fromObject({ code, message })).finish());
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
