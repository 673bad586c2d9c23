import { PassThrough, type Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { exportFields, type AuditEvent } from '@otel-audit/contract';
import { ExportError } from '../errors.js';
import { authorizedQuery, type EventRoutesContext } from './event-routes.js';
import { EVENT_QUERY_SCHEMA, scopeLabel, type EventQueryParams } from './event-query.js';
import { csvStream, writeXlsx } from './export-writers.js';
import { EXPORT_CONTENT_TYPES, FORMAT_PARAMS_SCHEMA, XLSX_FORMAT_PARAMS_SCHEMA, exportFileName, parseCsvOptions, parseFormat, type FormatParams } from './format-params.js';
import { endLookWhenClosed, lookSubject } from './look-recorder.js';
import { fromStore } from './store-unavailable.js';

type DownloadRequest = FastifyRequest<{ Querystring: EventQueryParams & FormatParams }>;

/** `GET /v1/exports/events.csv` and `.xlsx`: a streamed file, up to the row cap. */
export function registerDownloadRoutes(api: FastifyInstance, ctx: EventRoutesContext): void {
  const download = (format: 'csv' | 'xlsx') => async (request: DownloadRequest, reply: FastifyReply) => {
    const { caller, parsed } = await authorizedQuery(ctx, request, 'asc');
    const fmt = parseFormat(request.query);
    const total = await fromStore(request.log, 'store count', () => ctx.store.count(parsed.query));
    if (total > ctx.rowCap) {
      throw new ExportError(
        'AUDIT_ERR_EXPORT_TOO_LARGE',
        `${total} rows is over the ${ctx.rowCap}-row limit of a direct download; start a background export with POST /v1/exports`,
      );
    }
    // Recorded before the first byte (fail closed), ended whatever happens next.
    const look = ctx.looks.start(lookSubject(request, caller, parsed), { delivery: 'download', format, rowsMatching: total });
    let rows = 0;
    let failure: unknown;
    endLookWhenClosed(ctx.looks, look, request, reply, () => ({ rows, failure }));
    // A client that goes away stops the query (and closes the point in time).
    const abort = new AbortController();
    reply.raw.on('close', () => abort.abort());
    // Only what the columns read: on Elasticsearch, `_source` cut to those paths.
    const events = ctx.store.query({ ...parsed.query, fields: exportFields(fmt.columns) }, abort.signal)[Symbol.asyncIterator]();
    // Pull the first event before any header goes out: a store that is down becomes a
    // clean 503, not a truncated download.
    const first = await fromStore(request.log, 'store query', () => events.next(), (err) => (failure = err));
    async function* counted(): AsyncGenerator<AuditEvent> {
      for (let r = first; !r.done; r = await events.next()) {
        rows += 1;
        yield r.value;
      }
    }
    reply.header('content-disposition', `attachment; filename="${exportFileName(scopeLabel(parsed.scope), parsed.query.from, parsed.query.to, format)}"`);
    reply.header('content-type', EXPORT_CONTENT_TYPES[format]);
    let body: Readable;
    if (format === 'csv') {
      body = csvStream(counted(), { ...fmt, ...parseCsvOptions(request.query) });
      // Before fastify's own listener: the failure is known when the response closes.
      body.on('error', (err) => {
        if (!abort.signal.aborted) failure ??= err;
      });
    } else {
      const out = new PassThrough();
      writeXlsx(counted(), out, fmt).catch((err: unknown) => {
        if (!abort.signal.aborted) {
          failure ??= err;
          request.log.error({ err }, 'xlsx export failed');
        }
        out.destroy(err as Error);
      });
      body = out;
    }
    return reply.send(body);
  };

  const schema = (format: 'csv' | 'xlsx') => ({
    summary: `Download the events as ${format.toUpperCase()} (up to the row limit; larger: POST /v1/exports)`,
    querystring: {
      ...EVENT_QUERY_SCHEMA,
      properties: { ...EVENT_QUERY_SCHEMA.properties, ...(format === 'csv' ? FORMAT_PARAMS_SCHEMA : XLSX_FORMAT_PARAMS_SCHEMA) },
    },
  });
  api.get('/v1/exports/events.csv', { schema: schema('csv') }, download('csv'));
  api.get('/v1/exports/events.xlsx', { schema: schema('xlsx') }, download('xlsx'));
}
