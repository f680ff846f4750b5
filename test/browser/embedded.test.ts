// What `npm start` gives a person on a fresh clone: one process on the embedded database, no Redis. Two windows
// register through the page and chat, with the cookie session kept in the cookie and the in-memory adapter.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, type ServerProcess } from '../support/processes.js';
import { launchBrowser, type Browser } from './support/browser.js';
import { ChatPage } from './support/chat-page.js';

describe('Web client on the embedded default (npm start)', function () {
  this.timeout(120_000);
  let server: ServerProcess;
  let browser: Browser;
  let dataDir: string;

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-pglite-web-'));
    const env = { NODE_ENV: 'development', DATABASE_URL: '', REDIS_URL: '', PGLITE_DIR: dataDir };
    [server, browser] = await Promise.all([startServer(env), launchBrowser()]);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('when two windows register and message each other, then each sees the other’s messages live', async () => {
    const dana = await ChatPage.open(await browser.newContext(), server.url);
    const erin = await ChatPage.open(await browser.newContext(), server.url);
    await dana.register('dana', 'Dana');
    await erin.register('erin', 'Erin');
    await dana.messageDirect('erin', 'Erin');
    await dana.send('Hi Erin, from the embedded default.');
    await erin.openConversation('Dana');
    await erin.send('Hi Dana!');
    await dana.page.locator('.log .body', { hasText: 'Hi Dana!' }).waitFor();
    expect((await dana.shown()).map((shown) => shown.body)).to.deep.equal([
      'Hi Erin, from the embedded default.',
      'Hi Dana!',
    ]);
    expect(await erin.shown()).to.deep.equal(await dana.shown());
  });
});
