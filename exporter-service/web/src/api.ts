/** The export service's API as the page uses it: same origin, the token (if the page holds one) as a bearer header. */
import type { AuditEvent } from '@otel-audit/contract';

export interface Me {
  id: string;
  name: string | null;
  workspaces: string[];
  superAdmin: boolean;
  scopes: string[];
  backgroundExports: boolean;
  limits: { rowCap: number; maxPageSize: number; defaultWindowDays: number; maxRangeDays: number };
}

export interface EventPage {
  events: AuditEvent[];
  nextCursor: string | null;
}

export interface ExportStatus {
  id: string;
  status: 'queued' | 'running' | 'done' | 'failed' | 'expired';
  format: 'csv' | 'xlsx';
  rowsWritten: number;
  total: number | null;
  percent: number | null;
  expiresAt: string | null;
  linkTtlHours: number;
  downloadUrl?: string;
  error?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Api {
  /** `getToken` returns null behind an authenticating front door, which adds the header itself. */
  constructor(private readonly getToken: () => string | null) {}

  async #request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const token = this.getToken();
    if (token) headers.set('authorization', `Bearer ${token}`);
    let res: Response;
    try {
      res = await fetch(path, { ...init, headers, credentials: 'same-origin', cache: 'no-store' });
    } catch {
      throw new ApiError(0, 'NETWORK', 'The export service cannot be reached. Check your connection and try again.');
    }
    if (res.ok) return res;
    const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    throw new ApiError(res.status, body?.error?.code ?? `HTTP_${res.status}`, body?.error?.message ?? `The service answered ${res.status}.`);
  }

  async #json<T>(path: string, init?: RequestInit): Promise<T> {
    return (await (await this.#request(path, init)).json()) as T;
  }

  me(): Promise<Me> {
    return this.#json('/v1/me');
  }

  events(params: Record<string, string>, cursor: string | null, limit: number): Promise<EventPage> {
    return this.#json(`/v1/events?${query({ ...params, limit: String(limit), ...(cursor ? { cursor } : {}) })}`);
  }

  async count(params: Record<string, string>): Promise<number> {
    return (await this.#json<{ count: number }>(`/v1/events/count?${query(params)}`)).count;
  }

  /** A direct download, as a Blob and the file name the service chose. */
  async download(format: 'csv' | 'xlsx', params: Record<string, string>): Promise<{ blob: Blob; name: string }> {
    const res = await this.#request(`/v1/exports/events.${format}?${query(params)}`);
    const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? `audit-log.${format}`;
    return { blob: await res.blob(), name };
  }

  startExport(format: 'csv' | 'xlsx', params: Record<string, string>): Promise<{ id: string; statusUrl: string }> {
    return this.#json('/v1/exports', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...params, format }) });
  }

  exportStatus(statusUrl: string): Promise<ExportStatus> {
    return this.#json(statusUrl);
  }
}

const query = (params: Record<string, string>) => new URLSearchParams(params).toString();
