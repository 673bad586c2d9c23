import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import { VIEWER_CSP } from './web-viewer.js';

/** API answers (JSON, CSV, XLSX, errors) are never pages: nothing may load, run or frame them. */
export const API_CSP = ["default-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"].join(';');

/**
 * Swagger UI (the bundle of @fastify/swagger-ui 5.2) renders one fixed inline `<style>`
 * element; its hash admits that one and no other, where 'unsafe-inline' would admit any.
 * Another Swagger UI may render another: test/docs-page.test.ts fails on the violation.
 */
const SWAGGER_UI_INLINE_STYLE = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='";

/**
 * The API docs (`/docs`, @fastify/swagger-ui): its own scripts and styles from this origin,
 * the OpenAPI document fetched from here, data: icons. Styles Swagger UI sets from script
 * (CSSOM) are not governed by CSP; no validator badge (its `validatorUrl` is null) and
 * nothing from another origin.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  `style-src 'self' ${SWAGGER_UI_INLINE_STYLE}`,
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self' data:",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join(';');

// Joined with ';' as helmet writes the header, so a policy here compares equal to the header sent.

/** Which Content-Security-Policy a route gets, by its path: the one place that decides it. */
export function contentSecurityPolicyFor(url: string): string {
  if (url === '/docs' || url.startsWith('/docs/')) return DOCS_CSP;
  if (url === '/' || url === '/viewer-config.json' || url.startsWith('/assets/')) return VIEWER_CSP;
  return API_CSP;
}

const directives = (csp: string) =>
  Object.fromEntries(csp.split(';').map((d) => {
    const [name, ...values] = d.split(' ');
    return [name!, values];
  }));

/**
 * One header policy for every answer of the service, errors and downloads included
 * (@fastify/helmet): the CSP of the route's kind, nosniff, DENY framing, no referrer
 * (signed links are credentials), and HSTS without includeSubDomains: browsers ignore it
 * over the plain HTTP of a loopback install, and behind a TLS proxy it pins this host only,
 * never the proxy's sibling hosts. Call before any route is registered.
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const csp = contentSecurityPolicyFor(route.url ?? route.path);
    // Set as config, where @fastify/helmet reads a route's own options, whatever the hook order.
    if (csp !== API_CSP) route.config = { ...route.config, helmet: { contentSecurityPolicy: { useDefaults: false, directives: directives(csp) } } } as typeof route.config;
  });
  app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: directives(API_CSP) },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: false },
  });
}
