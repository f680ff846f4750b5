// The web client in a real browser (Debian's Chromium via playwright-core) against a real PM2 cluster of two
// instances started from ecosystem.config.js --env production. The windows are separate browser contexts (own
// cookies and storage), i.e. separate people. The steps build on each other, as a person's session does: the
// users registered in the first test chat in the later ones.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCluster, type Cluster } from '../cluster/support/cluster.js';
import { requestFresh } from '../cluster/support/http.js';
import { TEST_HEALTH_TOKEN } from '../support/services.js';
import { launchBrowser, type Browser } from './support/browser.js';
import { ChatPage, eventually, type Shown } from './support/chat-page.js';
import { fetchRaw } from '../support/raw-http.js';
import { png } from '../support/attachments.js';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
// PARLEY_SCREENSHOTS_DIR=docs/screenshots refreshes the README's pictures; by default they go to a temp dir.
const SCREENSHOTS = process.env.PARLEY_SCREENSHOTS_DIR ?? mkdtempSync(path.join(os.tmpdir(), 'parley-screens-'));

describe('Web client in Chromium against a PM2 cluster', function () {
  this.timeout(180_000);
  let cluster: Cluster;
  let browser: Browser;
  let alice: ChatPage;
  let bob: ChatPage;
  const pages: ChatPage[] = [];
  const attachmentsDir = mkdtempSync(path.join(os.tmpdir(), 'parley-browser-attachments-'));

  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    // Uploads go to a directory of this run's, not the checkout's .data/.
    [cluster, browser] = await Promise.all([startCluster({ ATTACHMENTS_DIR: attachmentsDir }), launchBrowser()]);
  });

  after(async () => {
    await browser?.close();
    await cluster?.stop();
    rmSync(attachmentsDir, { recursive: true, force: true });
  });

  async function openWindow(size?: { width: number; height: number }): Promise<ChatPage> {
    const page = await ChatPage.open(await browser.newContext(size), cluster.url);
    pages.push(page);
    return page;
  }

  it('serves the page and its assets as a CDN expects: hashed and immutable, index revalidated, brotli and gzip, its own CSP', async () => {
    const index = await fetchRaw(`${cluster.url}/`, { 'accept-encoding': 'identity' });
    expect(index.status).to.equal(200);
    expect(index.headers['content-type']).to.equal('text/html; charset=utf-8');
    expect(index.headers['cache-control']).to.equal('no-cache');
    const csp = String(index.headers['content-security-policy']);
    expect(csp).to.include("default-src 'none'").and.include("script-src 'self'").and.include("connect-src 'self'");
    expect(csp).not.to.match(/unsafe-inline|unsafe-eval|\*/);
    expect(index.headers['x-content-type-options']).to.equal('nosniff');
    const again = await fetchRaw(`${cluster.url}/`, {
      'accept-encoding': 'identity',
      'if-none-match': String(index.headers.etag),
    });
    expect(again.status).to.equal(304);

    const assets = [...index.body.toString('utf8').matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map(
      (match) => match[1]!,
    );
    expect(assets.some((asset) => asset.endsWith('.js'))).to.equal(true);
    expect(assets.some((asset) => asset.endsWith('.css'))).to.equal(true);
    for (const asset of assets) {
      expect(asset).to.match(/-[A-Za-z0-9_-]{8}\.(js|css|svg)$/, 'content-hashed name');
      const plain = await fetchRaw(cluster.url + asset, { 'accept-encoding': 'identity' });
      expect(plain.status).to.equal(200);
      expect(plain.headers['cache-control']).to.equal('public, max-age=31536000, immutable');
      expect(plain.headers['content-type']).to.equal(
        { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml' }[
          asset.split('.').pop()!
        ],
      );
      expect(plain.headers.vary).to.include('Accept-Encoding');
      for (const [accept, encoding] of [
        ['br, gzip', 'br'],
        ['gzip', 'gzip'],
        ['gzip;q=0.5, br;q=0.1', 'gzip'],
      ]) {
        const packed = await fetchRaw(cluster.url + asset, { 'accept-encoding': accept! });
        expect(packed.headers['content-encoding'], `${asset} for ${accept}`).to.equal(encoding);
        expect(packed.decoded().equals(plain.body), `${asset} ${encoding} decodes to the file`).to.equal(true);
        expect(packed.body.length).to.be.below(plain.body.length);
      }
    }
    const head = await fetchRaw(cluster.url + assets[0]!, { 'accept-encoding': 'identity' }, 'HEAD');
    expect(head.status).to.equal(200);
    expect(head.body.length).to.equal(0);

    // The API, health and socket.io keep their own answers.
    const api = await fetchRaw(`${cluster.url}/api/me`, {});
    expect(api.status).to.equal(401);
    expect(api.headers['content-type']).to.match(/application\/json/);
    expect(api.headers['content-security-policy']).not.to.equal(csp);
    expect((await fetchRaw(`${cluster.url}/assets/nothing-12345678.js`, {})).status).to.equal(404);
    expect((await fetchRaw(`${cluster.url}/`, {}, 'POST')).status).to.equal(404);
  });

  it('two people register through the page, each on a different PM2 instance, and chat: delivery, typing, presence, seen by', async () => {
    alice = await openWindow();
    bob = await openWindow();
    await alice.register('alice', 'Alice');
    await bob.register('bob', 'Bob');
    await onDifferentInstances(cluster, bob);
    // Chromium asks for `gzip, deflate, br, zstd`: it gets the brotli copies.
    expect([...alice.assetEncodings.values()])
      .to.have.length.above(1)
      .and.satisfy((encodings: unknown[]) => encodings.every((value) => value === 'br'));

    await alice.messageDirect('bob', 'Bob');
    // Bob's window learns of the new conversation from the server.
    await bob.conversationButton('Alice').waitFor();
    await bob.openConversation('Alice');
    await watchLayoutShift(bob);

    const sentAt = Date.now();
    await alice.send('Hello Bob, this is Alice.');
    await bob.page
      .locator('.log article[data-seq] .body', { hasText: 'Hello Bob, this is Alice.' })
      .waitFor({ timeout: 5_000 });
    console.log(
      `      delivery, typed in one window to shown in the other (another PM2 instance): ${Date.now() - sentAt} ms`,
    );

    // Bob has it open and visible, so he has read it: Alice sees it.
    await alice.page.locator('.seen', { hasText: 'Seen by Bob' }).waitFor();
    // Typing shows while Bob types and goes when he sends.
    await bob.composer.pressSequentially('Hi Ali', { delay: 20 });
    await alice.page.locator('.typing', { hasText: 'Bob is typing…' }).waitFor();
    await bob.send('Hi Alice!\nTwo lines.');
    await alice.page.locator('.log article[data-seq] .body', { hasText: 'Two lines.' }).waitFor();
    await eventually(async () => expect(await alice.page.locator('.typing').textContent()).to.equal(''));
    // Shift+Enter made a new line, not a send.
    await bob.composer.pressSequentially('first line');
    await bob.composer.press('Shift+Enter');
    await bob.composer.pressSequentially('second line');
    await bob.composer.press('Enter');
    await alice.page.locator('.log article[data-seq] .body', { hasText: 'first line\nsecond line' }).waitFor();
    // Presence: each sees the other online in the conversation's header.
    await alice.page.locator('#conversation-title [data-status="online"]').waitFor();
    await bob.page.locator('#conversation-title [data-status="online"]').waitFor();

    expect((await alice.shown()).map((shown) => shown.body)).to.deep.equal([
      'Hello Bob, this is Alice.',
      'Hi Alice!\nTwo lines.',
      'first line\nsecond line',
    ]);
    expect(await layoutShift(bob), 'layout shift while messages arrived').to.equal(0);
    await alice.page.screenshot({ path: path.join(SCREENSHOTS, 'conversation.png') });
    expectNoConsoleErrors(alice, bob);
  });

  it('pm2 reload while both type: every message appears exactly once in both windows, in seq order, and the banner is back to connected', async () => {
    const before = (await cluster.processes()).map((process) => process.pid);
    for (const page of [alice, bob]) await recordBanner(page);
    const sent: string[] = [];
    let reloaded = false;
    const reload = cluster.reload().then(() => (reloaded = true));
    // Both keep typing for as long as the reload runs (bounded), one message each per round.
    for (let round = 0; round < 40 && (!reloaded || round < 6); round += 1) {
      for (const [who, page] of [
        ['alice', alice],
        ['bob', bob],
      ] as const) {
        const body = `${who} during reload ${round}`;
        await page.send(body);
        sent.push(body);
      }
      await sleep(250);
    }
    await reload;
    const after = (await cluster.processes()).map((process) => process.pid);
    expect(
      after.filter((pid) => before.includes(pid)),
      'every worker was replaced',
    ).to.deep.equal([]);

    for (const page of [alice, bob]) {
      await page.waitConnected(30_000);
      await eventually(async () => {
        expect(await page.pendingCount()).to.equal(0);
        const shown = await page.shown();
        for (const body of sent)
          expect(
            shown.filter((message) => message.body === body),
            body,
          ).to.have.length(1);
      }, 30_000);
    }
    for (const page of [alice, bob]) {
      const states = await bannerStates(page);
      expect(states, 'the window lost its connection and caught up during the reload').to.include('catching-up');
      expect(states.at(-1)).to.equal('connected');
    }
    const aliceSees = await alice.shown();
    expectSeqOrder(aliceSees);
    expect(await bob.shown()).to.deep.equal(aliceSees);
    expect(aliceSees).to.have.length(3 + sent.length);
  });

  it('offline (navigator.onLine off, then on): messages typed while offline are sent once when the network is back', async () => {
    await bob.context.setOffline(true);
    await bob.page.locator('.banner[data-state="offline"]').waitFor();
    const typed = ['offline one', 'offline two', 'offline three'];
    for (const body of typed) await bob.send(body);
    expect(await bob.pendingCount()).to.equal(3);
    await bob.page.locator('.log article.pending', { hasText: 'Waiting for the connection…' }).first().waitFor();
    await alice.send('while Bob was away');
    await sleep(1_000);
    await bob.context.setOffline(false);
    await bob.waitConnected();

    await eventually(async () => {
      const aliceSees = await alice.shown();
      for (const body of typed)
        expect(
          aliceSees.filter((message) => message.body === body),
          body,
        ).to.have.length(1);
      expect(await bob.pendingCount()).to.equal(0);
      expect((await bob.shown()).filter((message) => message.body === 'while Bob was away')).to.have.length(1);
    });
    // The server stored each once, in the typed order.
    const conversationId = await alice.page
      .locator('button.conversation[aria-current="true"]')
      .getAttribute('data-conversation');
    const history = (await (
      await alice.context.request.get(`${cluster.url}/api/conversations/${conversationId}/messages?limit=500`)
    ).json()) as {
      messages: Array<{ body: string; seq: number }>;
    };
    const stored = history.messages.filter((message) => typed.includes(message.body)).sort((a, b) => a.seq - b.seq);
    expect(stored.map((message) => message.body)).to.deep.equal(typed);
    expect(await bob.shown()).to.deep.equal(await alice.shown());
  });

  it('signing in and registering show the API’s errors as sentences; history pages upward from the newest 50', async () => {
    const conversationId = await alice.page
      .locator('button.conversation[aria-current="true"]')
      .getAttribute('data-conversation');
    // Enough history for two pages, sent over REST with Alice's session cookie.
    const held = (await alice.shown()).length;
    const total = Math.max(held, 50) + 14;
    for (let index = held; index < total; index += 1) {
      const response = await alice.context.request.post(`${cluster.url}/api/conversations/${conversationId}/messages`, {
        data: { body: `history ${index}`, clientMsgId: `history-${index}` },
      });
      expect(response.status()).to.equal(201);
    }
    await eventually(async () => expect(await bob.shown()).to.have.length(total));

    const again = await openWindow();
    const signIn = again.page.getByRole('button', { name: 'Sign in' });
    await again.page.getByLabel('Username').fill('alice');
    await again.page.getByLabel('Password').fill('not her password');
    await signIn.click();
    await again.page.locator('form.auth [role="alert"]', { hasText: 'Invalid username or password.' }).waitFor();
    await again.page.getByLabel('Username').fill('No Such User!');
    await again.page.getByRole('button', { name: 'Create account' }).click();
    await again.page
      .locator('form.auth [role="alert"]', { hasText: 'Request is invalid: username must be 3-32 characters' })
      .waitFor();
    await again.page.getByLabel('Username').fill('alice');
    await again.page.getByLabel('Password').fill('correct horse battery');
    await signIn.click();
    await again.waitConnected();

    await again.openConversation('Bob');
    await eventually(async () => expect(await again.shown()).to.have.length(50));
    const older = again.page.getByRole('button', { name: 'Load earlier messages' });
    // By keyboard: one Tab from the message log (before the messages' Edit and Delete buttons) reaches the button,
    // with a visible focus ring.
    await again.page.bringToFront();
    await again.page.getByRole('log', { name: 'Messages' }).focus();
    await again.page.keyboard.press('Tab');
    expect(await again.page.evaluate('document.activeElement.textContent')).to.equal('Load earlier messages');
    expect(
      await again.page.evaluate('getComputedStyle(document.activeElement).outlineStyle'),
      'visible focus',
    ).to.equal('solid');
    await again.page.keyboard.press('Enter');
    await eventually(async () => expect(await again.shown()).to.deep.equal(await alice.shown()));
    expect(
      await again.page.evaluate('document.activeElement.getAttribute("aria-label")'),
      'focus stays in the log',
    ).to.equal('Messages');
    expectSeqOrder(await again.shown());
    expect(await older.isHidden(), 'nothing older than seq 1').to.equal(true);
    await again.context.close();
  });

  it('a group with a third person: adding and removing members updates the open windows', async () => {
    const carol = await openWindow();
    await registerByKeyboard(carol, 'carol', 'Carol');

    // Alice creates "Team" with Bob.
    await alice.page.locator('summary', { hasText: 'New group' }).click();
    await alice.page.getByLabel('Group name').fill('Team');
    await alice.page.getByLabel('Add people').fill('bob');
    await alice.page.getByRole('button', { name: 'Add Bob (@bob)' }).click();
    await alice.page.getByRole('button', { name: 'Create group' }).click();
    await alice.page.locator('#conversation-title', { hasText: 'Team' }).waitFor();
    await bob.conversationButton('Team').waitFor();
    // Bob still has Alice's conversation open: Team's entry counts what he has not read and shows the last message.
    await alice.send('Welcome to Team.');
    await bob.conversationButton('Team').locator('.badge', { hasText: '1' }).waitFor();
    expect(await bob.conversationButton('Team').locator('.preview').textContent()).to.equal('Welcome to Team.');
    await bob.openConversation('Team');
    await eventually(async () => expect(await bob.conversationButton('Team').locator('.badge').count()).to.equal(0));
    await alice.page.locator('.seen', { hasText: 'Seen by Bob' }).waitFor();

    // Alice adds Carol: Carol's window gets the group, Alice's member list grows, and so does bystander Bob's
    // (conversation:updated), before Carol says anything.
    await bob.openMembers();
    await alice.openMembers();
    await alice.page.getByLabel('Add a member').fill('carol');
    await alice.page.getByRole('button', { name: 'Add Carol (@carol)' }).click();
    await eventually(async () => expect(await alice.memberNames()).to.deep.equal(['Alice (you)', 'Bob', 'Carol']));
    await eventually(async () => expect(await bob.memberNames()).to.deep.equal(['Alice', 'Bob (you)', 'Carol']));
    await carol.conversationButton('Team').waitFor();
    await carol.page.getByRole('alert').filter({ hasText: 'You were added to Team.' }).waitFor();
    await carol.openConversation('Team');
    // Alice's list shows who is online, newcomers included.
    await alice.page.locator('.member-list [data-presence] + .name', { hasText: 'Carol' }).waitFor();
    await eventually(async () =>
      expect(
        await alice.page
          .locator('.member-list li', { hasText: 'Carol' })
          .locator('[data-status]')
          .getAttribute('data-status'),
      ).to.equal('online'),
    );
    await carol.send('Hello team, Carol here.');
    for (const page of [alice, bob])
      await page.page.locator('.log .body', { hasText: 'Hello team, Carol here.' }).waitFor();
    await eventually(async () =>
      expect(
        await bob.page.locator('.log article', { hasText: 'Hello team, Carol here.' }).locator('.sender').textContent(),
      ).to.equal('Carol'),
    );
    await alice.page.screenshot({ path: path.join(SCREENSHOTS, 'group.png') });

    // Carol edits her message by keyboard: Alice and Bob see the new text marked edited.
    const carolsMessage = (chat: ChatPage) => chat.page.locator('.log article', { hasText: 'Carol here' });
    await carolsMessage(carol)
      .getByRole('button', { name: /^Edit message/ })
      .focus();
    await carol.page.keyboard.press('Enter');
    await carol.page.getByLabel('Edit message', { exact: true }).waitFor();
    await carol.page.keyboard.press('ControlOrMeta+A');
    await carol.page.keyboard.type('Hello team, Carol here (edited by me).');
    await carol.page.keyboard.press('Enter');
    for (const page of [alice, bob, carol]) {
      await page.page.locator('.log .body', { hasText: 'Hello team, Carol here (edited by me).' }).waitFor();
      await carolsMessage(page).locator('.meta', { hasText: '(edited)' }).waitFor();
    }
    // Bob, a plain member, may not delete Carol's message; Alice, the owner, may: every window shows the tombstone.
    expect(
      await carolsMessage(bob)
        .getByRole('button', { name: /^Delete message/ })
        .count(),
    ).to.equal(0);
    await carolsMessage(alice)
      .getByRole('button', { name: /^Delete message/ })
      .focus();
    await alice.page.keyboard.press('Enter');
    for (const page of [alice, bob, carol]) {
      await eventually(async () =>
        expect(await page.page.locator('.log .body.deleted', { hasText: 'Message deleted' }).count()).to.equal(1),
      );
      expect(await page.page.locator('.log .body', { hasText: 'Carol here' }).count()).to.equal(0);
    }

    // Alice removes Carol: the group leaves Carol's window with a sentence saying so; Bob's list follows at once.
    await alice.page.getByRole('button', { name: 'Remove Carol' }).click();
    await eventually(async () => expect(await alice.memberNames()).to.deep.equal(['Alice (you)', 'Bob']));
    await eventually(async () => expect(await bob.memberNames()).to.deep.equal(['Alice', 'Bob (you)']));
    await carol.page.getByRole('alert').filter({ hasText: 'You are no longer a member of Team.' }).waitFor();
    await eventually(async () => expect(await carol.conversationButton('Team').count()).to.equal(0));
    expect(await carol.page.locator('#conversation-title').textContent()).to.equal('No conversation open');
    expectNoConsoleErrors(alice, bob, carol);
  });

  it('attachments: picked files upload with their progress and go with the next message, or alone; the other window shows the thumbnail and the link; a refused file shows the sentence', async () => {
    await alice.openConversation('Bob');
    await bob.openConversation('Alice');
    const attach = async (...files: Array<{ name: string; mimeType: string; buffer: Buffer }>) => {
      const chooser = alice.page.waitForEvent('filechooser');
      await alice.page.getByRole('button', { name: 'Attach files' }).click();
      await (await chooser).setFiles(files);
    };
    const picked = alice.page.locator('.picked-files li');

    await attach(
      { name: 'photo.png', mimeType: 'image/png', buffer: await png(120, 80) },
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('plain words') },
    );
    await eventually(async () =>
      expect(await picked.evaluateAll((items) => items.map((item) => item.getAttribute('data-state')))).to.deep.equal([
        'ready',
        'ready',
      ]),
    );
    await alice.send('two files');
    expect(await picked.count(), 'the picker is empty after the send').to.equal(0);
    const sent = bob.page.locator('.log article[data-seq]', { hasText: 'two files' });
    const thumbnail = sent.locator('a.attachment img[alt="photo.png"]');
    await thumbnail.waitFor();
    // The thumbnail was made on the server's pool and loaded with Bob's session cookie.
    await eventually(async () =>
      expect(await thumbnail.evaluate((img) => (img as HTMLImageElement).naturalWidth)).to.be.greaterThan(0),
    );
    const link = sent.locator('a.attachment', { hasText: 'notes.txt' });
    expect(await link.getAttribute('download')).to.equal('notes.txt');
    const href = (await link.getAttribute('href'))!;
    expect(await bob.page.evaluate(async (url) => (await fetch(url)).text(), href)).to.equal('plain words');

    // A file alone is a message too (an empty composer and one upload).
    await attach({ name: 'alone.txt', mimeType: 'text/plain', buffer: Buffer.from('just the file') });
    await picked.and(alice.page.locator('[data-state="ready"]')).waitFor();
    await alice.composer.press('Enter');
    await bob.page.locator('.log article[data-seq] a.attachment', { hasText: 'alone.txt' }).waitFor();

    // A type the server does not accept (sniffed from the bytes, whatever the name says) is refused with its sentence.
    const consoleBefore = alice.consoleErrors.length;
    await attach({
      name: 'holiday.png',
      mimeType: 'image/png',
      buffer: Buffer.from([0x4d, 0x5a, 0x90, 0, 3, 0, 0, 0]),
    });
    await alice.page
      .locator('.picked-files li[data-state="failed"] [role="alert"]', { hasText: 'not accepted' })
      .waitFor();
    await alice.page.getByRole('button', { name: 'Remove holiday.png' }).click();
    expect(await picked.count()).to.equal(0);
    // The browser reports the 400 itself; nothing else went wrong.
    expect(alice.consoleErrors.splice(consoleBefore)).to.satisfy((errors: string[]) =>
      errors.every((text) => /status of 400 .*\/api\/attachments\)$/.test(text)),
    );
    expectNoConsoleErrors(alice, bob);
  });

  it('has no serious accessibility violations (axe-core) on the sign-in, chat, group and 360 px screens', async () => {
    const stranger = await openWindow();
    await stranger.page.locator('form.auth').waitFor();
    await stranger.page.screenshot({ path: path.join(SCREENSHOTS, 'sign-in.png') });
    const problems = [...(await axe(stranger, 'sign-in'))];

    await alice.openConversation('Bob');
    problems.push(...(await axe(alice, 'direct conversation')));
    await alice.openConversation('Team');
    await alice.openMembers();
    await alice.page.locator('summary', { hasText: 'New group' }).click();
    problems.push(...(await axe(alice, 'group with members and the new-group form open')));

    const phone = await openWindow({ width: 360, height: 740 });
    await phone.page.getByLabel('Username').fill('bob');
    await phone.page.getByLabel('Password').fill('correct horse battery');
    await phone.page.getByRole('button', { name: 'Sign in' }).click();
    await phone.waitConnected();
    problems.push(...(await axe(phone, '360 px conversation list')));
    await phone.openConversation('Alice');
    // One pane at a time: the list is hidden, the conversation fits the width.
    expect(await phone.page.locator('nav.sidebar').isVisible()).to.equal(false);
    const overflow = await phone.page.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow, 'horizontal overflow at 360 px').to.equal(0);
    problems.push(...(await axe(phone, '360 px conversation')));
    await phone.page.screenshot({ path: path.join(SCREENSHOTS, 'phone.png') });
    await phone.page.getByRole('button', { name: 'Back to conversations' }).click();
    await phone.page.locator('nav.sidebar').waitFor();

    expect(problems).to.deep.equal([]);
    expectNoConsoleErrors(alice, bob, stranger, phone);

    // Bob closes both his windows: Alice sees him go offline.
    await alice.openConversation('Bob');
    await alice.page.locator('#conversation-title [data-status="online"]').waitFor();
    await Promise.all([bob.context.close(), phone.context.close()]);
    await alice.page.locator('#conversation-title [data-status="offline"]').waitFor({ timeout: 20_000 });
  });
});

