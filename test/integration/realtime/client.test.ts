// `parley/client` against real Parley processes: REST and typed socket events, catch-up with `sync` after a
// crash (no recovery session to replay), the example echo bot, the MAX_CONNECTIONS cap, and `server:draining`.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ParleyClient, ParleyApiError, type Message, type ParleyRealtime } from 'parley/client';
import { uniqueName } from '../../support/client.js';
import { startServer } from '../../support/processes.js';
import { serverSuite } from '../../support/server-suite.js';
import { until } from '../../support/sockets.js';

const PASSWORD = 'correct horse';

/** One connect attempt, as a condition for until(): true once connected, false when refused. */
const connects = (live: ParleyRealtime) => () =>
  live.connect().then(
    () => true,
    () => false,
  );

async function signedIn(url: string): Promise<ParleyClient> {
  const client = new ParleyClient({ url });
  await client.rest.register({ username: uniqueName(), password: PASSWORD });
  return client;
}

describe('parley/client', function () {
  this.timeout(60_000);
  const servers = serverSuite();
  const open: Array<{ close(): void }> = [];
  afterEach(() => {
    for (const item of open.splice(0)) item.close();
  });

  it('when a member is offline while its server crashes, then on reconnect the client catches up with sync, in order and once', async () => {
    const alice = await signedIn(servers.a.url);
    const bob = await signedIn(servers.b.url);
    const conversation = await alice.rest.createGroup('client', [(await bob.rest.me()).id]);
    const live = await alice.realtime().connect();
    open.push(live);
    const received: Message[] = [];
    live.onMessage((message) => received.push(message));

    await bob.rest.send(conversation.id, 'before', 'm0');
    await until(() => received.length === 1, 10_000, 'the live message');

    // SIGKILL: no io.close(), so no recovery session; only sync can bring back what is sent meanwhile.
    const port = servers.a.port;
    await servers.a.stop('SIGKILL');
    for (let i = 1; i <= 3; i += 1) await bob.rest.send(conversation.id, `while away ${i}`, `m${i}`);
    servers.set(await startServer({}, port));

    await until(() => received.length === 4, 30_000, 'the catch-up');
    expect(received.map((m) => [m.seq, m.body])).to.deep.equal([
      [1, 'before'],
      [2, 'while away 1'],
      [3, 'while away 2'],
      [4, 'while away 3'],
    ]);
    expect(live.cursors[conversation.id]).to.equal(4);
    // Sending through the socket acks the stored message, which the stream does not deliver twice.
    const sent = await live.send(conversation.id, 'after', 'm5');
    expect(sent.seq).to.equal(5);
    expect(received.filter((m) => m.seq === 5)).to.have.length(1);
  });

  it("when messages are edited and deleted, then onChange gets each change once, live and after a crash through sync's changes", async () => {
    const alice = await signedIn(servers.a.url);
    const bob = await signedIn(servers.b.url);
    const conversation = await alice.rest.createGroup('changes', [(await bob.rest.me()).id]);
    const mine = await alice.rest.send(conversation.id, 'mine', 'c1');
    const theirs = await bob.rest.send(conversation.id, 'theirs', 'c2');
    const live = alice.realtime();
    open.push(live);
    const changes: Array<{ seq: number; body: string; deleted: boolean }> = [];
    live.onChange((m) => changes.push({ seq: m.seq, body: m.body, deleted: m.deletedAt !== null }));
    await live.connect();
    // The first connect's sync gives the client its changes token.
    await until(() => live.changesToken !== undefined, 10_000, 'a changes token');

    const edited = await live.edit(conversation.id, mine.seq, 'mine, edited');
    expect(edited).to.include({ seq: mine.seq, body: 'mine, edited' });
    await bob.rest.edit(conversation.id, theirs.seq, 'theirs, edited');
    await until(() => changes.length === 2, 10_000, 'both edits, live');

    // SIGKILL: the deletion happens while alice has no socket; only sync's changes can bring it.
    const port = servers.a.port;
    await servers.a.stop('SIGKILL');
    await bob.rest.deleteMessage(conversation.id, theirs.seq);
    servers.set(await startServer({}, port));
    await until(() => changes.length === 3, 30_000, 'the deletion, caught up');
    await live.delete(conversation.id, mine.seq);
    await until(() => changes.length === 4, 10_000, 'the own deletion');
    await live.catchUp();
    expect(changes).to.deep.equal([
      { seq: mine.seq, body: 'mine, edited', deleted: false },
      { seq: theirs.seq, body: 'theirs, edited', deleted: false },
      { seq: theirs.seq, body: '', deleted: true },
      { seq: mine.seq, body: '', deleted: true },
    ]);
    const refused = await live.edit(conversation.id, theirs.seq, 'not mine').catch((error: { code?: string }) => error);
    expect(refused).to.include({ code: 'forbidden' });
  });

  it('when the user is removed from a conversation, then the client stops following it, so its next sync still succeeds', async () => {
    const owner = await signedIn(servers.a.url);
    const alice = await signedIn(servers.b.url);
    const aliceId = (await alice.rest.me()).id;
    const kept = await owner.rest.createGroup('kept', [aliceId]);
    const left = await owner.rest.createGroup('left', [aliceId]);
    const live = alice.realtime({ cursors: { [kept.id]: 0, [left.id]: 0 } });
    open.push(live);
    const received: string[] = [];
    live.onMessage((m) => received.push(m.body));
    await live.connect();
    await owner.rest.removeMember(left.id, aliceId);
    await until(() => !(left.id in live.cursors), 10_000, 'conversation:removed');
    await owner.rest.send(kept.id, 'still here', 'k1');
    // With the left conversation still among the cursors, the server would refuse the whole sync (not_found).
    await live.catchUp();
    await until(() => received.includes('still here'), 10_000, 'the message, live or caught up');
  });

  it('when a REST call fails, then ParleyApiError carries the status and the contract code; an expired token is refreshed once', async () => {
    const alice = await signedIn(servers.a.url);
    const failure = await alice.rest.conversation('999999999').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).to.be.instanceOf(ParleyApiError);
    expect(failure).to.include({ status: 404, code: 'not_found' });
    // A forged access token stands in for an expired one: the client spends its refresh token and retries.
    const { refreshToken } = (alice.rest as unknown as { tokens: { refreshToken: string } }).tokens;
    const stale = new ParleyClient({
      url: servers.a.url,
      tokens: { accessToken: 'expired.token.value', refreshToken },
    });
    expect((await stale.rest.me()).id).to.equal((await alice.rest.me()).id);
  });

  it('when the example echo bot runs, then it answers a message in a conversation it was added to', async () => {
    const botName = uniqueName('bot');
    const bot = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('../../examples/echo-bot.ts', import.meta.url))],
      {
        env: { ...process.env, PARLEY_URL: servers.b.url, BOT_USERNAME: botName, BOT_PASSWORD: 'echo bot password' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    open.push({ close: () => bot.kill('SIGKILL') });
    await waitForLine(bot, 'echo bot ready');

    const alice = await signedIn(servers.a.url);
    const [botUser] = await alice.rest.searchUsers(botName);
    const conversation = await alice.rest.createGroup('with the bot', [botUser!.id]);
    const live = await alice.realtime().connect();
    open.push(live);
    const echoed = new Promise<Message>((resolve) => live.onMessage((m) => m.senderId === botUser!.id && resolve(m)));
    await live.send(conversation.id, 'hello bot', 'hello-1');
    const echo = await echoed;
    expect(echo.body).to.equal('echo: hello bot');
    expect(echo.conversationId).to.equal(conversation.id);
  });

  it('when a process holds MAX_CONNECTIONS sockets, then the next handshake fails with overloaded, and a freed place is taken again', async () => {
    const capped = await startServer({ MAX_CONNECTIONS: '2' });
    const clients = await Promise.all([1, 2, 3].map(() => signedIn(capped.url)));
    const first = await clients[0]!.realtime().connect();
    const second = await clients[1]!.realtime().connect();
    open.push(first, second);
    const third = clients[2]!.realtime();
    open.push(third);
    const refused = await third.connect().then(
      () => undefined,
      (error: Error & { data?: { code?: string } }) => error,
    );
    expect(refused?.message).to.equal('overloaded');
    expect(refused?.data?.code).to.equal('overloaded');

    first.close();
    await until(connects(third), 10_000, 'a place after a socket left');
    expect(third.socket.connected).to.equal(true);
    await capped.stop('SIGKILL');
  });

  it('when a reconnect is refused as overloaded, then the client tries again until a place is free, and syncs', async () => {
    const capped = await startServer({ MAX_CONNECTIONS: '1' });
    try {
      const alice = await signedIn(capped.url);
      const bob = await signedIn(capped.url);
      const conversation = await bob.rest.createGroup('full server', [(await alice.rest.me()).id]);
      const live = alice.realtime();
      live.follow(conversation.id);
      open.push(live);
      const received: string[] = [];
      live.onMessage((m) => received.push(m.body));
      const refusals: string[] = [];
      live.socket.on('connect_error', (error: Error) => refusals.push(error.message));
      await live.connect();

      // The network drops alice's socket; before socket.io reconnects it (0.5 s at the earliest), bob takes the
      // server's only place, so alice's reconnect is refused by the server's middleware.
      live.socket.io.engine.close();
      const other = bob.realtime();
      open.push(other);
      await until(connects(other), 5_000, "bob in alice's place");
      await until(() => refusals.includes('overloaded'), 10_000, "alice's reconnect refused");
      await bob.rest.send(conversation.id, 'while you were refused', 'full-1');
      other.close();
      await until(() => live.socket.connected, 20_000, 'alice back once the place is free');
      await until(() => received.includes('while you were refused'), 10_000, 'the sync after the reconnect');
    } finally {
      await capped.stop('SIGKILL');
    }
  });

  it('when its server drains (SIGINT), then the client waits the reconnectInMs it was given, reconnects to the replacement and syncs', async () => {
    const alice = await signedIn(servers.a.url);
    const bob = await signedIn(servers.b.url);
    const conversation = await alice.rest.createGroup('draining', [(await bob.rest.me()).id]);
    const live = alice.realtime();
    live.follow(conversation.id);
    open.push(live);
    const received: Message[] = [];
    live.onMessage((message) => received.push(message));
    await live.connect();
    let reconnectInMs = -1;
    let disconnectedAt = 0;
    let reconnectedAt = 0;
    live.socket.once('server:draining', (payload) => (reconnectInMs = payload.reconnectInMs));
    live.socket.once('disconnect', () => {
      disconnectedAt = performance.now();
      live.socket.once('connect', () => (reconnectedAt = performance.now()));
    });

    const port = servers.a.port;
    expect(await servers.a.stop('SIGINT')).to.equal(0);
    await bob.rest.send(conversation.id, 'sent while draining', 'd1');
    servers.set(await startServer({}, port));

    await until(() => received.length === 1, 30_000, 'the catch-up after the reconnect');
    expect(received[0]!.body).to.equal('sent while draining');
    expect(reconnectInMs).to.be.at.least(0);
    // A timer never fires early: the first reconnect came no sooner than the delay the server drew.
    expect(reconnectedAt - disconnectedAt).to.be.at.least(reconnectInMs - 5);
  });
});

function waitForLine(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`no "${text}" within 20 s:\n${output}`)), 20_000);
    const check = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => reject(new Error(`bot exited with ${code}:\n${output}`)));
  });
}
