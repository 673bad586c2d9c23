import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

// The same official protos as the OTLP/HTTP answers (see otlp-proto.ts for the location).
const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
// google/protobuf/{any,duration}.proto come bundled with protobufjs.
root.loadSync(['google/rpc/status.proto', 'google/protobuf/duration.proto']);
// google.rpc.RetryInfo is one field; declared here by its wire format (field 1, a Duration)
// rather than shipping all of error_details.proto for it.
root.define('google.rpc').add(new protobuf.Type('RetryInfo').add(new protobuf.Field('retry_delay', 1, 'google.protobuf.Duration')));
root.resolveAll();

const RpcStatus = root.lookupType('google.rpc.Status');
const RetryInfo = root.lookupType('google.rpc.RetryInfo');

/** The `type_url` under which OTLP clients look for the delay (the OTLP specification, "OTLP/gRPC Throttling"). */
export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/**
 * The `grpc-status-details-bin` trailer of a retryable failure: a google.rpc.Status whose
 * details hold a google.rpc.RetryInfo, so a client waits `retryDelayMillis` before it retries.
 */
export function retryStatusDetails(code: number, message: string, retryDelayMillis: number): Buffer {
  const millis = Math.max(0, Math.ceil(retryDelayMillis));
  const retryInfo = RetryInfo.encode(
    RetryInfo.fromObject({ retry_delay: { seconds: Math.floor(millis / 1000), nanos: (millis % 1000) * 1_000_000 } }),
  ).finish();
  const status = RpcStatus.fromObject({ code, message, details: [{ type_url: RETRY_INFO_TYPE_URL, value: retryInfo }] });
  return toBuffer(RpcStatus.encode(status).finish());
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