/**
 * PM2 round robin hands each new connection to the next worker, so two windows may land on the same one. Each
 * instance's /health (with the detail token) counts its sockets: reload the second window until each instance
 * holds exactly one.
 */
async function onDifferentInstances(cluster: Cluster, second: ChatPage): Promise<void> {
  for (let attempt = 0; attempt < 12; attempt += 1) {
    const counts = await socketsPerInstance(cluster);
    if (counts.length === 2 && counts.every((count) => count === 1)) return;
    await second.page.reload();
    await second.waitConnected();
    await sleep(300);
  }
  throw new Error('the two windows never landed on different PM2 instances');
}

async function socketsPerInstance(cluster: Cluster): Promise<number[]> {
  const seen = new Map<string, number>();
  for (let request = 0; request < 20 && seen.size < 2; request += 1) {
    const { body } = await requestFresh(`${cluster.url}/health`, 'GET', undefined, TEST_HEALTH_TOKEN);
    seen.set(body.instanceId, body.sockets.connected);
  }
  return [...seen.values()];
}

async function registerByKeyboard(chat: ChatPage, username: string, displayName: string): Promise<void> {
  const keys = chat.page.keyboard;
  await chat.page.locator('#auth-username:focus').waitFor();
  await keys.type(username);
  await keys.press('Tab');
  await chat.page.locator('#auth-password:focus').waitFor();
  await keys.type('correct horse battery');
  await keys.press('Tab');
  await keys.type(displayName);
  await keys.press('Tab'); // Sign in
  await keys.press('Tab'); // Create account
  await chat.page.locator('button:focus', { hasText: 'Create account' }).waitFor();
  await keys.press('Enter');
  await chat.waitConnected();
}

