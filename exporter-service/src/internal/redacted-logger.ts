import type { FastifyRequest, FastifyServerOptions } from 'fastify';

/** Query parameters that are credentials: a signed download link's `signature`, any token, key or secret. */
const CREDENTIAL_PARAM = /signature|token|secret|password|passwd|api[-_]?key|^key$|^sig$|^code$/i;
export const REDACTED = '[REDACTED]';

/** The URL with the value of every credential-like query parameter replaced; the rest untouched. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // A malformed escape: judge the name as written.
      }
      return eq >= 0 && CREDENTIAL_PARAM.test(name) ? `${rawName}=${REDACTED}` : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

type LoggerOption = FastifyServerOptions['logger'];
type ReqSerializer = (req: FastifyRequest) => unknown;

/** Fastify's own request fields, as its default serializer logs them. */
function fastifyReqFields(req: FastifyRequest): Record<string, unknown> {
  return {
    method: req.method,
    url: req.url,
    version: req.headers?.['accept-version'],
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/**
 * The caller's logger options with request URLs redacted in every line (signed download
 * links are bearer credentials). Wraps the caller's own `req` serializer if there is one,
 * so no logger configuration can bring the signature back.
 */
export function withRedactedUrls(logger: LoggerOption): LoggerOption {
  if (logger === undefined || logger === false) return false;
  const options = logger === true ? {} : logger;
  const given = options.serializers?.req as ReqSerializer | undefined;
  const req = (request: FastifyRequest): unknown => {
    const value = given ? given(request) : fastifyReqFields(request);
    if (typeof value !== 'object' || value === null) return value;
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const key of ['url', 'originalUrl', 'path']) if (typeof out[key] === 'string') out[key] = redactUrl(out[key]);
    return out;
  };
  return { ...options, serializers: { ...options.serializers, req } } as LoggerOption;
}
