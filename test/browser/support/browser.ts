// Debian's Chromium driven by playwright-core (no downloaded browser: `npx playwright install` needs the
// internet). Launched headless with the flags that keep it off the network (PITFALLS: Browsers), with a fresh
// profile per run.
import { existsSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface Browser {
  /** A new window with its own cookies and storage, as a separate person would have. */
  newContext(options?: { width?: number; height?: number }): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  // Playwright gives the browser a new, empty profile in a temp dir of its own and removes it on close.
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  return {
    async newContext({ width = 1100, height = 720 } = {}) {
      return browser.newContext({ viewport: { width, height } });
    },
    async close() {
      await browser.close().catch(() => undefined);
    },
  };
}
