import type { FastifyInstance, FastifyRequest } from 'fastify';
import { xmlSafeDeep, type AuditEvent } from '@otel-audit/contract';
import type { AuditStore, EventQuery } from '@otel-audit/store';
import type { Authenticator } from '../auth.js';
import { queryBinding, type EventCursorCodec } from './event-cursor.js';
import { EVENT_QUERY_SCHEMA, mayViewAllUsers, parseEventQuery, type EventQueryParams, type QueryLimits } from './event-query.js';
import { lookSubject, type LookRecorder } from './look-recorder.js';
import { fromStore } from './store-unavailable.js';

/** What the search and download routes share, built once by buildExportService. */
export interface EventRoutesContext {
  store: AuditStore;
  authenticate: Authenticator;
  limits: QueryLimits;
  looks: LookRecorder;
  cursors: EventCursorCodec;
  rowCap: number;
  maxPageSize: number;
  backgroundExports: boolean;
}

const ME_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: ['string', 'null'] },
    workspaces: { type: 'array', items: { type: 'string' }, description: 'Workspaces whose log you may see (scope=workspace)' },
    superAdmin: { type: 'boolean' },
    scopes: { type: 'array', items: { type: 'string', enum: ['self', 'workspace', 'user', 'all'] }, description: 'Scopes the routes will grant you' },
    backgroundExports: { type: 'boolean', description: 'Whether POST /v1/exports is available' },
    limits: {
      type: 'object',
      properties: {
        rowCap: { type: 'integer', description: 'Largest direct CSV/XLSX download' },
        maxPageSize: { type: 'integer' },
        defaultWindowDays: { type: 'number' },
        maxRangeDays: { type: 'number' },
      },
    },
  },
} as const;

const PAGE_SCHEMA = {
  type: 'object',
  properties: { events: { type: 'array', items: { type: 'object', additionalProperties: true } }, nextCursor: { type: ['string', 'null'] } },
} as const;

/** The caller and their query, authorised: 401, 403 or 400 otherwise. */
export async function authorizedQuery(ctx: EventRoutesContext, request: FastifyRequest<{ Querystring: EventQueryParams }>, order: 'asc' | 'desc') {
  const caller = await ctx.authenticate(request.headers.authorization);
  return { caller, parsed: parseEventQuery(caller, request.query, ctx.limits, order) };
}

/** `/v1/me`, `/v1/events` (a page at a time, behind signed cursors) and `/v1/events/count`. */
export function registerEventRoutes(api: FastifyInstance, ctx: EventRoutesContext): void {
  api.get('/v1/me', { schema: { summary: 'Who the token says you are, and which scopes you may ask for (for the web viewer and other clients)', response: { 200: ME_SCHEMA } } }, async (request) => {
    const caller = await ctx.authenticate(request.headers.authorization);
    const everyone = mayViewAllUsers(caller);
    // The same rules as authorizeScope: a client may hide what this says is refused, the routes refuse it anyway.
    const scopes = ['self', ...(caller.workspaces.length > 0 || caller.superAdmin ? ['workspace'] : []), ...(everyone ? ['user', 'all'] : [])];
    return {
      id: caller.id,
      name: caller.name ?? null,
      workspaces: caller.workspaces,
      superAdmin: caller.superAdmin,
      scopes,
      backgroundExports: ctx.backgroundExports,
      limits: {
        rowCap: ctx.rowCap,
        maxPageSize: ctx.maxPageSize,
        defaultWindowDays: ctx.limits.defaultWindowMs / 86_400_000,
        maxRangeDays: ctx.limits.maxRangeMs / 86_400_000,
      },
    };
  });

  api.get<{ Querystring: EventQueryParams & { cursor?: string; limit?: string } }>(
    '/v1/events',
    {
      schema: {
        summary: 'Search events, newest first by default, a page at a time',
        querystring: {
          ...EVENT_QUERY_SCHEMA,
          properties: {
            ...EVENT_QUERY_SCHEMA.properties,
            cursor: { type: 'string', maxLength: 400, description: 'From the previous page' },
            limit: { type: 'string', pattern: '^[0-9]{1,5}$', description: 'Events per page; default 100, at most the service\'s page limit (1000 by default)' },
          },
        },
        response: { 200: PAGE_SCHEMA },
      },
    },
    async (request) => {
      const { caller, parsed } = await authorizedQuery(ctx, request, 'desc');
      const limit = Math.min(Number(request.query.limit ?? 100) || 100, ctx.maxPageSize);
      const binding = queryBinding(parsed, request.query);
      const q: EventQuery = { ...parsed.query, after: ctx.cursors.decode(request.query.cursor, binding, parsed.query), limit };
      const events: AuditEvent[] = [];
      await fromStore(request.log, 'store query', async () => {
        // An event stored before ingest cleaned text (or written around the collector)
        // may hold characters XML forbids; the answer carries the same text as the exports.
        for await (const e of ctx.store.query(q)) events.push(xmlSafeDeep(e));
      });
      const last = events.at(-1);
      // Before the rows leave: a page whose look cannot be recorded is not sent.
      ctx.looks.search(lookSubject(request, caller, parsed), events.length);
      return { events, nextCursor: events.length === limit && last ? ctx.cursors.encode({ time: last.time, id: last.id }, binding) : null };
    },
  );

  api.get<{ Querystring: EventQueryParams }>(
    '/v1/events/count',
    {
      schema: {
        summary: 'How many events match, with the same parameters as /v1/events (to choose a direct or a background export)',
        querystring: EVENT_QUERY_SCHEMA,
        response: { 200: { type: 'object', properties: { count: { type: 'integer' } } } },
      },
    },
    async (request) => {
      // A number only, inside the caller's scope; not recorded as a look at the log (the rows are, when fetched).
      const { parsed } = await authorizedQuery(ctx, request, 'desc');
      return { count: await fromStore(request.log, 'store count', () => ctx.store.count(parsed.query)) };
    },
  );
}
