// One person's browser window on the web client, driven the way a person uses it: labels, buttons and keys.
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { setTimeout as sleep } from 'node:timers/promises';

export const PASSWORD = 'correct horse battery';

export interface Shown {
  seq: number;
  body: string;
}

/** Retries `check` (which throws while its assertions fail) until it passes or `timeoutMs` runs out. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > until) throw error;
      await sleep(everyMs);
    }
  }
}

export class ChatPage {
  /** Console errors the page logged (a CSP violation shows up here). */
  readonly consoleErrors: string[] = [];
  /** Content-Encoding of each built asset the browser fetched, by path. */
  readonly assetEncodings = new Map<string, string | undefined>();

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on('console', (message) => {
      if (message.type() === 'error') this.consoleErrors.push(`${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => this.consoleErrors.push(`pageerror: ${error.message}`));
    page.on('response', (response) => {
      const { pathname } = new URL(response.url());
      if (pathname.startsWith('/assets/')) this.assetEncodings.set(pathname, response.headers()['content-encoding']);
    });
  }

  static async open(context: BrowserContext, url: string): Promise<ChatPage> {
    const chat = new ChatPage(context, await context.newPage());
    chat.page.setDefaultTimeout(10_000);
    await chat.page.goto(url);
    return chat;
  }

  get banner(): Locator {
    return this.page.locator('.banner');
  }

  get composer(): Locator {
    return this.page.getByLabel('Message', { exact: true });
  }

  async register(username: string, displayName: string): Promise<void> {
    await this.page.getByLabel('Username').fill(username);
    await this.page.getByLabel('Password').fill(PASSWORD);
    await this.page.getByLabel('Display name (new accounts, optional)').fill(displayName);
    await this.page.getByRole('button', { name: 'Create account' }).click();
    await this.waitConnected();
  }

  async waitConnected(timeoutMs = 20_000): Promise<void> {
    await this.page.locator('.banner[data-state="connected"]').waitFor({ timeout: timeoutMs });
  }

  /** Finds a person by username and opens the direct conversation with them. */
  async messageDirect(username: string, displayName: string): Promise<void> {
    await this.page.getByLabel('Find people').fill(username);
    await this.page.getByRole('button', { name: `Message ${displayName} (@${username})` }).click();
    await this.page.locator('#conversation-title', { hasText: displayName }).waitFor();
  }

  async openConversation(title: string): Promise<void> {
    await this.conversationButton(title).click();
    await this.page.locator('#conversation-title', { hasText: title }).waitFor();
  }

  conversationButton(title: string): Locator {
    return this.page.locator('button.conversation', { has: this.page.locator('.title', { hasText: title }) });
  }

  /** Types into the composer and presses Enter, as a person sends. */
  async send(body: string): Promise<void> {
    await this.composer.fill(body);
    await this.composer.press('Enter');
  }

  /** The messages the log shows, in screen order. */
  async shown(): Promise<Shown[]> {
    return this.page.locator('.log article[data-seq]').evaluateAll((elements) =>
      elements.map((element) => ({
        seq: Number(element.getAttribute('data-seq')),
        body: element.querySelector('.body')?.textContent ?? '',
      })),
    );
  }

  async pendingCount(): Promise<number> {
    return this.page.locator('.log article.pending').count();
  }

  async openMembers(): Promise<void> {
    const toggle = this.page.getByRole('button', { name: /^Members \(\d+\)$/ });
    if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
  }

  async memberNames(): Promise<string[]> {
    return this.page.locator('.member-list li .name').allTextContents();
  }
}