async function axe(chat: ChatPage, screen: string): Promise<string[]> {
  // Evaluated through the DevTools protocol, so the page's CSP (no inline scripts) does not refuse it.
  await chat.page.evaluate(AXE_SOURCE);
  const result = (await chat.page.evaluate(
    'axe.run(document).then((r) => ({ passes: r.passes.length, violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help })) }))',
  )) as { passes: number; violations: Array<{ id: string; impact: string; nodes: number; help: string }> };
  expect(result.passes, `axe checked rules on the ${screen} screen`).to.be.above(10);
  const minor = result.violations.filter(
    (violation) => violation.impact !== 'serious' && violation.impact !== 'critical',
  );
  if (minor.length > 0)
    console.log(
      `      axe, ${screen}: ${minor.map((violation) => `${violation.id} (${violation.impact})`).join(', ')}`,
    );
  return result.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map(
      (violation) => `${screen}: ${violation.id} (${violation.impact}, ${violation.nodes} elements): ${violation.help}`,
    );
}

/** Keeps every state the connection banner shows from now on. */
async function recordBanner(chat: ChatPage): Promise<void> {
  await chat.page.evaluate(
    `window.__banners = []; new MutationObserver(() => window.__banners.push(document.querySelector('.banner').dataset.state)).observe(document.querySelector('.banner'), { attributes: true });`,
  );
}

