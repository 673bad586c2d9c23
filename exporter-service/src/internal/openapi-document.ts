import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import { AUDIT_CATEGORIES, AUDIT_OUTCOMES } from '@otel-audit/contract';
import { EXPORT_ERRORS, type ExportErrorCode } from '../errors.js';
import { EXPORT_CONTENT_TYPES, FORMAT_PARAMS_DOCUMENTED } from './format-params.js';

/**
 * The body of every error answer the error handler sends, 405 included. The codes are the
 * catalogue's (errors.ts); clients match on `code`, never on the message.
 */
export const ERROR_BODY_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: Object.keys(EXPORT_ERRORS), description: 'Stable: AUDIT_ERR_…' },
        message: { type: 'string', description: 'For people: names what is wrong; never a secret nor store text' },
      },
    },
  },
} as const;

const ISO_DAY = '[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])';
const ISO_TIME = 'T(([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,9})?)?|24:00(:00(\\.0{1,9})?)?)(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?';
/**
 * What `from` and `to` accept: an ISO 8601 day or day and time (zone optional), or empty for
 * the default. The ranges are those of the date parser: a 13th month or a 25th hour is refused.
 */
export const INSTANT_PATTERN = `^(${ISO_DAY}(${ISO_TIME})?)?$`;

/** A comma-separated list of `values`; empty items (and spaces around an item) are skipped. */
const LIST = (values: readonly string[]) => `^[ ]*(${values.join('|')})?[ ]*(,[ ]*(${values.join('|')})?[ ]*)*$`;
const IPV4 = '((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';

/**
 * The rules the query parser applies (event-query.ts), as the document states them: the
 * validation schema keeps them out so that a refusal names the parameter in the parser's words.
 */
const DOCUMENTED_PARAMS: Record<string, Record<string, unknown>> = {
  ...FORMAT_PARAMS_DOCUMENTED,
  from: { type: 'string', maxLength: 40, pattern: INSTANT_PATTERN, description: 'ISO 8601 day or time, inclusive; default: `to` minus the default window. The range may span at most the service\'s maximum (366 days by default) and `from` must be before `to`' },
  to: { type: 'string', maxLength: 40, pattern: INSTANT_PATTERN, description: 'ISO 8601 day or time, exclusive; default: now' },
  category: { type: 'string', maxLength: 500, pattern: LIST(AUDIT_CATEGORIES), description: 'Comma-separated categories' },
  outcome: { type: 'string', maxLength: 100, pattern: LIST(AUDIT_OUTCOMES), description: 'Comma-separated: success, failure, unknown' },
  traceId: { type: 'string', maxLength: 64, pattern: '^([ ]*|[ ]*[0-9a-fA-F]{32}[ ]*)$', description: 'Events recorded inside this OpenTelemetry trace: 32 hexadecimal digits (W3C trace id)' },
  ip: {
    type: 'string',
    maxLength: 64,
    anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }, { pattern: `^${IPV4}/(3[0-2]|[12]?[0-9])$` }, { maxLength: 0 }],
    description: 'Client address (IPv4 or IPv6) or CIDR range',
  },
};

type Json = Record<string, unknown>;
const error = (description: string, extraHeaders: Json = {}) => ({
  description,
  ...(Object.keys(extraHeaders).length > 0 ? { headers: extraHeaders } : {}),
  content: { 'application/json': { schema: ERROR_BODY_SCHEMA } },
});
// @fastify/swagger wraps each header's JSON schema in the OpenAPI header object itself.
const RETRY_AFTER = { 'retry-after': { type: 'string', description: 'Seconds to wait before retrying' } };

