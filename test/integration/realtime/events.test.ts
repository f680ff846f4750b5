// Handshake, membership, typing, read and abuse limits, against two real server processes.
import { expect } from 'chai';
import { HEALTH_DETAIL } from '../../support/services.js';
import { createGroup, register, request } from '../../support/client.js';
import { startServer } from '../../support/processes.js';
import { serverSuite } from '../../support/server-suite.js';
import { collect, connect, emitAck, nextEvent, sleep, until } from '../../support/sockets.js';

describe('realtime: handshake, events and limits', function () {
  this.timeout(60_000);
  const servers = serverSuite({
    CORS_ORIGIN: 'https://app.example',
    SOCKET_EVENTS_PER_SEC: '5',
    SOCKET_EVENTS_BURST: '10',
    SOCKET_MAX_PER_USER: '3',
  });

  describe('handshake', () => {
    it('when no credential or a bad token is sent, then connect_error says unauthorized', async () => {
      for (const auth of [{}, { token: 'not-a-jwt' }, { cookie: 'parley.sid=forged; parley.sid.sig=forged' }]) {
        const error = await connect(servers.a.url, auth).then(
          () => undefined,
          (e: Error) => e,
        );
        expect(error?.message, JSON.stringify(auth)).to.equal('unauthorized');
      }
    });

    it('when the session cookie from login is sent, then the socket connects as that user', async () => {
      const alice = await register(servers.a.url);
      const bob = await register(servers.a.url);
      const conversationId = await createGroup(servers.a.url, alice, [bob]);
      const aliceByCookie = await connect(servers.b.url, { cookie: alice.cookie });
      const bobSocket = await connect(servers.a.url, { token: bob.accessToken });
      const event = nextEvent(bobSocket, 'message:new');
      const ack = await emitAck(aliceByCookie, 'message:send', {
        conversationId,
        body: 'via cookie',
        clientMsgId: 'c1',
      });
      expect(ack.ok).to.equal(true);
      expect(ack.message.senderId).to.equal(alice.user.id);
      expect((await event).message.id).to.equal(ack.message.id);
    });

    it('when a browser Origin outside CORS_ORIGIN connects, then it is refused; an allowed one connects', async () => {
      const alice = await register(servers.a.url);
      const refused = await connect(servers.a.url, { token: alice.accessToken, origin: 'https://evil.example' }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(refused).to.be.instanceOf(Error);
      const allowed = await connect(servers.a.url, { token: alice.accessToken, origin: 'https://app.example' });
      expect(allowed.connected).to.equal(true);
    });

    it('when a sign-in logs out, then its sockets on every process close, other sign-ins stay, and its cookie no longer connects', async () => {
      const alice = await register(servers.a.url);
      // A second sign-in of the same user: another refresh family.
      const elsewhere = await request(servers.a.url, 'POST', '/api/auth/login', {
        body: { username: alice.user.username, password: 'correct horse' },
      });
      const byCookie = await connect(servers.b.url, { cookie: alice.cookie });
      const byToken = await connect(servers.a.url, { token: alice.accessToken });
      const otherSignIn = await connect(servers.b.url, { token: elsewhere.body.accessToken });
      const closed = [byCookie, byToken].map(
        (socket) => new Promise<string>((resolve) => socket.once('disconnect', resolve)),
      );

      expect((await request(servers.a.url, 'POST', '/api/auth/logout', { cookie: alice.cookie })).status).to.equal(204);
      expect(await Promise.all(closed)).to.deep.equal(['io server disconnect', 'io server disconnect']);
      expect(otherSignIn.connected).to.equal(true);
      const again = await connect(servers.a.url, { cookie: alice.cookie }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(again?.message).to.equal('unauthorized');
    });

    it('when a spent refresh token is replayed, then the revoked sign-in loses its live sockets too', async () => {
      const alice = await register(servers.a.url);
      const socket = await connect(servers.b.url, { token: alice.accessToken });
      const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve));
      const refresh = () =>
        request(servers.a.url, 'POST', '/api/auth/refresh', { body: { refreshToken: alice.refreshToken } });
      expect((await refresh()).status).to.equal(200);
      expect((await refresh()).status).to.equal(401);
      expect(await closed).to.equal('io server disconnect');
    });

    it('when a user opens more than SOCKET_MAX_PER_USER sockets across processes, then the extra one is refused', async () => {
      const alice = await register(servers.a.url);
      await connect(servers.a.url, { token: alice.accessToken });
      await connect(servers.b.url, { token: alice.accessToken });
      await connect(servers.a.url, { token: alice.accessToken });
      await sleep(100);
      const error = await connect(servers.b.url, { token: alice.accessToken }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).to.equal('too_many_sockets');
    });
  });

  describe('payloads', () => {
    it('when payloads are malformed or name a foreign conversation, then the ack is an error, nothing is stored, and the socket stays', async () => {
      const [alice, bob, mallory] = await Promise.all([
        register(servers.a.url),
        register(servers.a.url),
        register(servers.a.url),
      ]);
      const conversationId = await createGroup(servers.a.url, alice, [bob]);
      const socket = await connect(servers.a.url, { token: mallory.accessToken });
      const bad: Array<[string, unknown, string]> = [
        ['message:send', undefined, 'validation_failed'],
        ['message:send', 'just a string', 'validation_failed'],
        ['message:send', { conversationId, body: '', clientMsgId: 'x' }, 'validation_failed'],
        ['message:send', { conversationId, body: 'x'.repeat(4001), clientMsgId: 'x' }, 'validation_failed'],
        ['message:send', { conversationId: '-1', body: 'hi', clientMsgId: 'x' }, 'validation_failed'],
        ['message:send', { conversationId, body: 'a\u0000b', clientMsgId: 'x' }, 'validation_failed'],
        ['message:send', { conversationId, body: 'intrusion', clientMsgId: 'x' }, 'not_found'],
        ['sync', { cursors: { [conversationId]: 0 } }, 'not_found'],
        ['sync', { cursors: [1, 2] }, 'validation_failed'],
        ['typing', { conversationId, isTyping: 'yes' }, 'validation_failed'],
        ['typing', { conversationId, isTyping: true }, 'not_found'],
        ['read', { conversationId, seq: 5 }, 'not_found'],
        ['read', { conversationId, seq: -1 }, 'validation_failed'],
      ];
      for (const [event, payload, code] of bad) {
        await sleep(200); // stay under this suite's small event rate limit
        const ack = payload === undefined ? await emitAck(socket, event) : await emitAck(socket, event, payload);
        expect(ack.ok, `${event} ${JSON.stringify(payload)}`).to.equal(false);
        expect(ack.error.code, `${event} ${JSON.stringify(payload)}`).to.equal(code);
      }
      // Without an ack callback: nothing to answer, and nothing may crash.
      socket.emit('message:send', { conversationId, body: 'no ack' });
      socket.emit('message:send', null);
      socket.emit('no-such-event', { x: 1 });
      await sleep(300);
      expect(socket.connected).to.equal(true);
      const health = await request(servers.a.url, 'GET', '/health', { headers: HEALTH_DETAIL });
      expect(health.status).to.equal(200);
      const history = await request(servers.a.url, 'GET', `/api/conversations/${conversationId}/messages`, {
        token: alice.accessToken,
      });
      expect(history.body.messages).to.deep.equal([]);
    });

    it('when a frame exceeds SOCKET_MAX_PAYLOAD_BYTES, then that connection is closed and the server carries on', async () => {
      const alice = await register(servers.a.url);
      const socket = await connect(servers.a.url, { token: alice.accessToken });
      const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve));
      socket.emit('message:send', { conversationId: '1', body: 'x'.repeat(70 * 1024), clientMsgId: 'big' });
      expect(await closed).to.equal('transport close');
      const again = await connect(servers.a.url, { token: alice.accessToken });
      expect(again.connected).to.equal(true);
    });

    it('when sockets are connected, then /health and /health/metrics report them with the adapter name', async () => {
      const alice = await register(servers.a.url);
      await connect(servers.a.url, { token: alice.accessToken });
      const health = await request(servers.a.url, 'GET', '/health', { headers: HEALTH_DETAIL });
      expect(health.body.sockets).to.include({ adapter: 'redis' });
      expect(health.body.sockets.connected).to.be.at.least(1);
      const metrics = await request(servers.a.url, 'GET', '/health/metrics');
      expect(metrics.body).to.match(/parley_sockets_connected\{[^}]*\} [1-9]/);
      expect(metrics.body).to.include('parley_socket_send_to_broadcast_seconds_bucket');
      expect(metrics.body).to.include('parley_socket_events_in_total');
    });

    it('when a socket floods events, then the excess gets rate_limited acks and the socket stays connected', async () => {
      const alice = await register(servers.a.url);
      const bob = await register(servers.a.url);
      const conversationId = await createGroup(servers.a.url, alice, [bob]);
      const socket = await connect(servers.a.url, { token: alice.accessToken });
      const acks = await Promise.all(
        Array.from({ length: 30 }, () => emitAck(socket, 'typing', { conversationId, isTyping: true })),
      );
      const limited = acks.filter((ack) => !ack.ok && ack.error.code === 'rate_limited').length;
      expect(acks.filter((ack) => ack.ok).length).to.be.within(10, 12); // the burst (plus refill during the run)
      expect(limited).to.equal(30 - acks.filter((ack) => ack.ok).length);
      expect(socket.connected).to.equal(true);
      await sleep(1100); // refilled
      expect((await emitAck(socket, 'typing', { conversationId, isTyping: false })).ok).to.equal(true);
    });
  });

  describe('typing, read and membership', () => {
    it('when a member types or reads, then the other members on both processes hear it (typing not echoed to the typist)', async () => {
      const [alice, bob] = await Promise.all([register(servers.a.url), register(servers.a.url)]);
      const conversationId = await createGroup(servers.a.url, alice, [bob]);
      const aliceA = await connect(servers.a.url, { token: alice.accessToken });
      const aliceB = await connect(servers.b.url, { token: alice.accessToken });
      const bobB = await connect(servers.b.url, { token: bob.accessToken });
      const aliceTyping = collect(aliceB, 'typing');
      const typing = nextEvent(bobB, 'typing');
      expect((await emitAck(aliceA, 'typing', { conversationId, isTyping: true })).ok).to.equal(true);
      expect(await typing).to.deep.equal({ conversationId, userId: alice.user.id, isTyping: true });

      await emitAck(aliceA, 'message:send', { conversationId, body: 'one', clientMsgId: 'r-1' });
      const read = nextEvent(aliceB, 'read', (event) => event.userId === bob.user.id);
      const ack = await emitAck(bobB, 'read', { conversationId, seq: 1 });
      expect(ack).to.deep.equal({ ok: true, seq: 1 });
      expect(await read).to.deep.equal({ conversationId, userId: bob.user.id, seq: 1 });
      expect(aliceTyping).to.deep.equal([]);
    });

    it('when a user is added or removed over REST, then their live sockets on every process join or leave the room', async () => {
      const [alice, bob, carol] = await Promise.all([
        register(servers.a.url),
        register(servers.a.url),
        register(servers.a.url),
      ]);
      const conversationId = await createGroup(servers.a.url, alice, [bob]);
      const aliceA = await connect(servers.a.url, { token: alice.accessToken });
      const carolA = await connect(servers.a.url, { token: carol.accessToken });
      const carolB = await connect(servers.b.url, { token: carol.accessToken });
      const joined = [nextEvent(carolA, 'conversation:new'), nextEvent(carolB, 'conversation:new')];
      const added = await request(servers.b.url, 'POST', `/api/conversations/${conversationId}/members`, {
        token: alice.accessToken,
        body: { userId: carol.user.id },
      });
      expect(added.status).to.equal(201);
      for (const event of await Promise.all(joined)) expect(event.conversation.id).to.equal(conversationId);

      const delivered = [nextEvent(carolA, 'message:new'), nextEvent(carolB, 'message:new')];
      await emitAck(aliceA, 'message:send', { conversationId, body: 'welcome', clientMsgId: 'm-add' });
      for (const event of await Promise.all(delivered)) expect(event.message.body).to.equal('welcome');
      expect((await emitAck(carolB, 'typing', { conversationId, isTyping: true })).ok).to.equal(true);

      const left = [nextEvent(carolA, 'conversation:removed'), nextEvent(carolB, 'conversation:removed')];
      const removed = await request(
        servers.a.url,
        'DELETE',
        `/api/conversations/${conversationId}/members/${carol.user.id}`,
        { token: alice.accessToken },
      );
      expect(removed.status).to.equal(204);
      for (const event of await Promise.all(left)) expect(event).to.deep.equal({ conversationId });
      const after = [collect(carolA, 'message:new'), collect(carolB, 'message:new')];
      const bobSocket = await connect(servers.b.url, { token: bob.accessToken });
      const bobGot = nextEvent(bobSocket, 'message:new');
      await emitAck(aliceA, 'message:send', { conversationId, body: 'gone', clientMsgId: 'm-gone' });
      await bobGot;
      await sleep(300);
      expect(after.flat()).to.deep.equal([]);
      expect((await emitAck(carolB, 'typing', { conversationId, isTyping: true })).error.code).to.equal('not_found');
    });
  });
});

