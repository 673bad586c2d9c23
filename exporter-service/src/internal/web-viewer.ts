import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';

export type ViewerSignIn = 'token' | 'front-door';

/** The web viewer (`ExportServiceOptions.viewer`). */
export interface WebViewerOptions {
  /** Folder of the built page (`index.html`, `assets/`). Default: `dist/web` of this package, where `npm run build` puts it. */
  dir?: string;
  /**
   * `token`: the page asks for a bearer token and keeps it in the tab's sessionStorage
   * (development, embedded). `front-door`: an authenticating proxy in front of the service
   * adds `Authorization` to every request, so the page shows no token box. Default: `token`.
   */
  signIn?: ViewerSignIn;
}

export const WEB_VIEWER_DEFAULTS = {
  dir: fileURLToPath(new URL('../web/', import.meta.url)),
  signIn: 'token',
} as const;

/**
 * No inline script or style, nothing from another origin: a value in an event that slips
 * past the page's escaping still cannot run. `connect-src 'self'` keeps the token on this origin.
 */
export const VIEWER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join(';');

/** Serves the built page at `/`, its assets under `/assets/` and `/viewer-config.json` (the paths security-headers.ts gives VIEWER_CSP). */
export function webViewer(opts: WebViewerOptions): FastifyPluginAsync {
  const dir = opts.dir ?? WEB_VIEWER_DEFAULTS.dir;
  const signIn = opts.signIn ?? WEB_VIEWER_DEFAULTS.signIn;
  return async (app: FastifyInstance) => {
    // Its headers (VIEWER_CSP, nosniff, no referrer, no framing) come from the service-wide
    // policy, internal/security-headers.ts, which knows these routes by their paths.
    app.get('/viewer-config.json', { schema: { hide: true } }, async () => ({ signIn }));

    const built = existsSync(join(dir, 'index.html'));
    if (!built) {
      app.log.warn({ dir }, 'the web viewer is not built (npm run build); / answers 404 until it is');
      app.get('/', { schema: { hide: true } }, async (_request, reply) =>
        reply.status(404).type('text/plain; charset=utf-8').send('The web viewer is not built: run `npm run build`, then restart the service.\n'),
      );
      return;
    }
    await app.register(fastifyStatic, {
      root: join(dir, 'assets'),
      prefix: '/assets/',
      index: false,
      // File names carry a content hash: a new build is a new name.
      immutable: true,
      maxAge: '365d',
    });
    app.get('/', { schema: { hide: true } }, async (_request, reply) => {
      reply.header('cache-control', 'no-cache');
      return reply.sendFile('index.html', dir, { cacheControl: false });
    });
  };
}
