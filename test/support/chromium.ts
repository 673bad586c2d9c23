import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium (`apt-get install -y chromium`), or CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// In CI a missing browser is a failure (the launch throws), never a skip.
export const skipBrowser = !existsSync(CHROMIUM) && process.env.CI !== 'true';
/** Appended to a suite's name, so a skipped run says why. */
export const skipBrowserReason = skipBrowser ? ` (skipped: no ${CHROMIUM}; apt-get install -y chromium)` : '';

/**
 * Headless, as root in CI (no sandbox), and without background networking: this machine's
 * closed network refuses chromium's own connections, many at a time.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
