import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExportService } from '@otel-audit/exporter-service';
import { SqliteStore } from '@otel-audit/store';
import { launchChromium, skipBrowser, skipBrowserReason } from './support/chromium.js';
import { listen } from './support/services.js';

/** The API docs page under the service's Content-Security-Policy, in Debian's headless chromium. */

describe.skipIf(skipBrowser)(`API docs page in headless chromium${skipBrowserReason}`, { timeout: 120_000 }, () => {
  let browser: Browser;
  let dir: string;
  let store: SqliteStore;
  let app: ReturnType<typeof buildExportService>;
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-docs-'));
    store = new SqliteStore({ path: join(dir, 'audit.sqlite') });
    app = buildExportService({ store, auth: { secret: 'docs-page-test-secret-of-at-least-32-chars' } });
    base = await listen(app);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('renders the operations list with no CSP violation', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const violations: string[] = [];
      const failures: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      page.on('pageerror', (e) => failures.push(e.message));
      // Runs before the page's own scripts, and outside its CSP (DevTools protocol).
      // As a string: this project's TypeScript has no DOM types.
      await page.addInitScript(
        "window.cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));",
      );
      const res = await page.goto(`${base}/docs`);
      expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
      // Swagger UI fetched the OpenAPI document and drew one block per operation.
      await expect.poll(() => page.locator('.opblock-summary-path').allTextContents(), { timeout: 30_000, interval: 100 }).toEqual(
        expect.arrayContaining(['/v1/events', '/v1/events/count', '/v1/exports/events.csv', '/v1/exports/events.xlsx', '/v1/me']),
      );
      // Opening an operation runs more of the UI (its parameters table, its styles).
      await page.locator('.opblock-summary-path', { hasText: /^\/v1\/events$/ }).click();
      await expect.poll(() => page.locator('.parameters-container .parameter__name').count(), { timeout: 30_000, interval: 100 }).toBeGreaterThan(3);
      expect(await page.evaluate('window.cspViolations')).toEqual([]);
      expect(violations).toEqual([]);
      expect(failures).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
