// Attacks on the socket surface, against two real server processes sharing PostgreSQL and Redis.
import { expect } from 'chai';
import { io, Manager } from 'socket.io-client';
import { createGroup, register, request } from '../../support/client.js';
import { serverSuite } from '../../support/server-suite.js';
import { collect, connect, nextEvent, sleep, until } from '../../support/sockets.js';

interface RawPacket {
  type: number;
  data?: unknown[];
}
const EVENT = 2;

describe('security: sockets', function () {
  this.timeout(60_000);
  const servers = serverSuite({
    CORS_ORIGIN: '*,https://app.example',
    SOCKET_MAX_PER_USER: '10',
    SOCKET_PENDING_PER_IP: '200',
  });

  it('recovery replay attack: when a removed member reconnects with its old session id and a junk token, then no packet reaches it', async () => {
    const [alice, bob] = await Promise.all([register(servers.a.url), register(servers.a.url)]);
    const conversationId = await createGroup(servers.a.url, alice, [bob]);
    const post = (body: string) =>
      request(servers.a.url, 'POST', `/api/conversations/${conversationId}/messages`, {
        token: alice.accessToken,
        body: { body, clientMsgId: body },
      });
    const bobSocket = await connect(servers.a.url, { token: bob.accessToken });
    const first = nextEvent(bobSocket, 'message:new');
    await post('before');
    await first;
    const old = bobSocket as unknown as { _pid?: string; _lastOffset?: string };
    const session = { pid: old._pid, offset: old._lastOffset };
    // A dropped transport, not a client disconnect: the kind of close a server keeps a session for.
    bobSocket.io.engine.close();
    await until(() => !bobSocket.connected, 5000, 'bob disconnected');
    expect(
      (
        await request(servers.a.url, 'DELETE', `/api/conversations/${conversationId}/members/${bob.user.id}`, {
          token: alice.accessToken,
        })
      ).status,
    ).to.equal(204);
    await post('after removal');

    const attacker = io(servers.a.url, {
      transports: ['websocket'],
      auth: { token: 'junk', ...session },
      reconnection: false,
      forceNew: true,
      autoConnect: false,
    });
    const packets: RawPacket[] = [];
    attacker.io.on('packet', (packet: RawPacket) => packets.push(packet));
    const outcome = new Promise<string>((resolve) => {
      attacker.once('connect', () => resolve('connected'));
      attacker.once('connect_error', (error) => resolve(error.message));
    });
    attacker.connect();
    expect(await outcome).to.equal('unauthorized');
    await sleep(300);
    attacker.close();
    expect(packets.filter((packet) => packet.type === EVENT)).to.deep.equal([]);
  });

  it('when a removed member reconnects with a valid token and its old session id, then its rooms come from the database', async () => {
    const [alice, bob] = await Promise.all([register(servers.a.url), register(servers.a.url)]);
    const conversationId = await createGroup(servers.a.url, alice, [bob]);
    const bobSocket = await connect(servers.a.url, { token: bob.accessToken });
    const old = bobSocket as unknown as { _pid?: string; _lastOffset?: string };
    const session = { pid: old._pid, offset: old._lastOffset };
    bobSocket.io.engine.close();
    await request(servers.a.url, 'DELETE', `/api/conversations/${conversationId}/members/${bob.user.id}`, {
      token: alice.accessToken,
    });
    const again = io(servers.a.url, {
      transports: ['websocket'],
      auth: { token: bob.accessToken, ...session },
      reconnection: false,
      forceNew: true,
    });
    await new Promise<void>((resolve) => again.once('connect', () => resolve()));
    const seen = collect(again, 'message:new');
    const aliceSocket = await connect(servers.b.url, { token: alice.accessToken });
    const delivered = nextEvent(aliceSocket, 'message:new');
    await request(servers.a.url, 'POST', `/api/conversations/${conversationId}/messages`, {
      token: alice.accessToken,
      body: { body: 'members only', clientMsgId: 'm1' },
    });
    await delivered;
    await sleep(300);
    again.close();
    expect(seen).to.deep.equal([]);
  });

  it('revocation that does not revoke: when a sign-in logs out on one process, then its access token cannot open a socket on the other', async () => {
    const alice = await register(servers.a.url);
    const socket = await connect(servers.a.url, { token: alice.accessToken });
    const closed = new Promise((resolve) => socket.once('disconnect', resolve));
    expect((await request(servers.a.url, 'POST', '/api/auth/logout', { token: alice.accessToken })).status).to.equal(
      204,
    );
    await closed;
    const refused = async () =>
      (await connect(servers.b.url, { token: alice.accessToken }).then(
        () => 'connected',
        (e: Error) => e.message,
      )) === 'unauthorized';
    await until(refused, 3000, 'the revoked token refused on the other process');
    expect(
      await connect(servers.a.url, { token: alice.accessToken }).then(
        () => 'connected',
        (e: Error) => e.message,
      ),
    ).to.equal('unauthorized');
  });

  it('CORS wildcard attack: when CORS_ORIGIN has *, then an unlisted origin gets no credentials over HTTP, polling or the cookie handshake', async () => {
    const alice = await register(servers.a.url);
    const api = await fetch(`${servers.a.url}/api/me`, {
      headers: { origin: 'https://evil.example', cookie: alice.cookie },
    });
    expect(api.headers.get('access-control-allow-origin')).to.equal('*');
    expect(api.headers.get('access-control-allow-credentials')).to.equal(null);
    const listed = await fetch(`${servers.a.url}/api/me`, { headers: { origin: 'https://app.example' } });
    expect(listed.headers.get('access-control-allow-origin')).to.equal('https://app.example');
    expect(listed.headers.get('access-control-allow-credentials')).to.equal('true');

    const polling = await fetch(`${servers.a.url}/socket.io/?EIO=4&transport=polling`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(polling.headers.get('access-control-allow-origin')).to.equal('*');
    expect(polling.headers.get('access-control-allow-credentials')).to.equal(null);

    const byCookie = await connect(servers.a.url, { cookie: alice.cookie, origin: 'https://evil.example' }).then(
      () => 'connected',
      (e: Error) => e.message,
    );
    expect(byCookie).to.equal('unauthorized');
    expect((await connect(servers.a.url, { cookie: alice.cookie, origin: 'https://app.example' })).connected).to.equal(
      true,
    );
    // A token is not ambient authority: any origin may present one.
    expect(
      (await connect(servers.a.url, { token: alice.accessToken, origin: 'https://evil.example' })).connected,
    ).to.equal(true);
  });

  it('socket cap race: when 40 handshakes for one user arrive at once on two processes, then exactly SOCKET_MAX_PER_USER connect', async () => {
    const alice = await register(servers.a.url);
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        connect(i % 2 === 0 ? servers.a.url : servers.b.url, { token: alice.accessToken }).then(
          () => 'connected',
          (e: Error) => e.message,
        ),
      ),
    );
    expect(outcomes.filter((outcome) => outcome === 'connected')).to.have.length(10);
    expect([...new Set(outcomes.filter((outcome) => outcome !== 'connected'))]).to.deep.equal(['too_many_sockets']);
  });

  it('stranger presence attack: when a stranger asks for presence, then it reads offline and never seen; a member sees the truth', async () => {
    const [alice, bob, stranger] = await Promise.all([
      register(servers.a.url),
      register(servers.a.url),
      register(servers.a.url),
    ]);
    await createGroup(servers.a.url, alice, [bob]);
    await connect(servers.b.url, { token: alice.accessToken });
    const ask = (who: typeof bob) =>
      request(servers.a.url, 'GET', `/api/presence?userIds=${alice.user.id}`, { token: who.accessToken });
    await until(
      async () => (await ask(bob)).body.presence[alice.user.id].status === 'online',
      5000,
      'a member sees alice online',
    );
    expect((await ask(stranger)).body.presence[alice.user.id]).to.deep.equal({ status: 'offline', lastSeenAt: null });
  });
});

