import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EventCursor } from '@otel-audit/store';
import { ExportError } from '../errors.js';
import type { ParsedEventQuery } from './event-query.js';

/** Domain separation: the same secret signs download links, and neither may pass for the other. */
const CURSOR_KEY_LABEL = 'otel-audit/v1/events cursor';

/** The cursor key from a shared secret (`cursorSecret`, else the download-link secret). */
export function cursorKey(secret: string | undefined): Buffer {
  // No shared secret: a key of this process only. Cursors then fail on another replica or
  // after a restart (the client starts again from the first page), never open a wider query.
  if (secret === undefined) return randomBytes(32);
  return createHmac('sha256', secret).update(CURSOR_KEY_LABEL).digest();
}

/**
 * What a cursor is bound to: the scope, the effective filter (with the scope's own
 * conditions, so another caller's `self` differs), the sort, and `from`/`to` as the client
 * gave them. Omitted bounds are bound as omitted, so a default window that slides between
 * two pages keeps the cursor valid.
 */
export function queryBinding(parsed: ParsedEventQuery, given: { from?: string | undefined; to?: string | undefined }): string {
  const { query } = parsed;
  const material = JSON.stringify([
    parsed.scope,
    query.filter ?? {},
    query.order,
    given.from ? query.from.toISOString() : null,
    given.to ? query.to.toISOString() : null,
  ]);
  return createHash('sha256').update(material).digest('base64url');
}

const invalid = () => new ExportError('AUDIT_ERR_INVALID_QUERY', 'cursor is not one this service issued for this query');

/**
 * Opaque to clients: `<base64url JSON [time, id]>.<HMAC-SHA256 of it and the query binding>`.
 * Signed, because the stores use the position as a range bound (SQLite seeks from it): an
 * unsigned one could move a page outside `from`/`to` and past the range limit.
 */
export class EventCursorCodec {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    this.#key = key;
  }

  encode(c: EventCursor, binding: string): string {
    const body = Buffer.from(JSON.stringify([c.time, c.id])).toString('base64url');
    return `${body}.${this.#mac(body, binding).toString('base64url')}`;
  }

  /** The position, checked against the signature, the query and the range it must lie in. */
  decode(raw: string | undefined, binding: string, range: { from: Date; to: Date; order?: 'asc' | 'desc' | undefined }): EventCursor | undefined {
    if (!raw) return undefined;
    const [body, mac, extra] = raw.split('.');
    if (!body || !mac || extra !== undefined) throw invalid();
    const given = Buffer.from(mac, 'base64url');
    const expected = this.#mac(body, binding);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
    let position: unknown;
    try {
      position = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw invalid();
    }
    if (!Array.isArray(position)) throw invalid();
    const [time, id] = position as unknown[];
    const t = typeof time === 'string' ? Date.parse(time) : Number.NaN;
    if (typeof id !== 'string' || Number.isNaN(t)) throw invalid();
    // Belt and braces behind the signature: the position must lie inside the range. Past the
    // end the reading goes (before `from` descending, from `to` on ascending) the page is
    // just empty, which is also where a default window that slid on leaves a cursor.
    const widens = range.order === 'desc' ? t >= range.to.getTime() : t < range.from.getTime();
    if (widens) throw new ExportError('AUDIT_ERR_INVALID_QUERY', 'cursor lies outside the from–to range of this query');
    return { time: time as string, id };
  }

  #mac(body: string, binding: string): Buffer {
    return createHmac('sha256', this.#key).update(`${body}\n${binding}`).digest();
  }
}
