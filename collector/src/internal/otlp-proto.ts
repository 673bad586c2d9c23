import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogRecordFields } from '@otel-audit/contract';
import protobuf from 'protobufjs';
import { CollectorError } from '../errors.js';
import { originalRecord } from './original-record.js';
import { receivedLogRecord } from './otlp-json.js';
import { bytesText, fixed64Millis, messageList, messageServiceName, messageValue, present, type Msg } from './otlp-proto-values.js';
import { timeProblemOf, type ReceivedRecord } from './received-record.js';

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
const Resource = root.lookupType('opentelemetry.proto.resource.v1.Resource');
const InstrumentationScope = root.lookupType('opentelemetry.proto.common.v1.InstrumentationScope');
const LogRecord = root.lookupType('opentelemetry.proto.logs.v1.LogRecord');

// `toObject` with these options yields the protobuf JSON mapping that OTLP/JSON uses:
// lowerCamelCase keys, 64-bit integers as decimal strings, bytes as base64, and only
// the fields that were present. Used only for what a record rarely needs (its original,
// a derived id): the records themselves are read off the decoded message.
const JSON_MAPPING: protobuf.IConversionOptions = { longs: String, bytes: String, defaults: false };

/**
 * Decodes an OTLP/protobuf ExportLogsServiceRequest into the same records as
 * `decodeOtlpJson`. Bytes that are not a valid message (truncated, wrong wire types,
 * nested too deep) are a 400.
 */
export function decodeOtlpProtobuf(body: Buffer): ReceivedRecord[] {
  let request: Msg;
  try {
    request = decodeLogsRequest(body);
  } catch (err) {
    throw new CollectorError('AUDIT_ERR_BAD_REQUEST', `invalid OTLP/protobuf logs request: ${(err as Error).message}`);
  }
  return recordsOfLogsRequest(request);
}

/** The decoded ExportLogsServiceRequest message (OTLP/gRPC decodes with it too); throws on bytes that are not one. */
export function decodeLogsRequest(bytes: Uint8Array): Msg {
  return ExportLogsServiceRequest.decode(bytes) as unknown as Msg;
}

/**
 * The records of a decoded ExportLogsServiceRequest, read off the message: each
 * attribute straight into its event field (LogRecordFields), 64-bit times to
 * milliseconds without a decimal string, ids from their bytes.
 */
export function recordsOfLogsRequest(request: Msg): ReceivedRecord[] {
  const fields = new LogRecordFields();
  const records: ReceivedRecord[] = [];
  for (const rl of messageList(request, 'resourceLogs')) {
    const serviceName = present(rl, 'resource') ? messageServiceName(rl.resource) : undefined;
    for (const sl of messageList(rl, 'scopeLogs')) {
      for (const lr of messageList(sl, 'logRecords')) records.push(readLogRecord(fields, rl, sl, lr, serviceName));
    }
  }
  return records;
}

function readLogRecord(fields: LogRecordFields, rl: Msg, sl: Msg, lr: Msg, serviceName: string | undefined): ReceivedRecord {
  const received = () => receivedLogRecord(mapping(LogRecord, lr), serviceName, 'base64');
  fields.eventName = present(lr, 'eventName') ? lr.eventName : undefined;
  fields.timestamp = fixed64Millis(lr, 'timeUnixNano');
  fields.observedTimestamp = fixed64Millis(lr, 'observedTimeUnixNano');
  fields.body = messageValue(lr.body);
  fields.serviceName = serviceName;
  fields.traceId = bytesText(lr.traceId, 'hex');
  fields.spanId = bytesText(lr.spanId, 'hex');
  const timeProblem = timeProblemOf(fields.timestamp, received);
  for (const kv of messageList(lr, 'attributes')) if (present(kv, 'key')) fields.attribute(kv.key as string, messageValue(kv.value));
  return { candidate: fields.candidate(received), serviceName, timeProblem, original: () => originalOf(rl, sl, lr) };
}

function mapping(type: protobuf.Type, message: unknown): Record<string, unknown> {
  return type.toObject(message as protobuf.Message, JSON_MAPPING);
}

/** The record as sent in the JSON mapping (original-record.ts), its trace and span ids in hex as OTLP/JSON writes them. */
function originalOf(rl: Msg, sl: Msg, lr: Msg): unknown {
  const record = mapping(LogRecord, lr);
  for (const key of ['traceId', 'spanId'] as const) {
    const hex = bytesText(lr[key], 'hex');
    if (hex !== undefined) record[key] = hex;
  }
  return originalRecord(
    present(rl, 'resource') ? mapping(Resource, rl.resource) : undefined,
    present(sl, 'scope') ? mapping(InstrumentationScope, sl.scope) : undefined,
    record,
  );
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
