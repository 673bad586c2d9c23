import { describe, expect, it } from 'vitest';
import { decodeOtlpJson } from '../src/internal/otlp-json.js';
import { decodeOtlpProtobuf } from '../src/internal/otlp-proto.js';
import { protobufBody } from '../../test/support/otlp-proto.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

function request(logRecord: Record<string, unknown>) {
  return { resourceLogs: [{ scopeLogs: [{ logRecords: [{ eventName: 'auth.login', ...logRecord }] }] }] };
}

describe('trace and span ids of a log record', () => {
  it('reads OTLP/JSON ids as hex (the OTLP/JSON rule), in any case', () => {
    const [record] = decodeOtlpJson(request({ traceId: TRACE.toUpperCase(), spanId: SPAN }));
    expect(record?.candidate).toMatchObject({ traceId: TRACE, spanId: SPAN });
  });

  it('reads protobuf ids (bytes) as the same hex', () => {
    const body = protobufBody(request({ traceId: Buffer.from(TRACE, 'hex'), spanId: Buffer.from(SPAN, 'hex') }));
    const [record] = decodeOtlpProtobuf(body);
    expect(record?.candidate).toMatchObject({ traceId: TRACE, spanId: SPAN });
  });

  it('leaves ids out when the record has none (empty bytes in protobuf, absent in JSON)', () => {
    const [fromJson] = decodeOtlpJson(request({}));
    const [fromProtobuf] = decodeOtlpProtobuf(protobufBody(request({ traceId: Buffer.alloc(0) })));
    for (const record of [fromJson, fromProtobuf]) {
      expect(record?.candidate).not.toHaveProperty('traceId');
      expect(record?.candidate).not.toHaveProperty('spanId');
    }
  });

  it('ignores an id of the wrong type instead of refusing the request', () => {
    const [record] = decodeOtlpJson(request({ traceId: 42, spanId: { hex: SPAN } }));
    expect(record?.candidate).not.toHaveProperty('traceId');
    expect(record?.candidate).not.toHaveProperty('spanId');
    expect(record?.candidate.action).toBe('auth.login');
  });
});