async function bannerStates(chat: ChatPage): Promise<string[]> {
  return (await chat.page.evaluate('window.__banners')) as string[];
}

async function watchLayoutShift(chat: ChatPage): Promise<void> {
  await chat.page.evaluate(
    `window.__shift = 0; new PerformanceObserver((list) => { for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shift += entry.value; }).observe({ type: 'layout-shift' });`,
  );
}

async function layoutShift(chat: ChatPage): Promise<number> {
  return (await chat.page.evaluate('window.__shift')) as number;
}

function expectSeqOrder(shown: Shown[]): void {
  for (let index = 1; index < shown.length; index += 1)
    expect(shown[index]!.seq, `seq after ${shown[index - 1]!.seq}`).to.equal(shown[index - 1]!.seq + 1);
}

/** What the browser itself logs for expected events, not failures of the page. */
const EXPECTED_CONSOLE = [
  // Before sign-in the page asks whether it has a session: 401 means no.
  /status of 401 \(Unauthorized\) \(http:\/\/[^/]+\/api\/me\)$/,
  // A worker closing its sockets during the reload, as the browser reports it; the outbox resends.
  /WebSocket connection to .* failed/,
  /WebSocket is already in CLOSING or CLOSED state/,
];

function expectNoConsoleErrors(...chats: ChatPage[]): void {
  const errors = chats
    .flatMap((chat) => chat.consoleErrors)
    .filter((text) => !EXPECTED_CONSOLE.some((pattern) => pattern.test(text)));
  expect(errors).to.deep.equal([]);
}