describe('security: unauthenticated socket connections', function () {
  this.timeout(60_000);
  const servers = serverSuite({ SOCKET_PENDING_PER_IP: '3', SOCKET_CONNECT_TIMEOUT_MS: '1000' }, 1);

  /** An engine.io connection that never sends socket.io's CONNECT: resolves once open, or with the error. */
  const openBare = (url: string) => {
    const manager = new Manager(url, { transports: ['websocket'], reconnection: false, autoConnect: false });
    const closed = new Promise<void>((resolve) => manager.on('close', () => resolve()));
    const opened = new Promise<string>((resolve) => manager.open((error) => resolve(error ? 'refused' : 'open')));
    return { manager, opened, closed };
  };

  it('connection hoarding attack: when one address holds SOCKET_PENDING_PER_IP unauthenticated connections, then the next is refused until they time out', async () => {
    const alice = await register(servers.a.url);
    // Authenticated sockets are not pending and do not count.
    for (let i = 0; i < 3; i++) await connect(servers.a.url, { token: alice.accessToken });
    const held = [openBare(servers.a.url), openBare(servers.a.url), openBare(servers.a.url)];
    expect(await Promise.all(held.map((bare) => bare.opened))).to.deep.equal(['open', 'open', 'open']);
    const extra = openBare(servers.a.url);
    expect(await extra.opened).to.equal('refused');
    // SOCKET_CONNECT_TIMEOUT_MS closes connections that never authenticate, which frees their places.
    await Promise.race([
      Promise.all(held.map((bare) => bare.closed)),
      sleep(8000).then(() => Promise.reject(new Error('pending connections were not closed'))),
    ]);
    const later = openBare(servers.a.url);
    expect(await later.opened).to.equal('open');
    later.manager.engine.close();
  });
});
