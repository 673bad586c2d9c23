import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@otel-audit/contract';
import { DirectoryFileStorage, buildExportService, signToken } from '@otel-audit/exporter-service';
import type { ExportJobStore } from '@otel-audit/store';
import { launchChromium, skipBrowser, skipBrowserReason } from './support/chromium.js';
import { elasticsearch } from './support/elasticsearch.js';
import { validEvent } from './support/otlp-json.js';
import { elasticsearchStores, eventually, isolatedDay, listen, sqliteStores, type StorePair } from './support/services.js';

/**
 * The web viewer end to end: the page as `npm run build` makes it, served by a real export
 * service on a real store, driven in Debian's headless chromium through playwright-core.
 */
const SECRET = 'web-viewer-test-secret-of-at-least-32-chars';
const LINK_SECRET = 'web-viewer-link-secret-of-at-least-32-chars';
const SCREENSHOTS = join(process.cwd(), 'test-results', 'screenshots');
/** Direct downloads up to this; the admin's 60-row export goes to the background. */
const ROW_CAP = 30;
const es = elasticsearch();
/** The page is waited for, never timed: a loaded machine (or CI runner) may take seconds to answer. */
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const poll = <T>(probe: () => T | Promise<T>) => expect.poll(probe, { timeout: 30_000, interval: 100 });

const kinds = [
  { name: 'SQLite', open: sqliteStores, enabled: true },
  { name: 'Elasticsearch', open: () => elasticsearchStores(es!), enabled: es !== null },
];

let viewerDir: string;
let browser: Browser;

