// socket.io is part of what buildApp builds: a test can run sockets against an in-process app on port 0, with no
// child process, and the app closes every resource in the lifecycle's declared order.
import { expect } from 'chai';
import { io } from 'socket.io-client';
import { useTestApp } from '../../support/app.js';
import { createGroup, register, request } from '../../support/client.js';
import { closeAllClients, connect, emitAck, nextEvent } from '../../support/sockets.js';

describe('realtime in process', function () {
  this.timeout(30_000);
  const app = useTestApp();
  afterEach(closeAllClients);

  it('when a member sends over REST, then another member socket of the same in-process app receives it, and a socket send is acked', async () => {
    const [alice, bob] = await Promise.all([register(app.url), register(app.url)]);
    const conversationId = await createGroup(app.url, alice, [bob]);
    const bobSocket = await connect(app.url, { token: bob.accessToken });
    const received = nextEvent(
      bobSocket,
      'message:new',
      (payload: { message: { body: string } }) => payload.message.body === 'over rest',
    );
    const sent = await request(app.url, 'POST', `/api/conversations/${conversationId}/messages`, {
      token: alice.accessToken,
      body: { body: 'over rest', clientMsgId: 'ip-1' },
    });
    expect(sent.status).to.equal(201);
    expect((await received).message).to.include({ body: 'over rest', seq: 1 });
    const ack = await emitAck(bobSocket, 'message:send', { conversationId, body: 'over socket', clientMsgId: 'ip-2' });
    expect(ack).to.deep.include({ ok: true });
    expect(ack.message).to.include({ seq: 2 });
  });

  it('when a client connects with long-polling only, then socket.io answers its requests alone and it stays connected (the HTTP API never answers /socket.io/ too)', async () => {
    const alice = await register(app.url);
    const socket = io(app.url, {
      transports: ['polling'],
      auth: { token: alice.accessToken },
      forceNew: true,
      reconnection: false,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      // A few polling round trips: an event out and its ack back.
      const ack = await socket.timeout(5_000).emitWithAck('sync', { cursors: {} });
      expect(ack).to.deep.include({ ok: true });
      expect(socket.connected).to.equal(true);
    } finally {
      socket.close();
    }
  });

  it('when the app is built, then its closers are registered in the declared order', () => {
    expect(app.parley.lifecycle.registered()).to.deep.equal([
      'realtime',
      'revocations',
      'search re-index',
      'attachment sweep',
      'job queues',
      'worker pool',
      'upload threads',
      'attachment store',
      'metrics',
      'database',
      'redis',
    ]);
  });
});