/** A response per status, its description naming the catalogue codes the operation may answer with. */
export function errorResponses(codes: readonly ExportErrorCode[]): Record<string, Json> {
  const byStatus = new Map<number, ExportErrorCode[]>();
  for (const code of codes) byStatus.set(EXPORT_ERRORS[code].status, [...(byStatus.get(EXPORT_ERRORS[code].status) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [String(status), error(list.map((c) => `${c}: ${EXPORT_ERRORS[c].message}`).join('; '), status === 503 || status === 429 ? RETRY_AFTER : {})]),
  );
}

const QUERY_ERRORS = ['AUDIT_ERR_INVALID_QUERY', 'AUDIT_ERR_UNAUTHENTICATED', 'AUDIT_ERR_SCOPE_FORBIDDEN', 'AUDIT_ERR_STORE_UNAVAILABLE'] as const;
const file = (types: readonly string[], description: string) => ({
  description,
  headers: { 'content-disposition': { type: 'string', description: 'attachment; filename="audit-log_<scope>_<from>_<to>.<format>"' } },
  content: Object.fromEntries(types.map((t) => [t.split(';')[0], { schema: { type: 'string', format: 'binary' } }])),
});

/**
 * What each operation answers besides its own 200, by `METHOD url`. Routes declare their
 * success bodies in their schemas; where one does not (the background-export routes, which
 * stream files or answer 202), it is declared here, so the document is complete whoever
 * registers the route. The schemathesis test (openapi-contract.test.ts) holds this table to
 * what the service really answers.
 */
export const OPERATION_RESPONSES: Record<string, Record<string, Json>> = {
  'GET /v1/me': errorResponses(['AUDIT_ERR_UNAUTHENTICATED']),
  'GET /v1/events': errorResponses([...QUERY_ERRORS, 'AUDIT_ERR_AUDIT_UNAVAILABLE']),
  'GET /v1/events/count': errorResponses(QUERY_ERRORS),
  'GET /v1/exports/events.csv': { 200: file([EXPORT_CONTENT_TYPES.csv], 'The events as CSV'), ...errorResponses([...QUERY_ERRORS, 'AUDIT_ERR_EXPORT_TOO_LARGE', 'AUDIT_ERR_AUDIT_UNAVAILABLE']) },
  'GET /v1/exports/events.xlsx': { 200: file([EXPORT_CONTENT_TYPES.xlsx], 'The events as XLSX'), ...errorResponses([...QUERY_ERRORS, 'AUDIT_ERR_EXPORT_TOO_LARGE', 'AUDIT_ERR_AUDIT_UNAVAILABLE']) },
  'POST /v1/exports': {
    202: {
      description: 'Queued; poll statusUrl',
      content: { 'application/json': { schema: { type: 'object', required: ['id', 'status', 'statusUrl'], properties: { id: { type: 'string', format: 'uuid' }, status: { type: 'string', enum: ['queued'] }, statusUrl: { type: 'string' } } } } },
    },
    ...errorResponses([...QUERY_ERRORS, 'AUDIT_ERR_RATE_LIMITED', 'AUDIT_ERR_AUDIT_UNAVAILABLE']),
    413: error('The body is over the size limit'),
    415: error('The body is not JSON'),
  },
  'GET /v1/exports/{id}': errorResponses(['AUDIT_ERR_UNAUTHENTICATED', 'AUDIT_ERR_EXPORT_NOT_FOUND', 'AUDIT_ERR_EXPORT_EXPIRED', 'AUDIT_ERR_STORE_UNAVAILABLE']),
  'GET /v1/exports/{id}/manifest': {
    200: { description: 'The signed manifest (JSON)', content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } } },
    ...errorResponses(['AUDIT_ERR_UNAUTHENTICATED', 'AUDIT_ERR_EXPORT_NOT_FOUND', 'AUDIT_ERR_STORE_UNAVAILABLE', 'AUDIT_ERR_AUDIT_UNAVAILABLE']),
  },
  'GET /v1/exports/{id}/download': {
    200: file(Object.values(EXPORT_CONTENT_TYPES), 'The file, CSV or XLSX as the export was asked'),
    ...errorResponses(['AUDIT_ERR_INVALID_QUERY', 'AUDIT_ERR_LINK_INVALID', 'AUDIT_ERR_EXPORT_NOT_FOUND', 'AUDIT_ERR_EXPORT_EXPIRED', 'AUDIT_ERR_STORE_UNAVAILABLE', 'AUDIT_ERR_AUDIT_UNAVAILABLE']),
  },
};

/** Replaces the documented parameters (querystring or body) with their stated rules. */
function documentParams(part: unknown): unknown {
  if (!part || typeof part !== 'object' || !('properties' in part)) return part;
  const p = part as { properties: Record<string, unknown> };
  const properties = Object.fromEntries(Object.entries(p.properties).map(([k, v]) => [k, DOCUMENTED_PARAMS[k] ?? v]));
  return { ...p, properties };
}

/** The document's route transform: rules of the parameters, and every status an operation answers. */
export function documentRoute({ schema, url, route }: { schema: Json; url: string; route: { method: string | string[] } }): { schema: Json; url: string } {
  if (!schema || schema.hide) return { schema, url };
  const method = [route.method].flat()[0]!;
  const key = `${method} ${url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;
  const declared = (schema.response ?? {}) as Record<string, Json>;
  return {
    url,
    schema: {
      ...schema,
      ...(schema.querystring ? { querystring: documentParams(schema.querystring) } : {}),
      ...(schema.body ? { body: documentParams(schema.body) } : {}),
      // 431 before any route: Node refuses over 16 KiB of request line and headers (clientErrorHandler).
      response: { ...(OPERATION_RESPONSES[key] ?? errorResponses(['AUDIT_ERR_UNAUTHENTICATED'])), ...errorResponses(['AUDIT_ERR_REQUEST_TOO_LARGE']), ...declared },
    },
  };
}

export const SWAGGER_OPTIONS: FastifyDynamicSwaggerOptions = {
  openapi: {
    info: {
      title: 'otel-audit export service',
      version: '0.1.0',
      description: [
        'Scoped audit-log search and CSV/XLSX exports.',
        'Every error answers with one body, `{"error": {"code": "AUDIT_ERR_…", "message": "…"}}`.',
        'A method a path does not have answers 405 AUDIT_ERR_METHOD_NOT_ALLOWED with an `Allow` header naming the methods it has.',
      ].join('\n\n'),
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Error: ERROR_BODY_SCHEMA as unknown as Json },
    },
    security: [{ bearer: [] }],
  },
  transform: documentRoute as unknown as FastifyDynamicSwaggerOptions['transform'],
};