describe.skipIf(skipBrowser)(`web viewer in headless chromium${skipBrowserReason}`, { timeout: 120_000 }, () => {
  beforeAll(async () => {
    // The sources under test, built as `npm run build` builds them, into a folder of this run.
    viewerDir = mkdtempSync(join(tmpdir(), 'otel-audit-viewer-'));
    await build({
      configFile: join(process.cwd(), 'exporter-service/web/vite.config.ts'),
      logLevel: 'silent',
      build: { outDir: viewerDir, emptyOutDir: true, sourcemap: false },
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    if (viewerDir) rmSync(viewerDir, { recursive: true, force: true });
  });

  for (const kind of kinds) {
    describe.skipIf(!kind.enabled)(`on ${kind.name}`, () => {
      let stores: StorePair;
      let jobs: ExportJobStore;
      let app: FastifyInstance;
      let base: string;
      let range: string;
      let fromIso: string;
      let events: AuditEvent[];
      let exportDir: string;
      const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${kind.name.toLowerCase()}-${name}.png`), fullPage: true });

      beforeAll(async () => {
        stores = await kind.open();
        const day = isolatedDay();
        // 60 events: Alice 24 and Bob 16 in workspace ws-a, Carol 20 in ws-b.
        const people = [
          ...Array.from({ length: 24 }, () => ({ id: 'u-alice', name: 'Alice', ws: 'ws-a' })),
          ...Array.from({ length: 16 }, () => ({ id: 'u-bob', name: 'Bob', ws: 'ws-a' })),
          ...Array.from({ length: 20 }, () => ({ id: 'u-carol', name: 'Carol', ws: 'ws-b' })),
        ];
        events = people.map((p, i) => {
          const token = i % 4 === 0;
          return validEvent({
            time: new Date(day.getTime() + 3_600_000 + i * 60_000).toISOString(),
            actor: { id: p.id, name: p.name, type: 'user' },
            workspace: { id: p.ws },
            action: token ? 'api_token.create' : 'auth.login',
            category: token ? 'iam' : 'authentication',
            outcome: i % 5 === 0 ? 'failure' : 'success',
            client: { ip: `10.0.0.${(i % 250) + 1}` },
            ...(token ? { resource: { type: 'api_token', id: `tok-${i}`, name: `CI token ${i}`, href: `https://app.example.test/tokens/tok-${i}` } } : {}),
            // What changed, shown on the row's details and in the export's last two columns.
            ...(token ? { changes: [{ field: 'scopes', from: ['read'], to: ['read', `write-${i}`] }, { field: 'secret', to: '[REDACTED]' }], metadata: { ttlDays: i, rotated: false } } : {}),
            message: token ? 'API token created' : 'Logged on',
            service: { name: token ? 'tokens-api' : 'login-app' },
            // Three of Bob's events, recorded in one request's trace (one span each).
            ...(i >= 30 && i <= 32 ? { traceId: TRACE_ID, spanId: `00f067aa0ba902b${i - 30}` } : {}),
          });
        });
        await stores.writer.insert(events);
        const to = new Date(day.getTime() + 86_400_000);
        await eventually(() => stores.reader.count({ from: day, to }), (n) => n === events.length);
        fromIso = day.toISOString();
        range = `from=${encodeURIComponent(day.toISOString())}&to=${encodeURIComponent(to.toISOString())}`;
        jobs = stores.exportJobs(`viewer-${kind.name.toLowerCase()}`);
        exportDir = mkdtempSync(join(tmpdir(), 'otel-audit-viewer-exports-'));
        app = buildExportService({
          store: stores.reader,
          auth: { secret: SECRET },
          rowCap: ROW_CAP,
          jobs: { store: jobs, files: new DirectoryFileStorage(exportDir), linkSecret: LINK_SECRET, pollIntervalMs: 200 },
          viewer: { dir: viewerDir },
        });
        base = await listen(app);
      });
      afterAll(async () => {
        await app?.close();
        await jobs?.close();
        await stores?.close();
        if (exportDir) rmSync(exportDir, { recursive: true, force: true });
      });

      /** A fresh browser context (own sessionStorage) in Berlin, signed in through the paste box. */
      async function signedIn(claims: Parameters<typeof signToken>[1], path: string): Promise<{ context: BrowserContext; page: Page; done: () => Promise<void> }> {
        const context = await browser.newContext({ timezoneId: 'Europe/Berlin', locale: 'en-GB', viewport: { width: 1366, height: 800 }, acceptDownloads: true });
        const page = await context.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        page.on('console', (m) => {
          if (m.type() === 'error' && !/status of 40[13]/.test(m.text())) errors.push(m.text());
        });
        await page.goto(`${base}/${path}`);
        await page.getByLabel('Access token').waitFor();
        await shot(page, 'sign-in');
        await page.getByLabel('Access token').fill(await signToken(SECRET, claims));
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByText(/Signed in as/).waitFor();
        const done = async () => {
          expect(errors, 'errors in the page (CSP violations show here too)').toEqual([]);
          await context.close();
        };
        return { context, page, done };
      }

      const rows = (page: Page) => page.locator('#events tr');
      const column = async (page: Page, n: number) => (await page.locator(`#events tr td:nth-child(${n})`).allTextContents()).map((t) => t.trim());
      const summary = (page: Page) => page.locator('#summary');

      it('a regular user sees only their own events, and no All users or User view', async () => {
        const { page, done } = await signedIn({ sub: 'u-carol', name: 'Carol', workspaces: ['ws-b'] }, `?view=self&${range}`);
        await poll(() => summary(page).textContent()).toMatch(/of 20 events/);
        expect(new Set(await column(page, 2))).toEqual(new Set(['Carol']));
        await poll(() => rows(page).count()).toBe(20);
        const nav = page.getByRole('navigation', { name: 'Views' });
        expect(await nav.getByRole('link').allTextContents()).toEqual(['My activity', 'Workspace']);
        expect(await page.locator('#date-header').textContent()).toBe('Date (Europe/Berlin)');
        // The first row is the newest event, shown in Berlin time (UTC+1 or +2 in these decades).
        const newest = events.filter((e) => e.actor.id === 'u-carol').at(-1)!;
        const berlin = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Berlin', dateStyle: 'short', timeStyle: 'medium' }).format(new Date(newest.time));
        expect((await column(page, 1))[0]).toBe(berlin);
        // The sender of each event, last column.
        expect(await column(page, 9)).toEqual(events.filter((e) => e.actor.id === 'u-carol').reverse().map((e) => e.service!.name));
        // A target with an href is a link; its text is the resource's name.
        const link = page.locator('#events a').first();
        expect(await link.getAttribute('href')).toMatch(/^https:\/\/app\.example\.test\/tokens\/tok-\d+$/);
        await shot(page, 'my-activity');
        // The token survives a reload (sessionStorage); the first Tab reaches the skip link, which takes focus to the results.
        await page.reload();
        await poll(() => summary(page).textContent()).toMatch(/of 20 events/);
        await page.keyboard.press('Tab');
        expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to the results');
        await page.keyboard.press('Enter');
        await poll(() => page.evaluate('document.activeElement.id')).toBe('results');

        // 20 rows is a small result: Export CSV downloads at once.
        const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
        const csv = parse(readFileSync((await download.path())!, 'utf8'), { columns: true, bom: true }) as Record<string, string>[];
        expect(csv).toHaveLength(20);
        expect(new Set(csv.map((r) => r['Service']))).toEqual(new Set(['tokens-api', 'login-app']));
        expect(new Set(csv.map((r) => r['User ID']))).toEqual(new Set(['u-carol']));
        // A row's details show the same text as the export's Changes and Metadata cells.
        const withChanges = csv.filter((r) => r['Changes'] !== '');
        expect(withChanges).toHaveLength(5);
        expect(withChanges[0]!['Changes']).toMatch(/^scopes: \["read"\] → \["read","write-\d+"\]\nsecret: → \[REDACTED\]$/);
        const details = page.locator('#events details.event-details');
        expect(await details.count()).toBe(5);
        await details.first().locator('summary').click();
        expect(await details.first().locator('[data-column="changes"]').isVisible()).toBe(true);
        const shown = async (col: string) => (await page.locator(`#events [data-column="${col}"]`).allTextContents()).sort();
        expect(await shown('changes')).toEqual(withChanges.map((r) => r['Changes']).sort());
        expect(await shown('metadata')).toEqual(withChanges.map((r) => r['Metadata']).sort());
        await shot(page, 'row-details');

        // Asking for every user by URL is refused by the service, not just hidden by the page.
        await page.goto(`${base}/?view=all&${range}`);
        await poll(() => page.getByRole('alert').first().textContent()).toMatch(/not allowed to see this scope/);
        expect(await rows(page).count()).toBe(0);
        await shot(page, 'all-users-refused');
        await done();
      });

      it("a workspace member sees the team's events, and only that workspace's", async () => {
        const { page, done } = await signedIn({ sub: 'u-alice', name: 'Alice', workspaces: ['ws-a'] }, `?${range}`);
        await page.getByRole('link', { name: 'Workspace' }).click();
        await poll(() => summary(page).textContent()).toMatch(/of 40 events/);
        expect(page.url()).toContain('view=workspace');
        expect(page.url()).toContain('workspace=ws-a');
        expect(await page.getByLabel('Workspace', { exact: true }).inputValue()).toBe('ws-a');
        expect(new Set(await column(page, 2))).toEqual(new Set(['Alice', 'Bob']));
        expect(new Set(await column(page, 3))).toEqual(new Set(['ws-a']));
        await shot(page, 'workspace');
        await done();
      });

      it('an admin runs an all-users background export, watches it complete, downloads it and gets every row', async () => {
        const { page, done } = await signedIn(
          { sub: 'u-auditor', name: 'Audrey Auditor', permissions: ['users:view', 'security-logs:view'] },
          `?view=all&${range}`,
        );
        await poll(() => summary(page).textContent()).toMatch(/Showing 1–50 of 60 events/);
        expect(await rows(page).count()).toBe(50);
        await page.getByRole('button', { name: 'Next page' }).click();
        await poll(() => summary(page).textContent()).toMatch(/Showing 51–60 of 60 events/);
        await page.getByRole('button', { name: 'Previous page' }).click();
        await poll(() => summary(page).textContent()).toMatch(/Showing 1–50/);

        const status = page.locator('#export-status');
        expect(await status.getAttribute('aria-live')).toBe('polite');
        // Every text the live region shows, recorded in the page: a 60-row export can finish
        // between two polls, and the test is about what the user was shown, not when it was read.
        await page.evaluate(`(() => {
          const region = document.querySelector('#export-status');
          window.__statusTexts = [];
          new MutationObserver(() => window.__statusTexts.push(region.textContent)).observe(region, { childList: true, subtree: true, characterData: true });
        })()`);
        await page.getByRole('button', { name: 'Export CSV' }).click();
        await poll(async () => ((await page.evaluate('window.__statusTexts')) as string[]).join('\n')).toMatch(/compiling in the background/);
        // The page keeps working while the export runs.
        await page.getByLabel('Outcome').selectOption('failure');
        await page.getByRole('button', { name: 'Apply filters' }).click();
        await poll(() => summary(page).textContent()).toMatch(/of 12 events/);

        await status.getByText('Click on the link and download the file. This link is available for 24 hours.').waitFor({ timeout: 60_000 });
        expect(await status.textContent()).toMatch(/The link expires at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(Europe\/Berlin\)/);
        await shot(page, 'all-users-export-ready');
        const [download] = await Promise.all([page.waitForEvent('download'), status.getByRole('link', { name: /Download the CSV file \(60 rows\)/ }).click()]);
        expect(download.suggestedFilename()).toMatch(/^audit-log_all-users_.*\.csv$/);
        const csv = parse(readFileSync((await download.path())!, 'utf8'), { columns: true, bom: true }) as Record<string, string>[];
        expect(csv).toHaveLength(60);
        expect(new Set(csv.map((r) => r['User ID']))).toEqual(new Set(['u-alice', 'u-bob', 'u-carol']));
        await done();
      });

      it('filters change the table and the URL, and the URL brings the same view back', async () => {
        const { page, done } = await signedIn({ sub: 'u-auditor', permissions: ['users:view', 'security-logs:view'] }, `?view=all&${range}`);
        await poll(() => summary(page).textContent()).toMatch(/of 60 events/);

        await page.getByLabel('Action').fill('api_token.*');
        await page.getByLabel('User', { exact: true }).fill('u-bob');
        await page.getByRole('button', { name: 'Apply filters' }).click();
        const bobTokens = events.filter((e) => e.actor.id === 'u-bob' && e.action === 'api_token.create');
        await poll(() => summary(page).textContent()).toMatch(new RegExp(`of ${bobTokens.length} events`));
        const url = new URL(page.url());
        expect(url.searchParams.get('action')).toBe('api_token.*');
        expect(url.searchParams.get('actor')).toBe('u-bob');
        // The dates were not touched: the range stays the shared one, not re-read as Berlin days.
        expect(url.searchParams.get('from')).toBe(fromIso);
        expect(new Set(await column(page, 2))).toEqual(new Set(['Bob']));
        expect((await column(page, 4)).every((a) => a.startsWith('api_token.create'))).toBe(true);

        await page.getByLabel('Text').fill('nothing-matches-this');
        await page.getByLabel('Text').press('Enter');
        await poll(() => summary(page).textContent()).toMatch(/No events match/);
        expect(new URL(page.url()).searchParams.get('q')).toBe('nothing-matches-this');
        await page.goBack();
        await poll(() => summary(page).textContent()).toMatch(new RegExp(`of ${bobTokens.length} events`));

        // Times switch to UTC, named, and the choice is part of the URL too.
        await page.getByLabel('Times in').selectOption('utc');
        await poll(() => page.locator('#date-header').textContent()).toBe('Date (UTC)');
        expect(new URL(page.url()).searchParams.get('tz')).toBe('utc');
        const newest = bobTokens.at(-1)!;
        await poll(async () => (await column(page, 1))[0]).toBe(newest.time.slice(0, 19).replace('T', ' '));
        await shot(page, 'filters');

        // Shared: the same URL in a new tab (signed in again) shows the same view.
        const shared = page.url();
        const other = await signedIn({ sub: 'u-auditor', permissions: ['users:view', 'security-logs:view'] }, new URL(shared).search);
        await poll(() => summary(other.page).textContent()).toMatch(new RegExp(`of ${bobTokens.length} events`));
        expect(await other.page.getByLabel('Action').inputValue()).toBe('api_token.*');
        expect(await other.page.getByLabel('User', { exact: true }).inputValue()).toBe('u-bob');
        await other.done();
        await done();
      });

      it('a trace link narrows the view to that trace; the Trace ID filter and the URL keep it', async () => {
        const { page, done } = await signedIn({ sub: 'u-auditor', permissions: ['users:view', 'security-logs:view'] }, `?view=all&${range}`);
        await poll(() => summary(page).textContent()).toMatch(/of 60 events/);
        // Only traced events have a link in the Trace column; it shows the trace's first digits.
        const traceLinks = page.locator('#events td:nth-child(10) a');
        await poll(() => traceLinks.count()).toBe(3);
        expect(await traceLinks.first().textContent()).toBe(`${TRACE_ID.slice(0, 8)}…`);
        expect(await traceLinks.first().getAttribute('title')).toContain(TRACE_ID);
        await traceLinks.first().click();
        await poll(() => summary(page).textContent()).toMatch(/of 3 events/);
        expect(new URL(page.url()).searchParams.get('traceId')).toBe(TRACE_ID);
        expect(new URL(page.url()).searchParams.get('from')).toBe(fromIso);
        expect(await page.getByLabel('Trace ID').inputValue()).toBe(TRACE_ID);
        expect(new Set(await column(page, 2))).toEqual(new Set(['Bob']));
        await shot(page, 'trace');

        // The export of this view is the trace's events, with the ids in their columns.
        const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
        const csv = parse(readFileSync((await download.path())!, 'utf8'), { columns: true, bom: true }) as Record<string, string>[];
        expect(csv.map((r) => r['Trace ID'])).toEqual([TRACE_ID, TRACE_ID, TRACE_ID]);
        expect(new Set(csv.map((r) => r['Span ID']))).toEqual(new Set(['00f067aa0ba902b0', '00f067aa0ba902b1', '00f067aa0ba902b2']));

        // Typed in upper case, as some tools show it: the same trace.
        await page.getByLabel('Trace ID').fill(TRACE_ID.toUpperCase());
        await page.getByRole('button', { name: 'Apply filters' }).click();
        await poll(() => summary(page).textContent()).toMatch(/of 3 events/);
        await page.getByLabel('Trace ID').fill('');
        await page.getByRole('button', { name: 'Apply filters' }).click();
        await poll(() => summary(page).textContent()).toMatch(/of 60 events/);
        expect(new URL(page.url()).searchParams.has('traceId')).toBe(false);
        await done();
      });

      it('behind a front door (simulated: a proxy that adds the bearer header, no identity provider runs here) the page shows no token box', async () => {
        const frontDoorApp = buildExportService({ store: stores.reader, auth: { secret: SECRET }, viewer: { dir: viewerDir, signIn: 'front-door' } });
        const upstream = new URL(await listen(frontDoorApp));
        const token = await signToken(SECRET, { sub: 'u-bob', name: 'Bob', workspaces: ['ws-a'] });
        // What oauth2-proxy does after its sign-in: every request forwarded with Authorization set.
        const door = createServer((req, res) => {
          const forward = httpRequest(
            { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, authorization: `Bearer ${token}` } },
            (answer) => {
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(res);
            },
          );
          req.pipe(forward);
        });
        await new Promise<void>((r) => door.listen(0, '127.0.0.1', r));
        try {
          const context = await browser.newContext({ timezoneId: 'Europe/Berlin', viewport: { width: 1366, height: 800 } });
          const page = await context.newPage();
          await page.goto(`http://127.0.0.1:${(door.address() as AddressInfo).port}/?${range}`);
          await page.getByText('Signed in as Bob (u-bob)').waitFor();
          await poll(() => summary(page).textContent()).toMatch(/of 16 events/);
          expect(await page.getByLabel('Access token').isVisible()).toBe(false);
          expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(false);
          // The page itself never holds the token.
          expect(await page.evaluate('JSON.stringify(sessionStorage)')).toBe('{}');
          await shot(page, 'front-door');
          await context.close();
        } finally {
          await new Promise<void>((r) => door.close(() => r()));
          await frontDoorApp.close();
        }
      });

      it('a token the service refuses keeps the sign-in box, with the reason', async () => {
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(`${base}/`);
        const forged = await signToken('another-secret-that-is-at-least-32-chars', { sub: 'u-mallory' });
        await page.getByLabel('Access token').fill(forged);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await poll(() => page.locator('#sign-in-error').textContent()).toMatch(/not accepted: it is invalid or has expired/);
        expect(await page.locator('#viewer').isVisible()).toBe(false);
        expect(await page.evaluate('JSON.stringify(sessionStorage)')).toBe('{}');
        await context.close();
      });

      it('the User view shows one user, after the admin names them', async () => {
        const { page, done } = await signedIn({ sub: 'u-auditor', permissions: ['users:view', 'security-logs:view'] }, `?view=user&${range}`);
        await poll(() => summary(page).textContent()).toMatch(/Enter a user ID/);
        await page.getByLabel('User ID').fill('u-alice');
        await page.getByRole('button', { name: 'Apply filters' }).click();
        await poll(() => summary(page).textContent()).toMatch(/of 24 events/);
        expect(new URL(page.url()).searchParams.get('user')).toBe('u-alice');
        expect(new Set(await column(page, 2))).toEqual(new Set(['Alice']));
        await shot(page, 'user');
        await done();
      });
    });
  }
});
