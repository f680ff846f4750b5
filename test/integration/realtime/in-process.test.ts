// socket.io is part of what buildApp builds: a test can run sockets against an in-process app on port 0, with no
// child process, and the app closes every resource in the lifecycle's declared order.
import { expect } from 'chai';
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
    const received = nextEvent(bobSocket, 'message:new', (payload: { message: { body: string } }) => payload.message.body === 'over rest');
    const sent = await request(app.url, 'POST', `/api/conversations/${conversationId}/messages`, { token: alice.accessToken, body: { body: 'over rest', clientMsgId: 'ip-1' } });
    expect(sent.status).to.equal(201);
    expect((await received).message).to.include({ body: 'over rest', seq: 1 });
    const ack = await emitAck(bobSocket, 'message:send', { conversationId, body: 'over socket', clientMsgId: 'ip-2' });
    expect(ack).to.deep.include({ ok: true });
    expect(ack.message).to.include({ seq: 2 });
  });

  it('when the app is built, then its closers are registered in the declared order', () => {
    expect(app.parley.lifecycle.registered()).to.deep.equal(['realtime', 'revocations', 'search re-index', 'worker pool', 'metrics', 'database', 'redis']);
  });
});