describe('realtime: credential expiry', function () {
  this.timeout(60_000);
  const servers = serverSuite({ ACCESS_TOKEN_TTL_SEC: '2' }, 1);

  it('when the access token expires, then the socket is disconnected by the server', async () => {
    const alice = await register(servers.a.url);
    const socket = await connect(servers.a.url, { token: alice.accessToken });
    const reason = await new Promise<string>((resolve) => socket.once('disconnect', resolve));
    expect(reason).to.equal('io server disconnect');
    const error = await connect(servers.a.url, { token: alice.accessToken }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).to.equal('unauthorized');
  });

  it('when a client reconnects after a restart with a token that expired meanwhile, then the handshake refuses it', async () => {
    const alice = await register(servers.a.url);
    const issuedAt = Date.now();
    const errors: string[] = [];
    const socket = await connect(servers.a.url, { token: alice.accessToken }, { reconnection: true });
    socket.on('connect_error', (error) => errors.push(error.message));
    const port = servers.a.port;
    expect(await servers.a.stop('SIGINT')).to.equal(0);
    await sleep(Math.max(0, issuedAt + 2500 - Date.now()));
    servers.set(await startServer({ ACCESS_TOKEN_TTL_SEC: '2' }, port));
    await until(() => errors.includes('unauthorized'), 10_000, 'a refused reconnection');
    expect(socket.connected).to.equal(false);
  });

  it('when the token expires with the socket idle, then it is gone within a second of expiry', async () => {
    const alice = await register(servers.a.url);
    const socket = await connect(servers.a.url, { token: alice.accessToken });
    const started = Date.now();
    await until(() => !socket.connected, 4000, 'disconnect at expiry');
    expect(Date.now() - started).to.be.below(3500);
  });
});
