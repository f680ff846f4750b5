// A send committed by a process that died before announcing it: the client never got its ack and retries with
// the same clientMsgId elsewhere; the retry answers the stored message and announces it, so members connected at
// that moment see it live instead of only through sync.
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { createGroup, register, request } from '../../support/client.js';
import { startServer, stopAll } from '../../support/processes.js';
import { closeAllClients, connect, nextEvent } from '../../support/sockets.js';

const DIE_AFTER_COMMIT = fileURLToPath(new URL('../../fixtures/faults/die-after-send-commit.mjs', import.meta.url));

describe('realtime: a send committed by a process that died before its ack', function () {
  this.timeout(60_000);
  afterEach(closeAllClients);
  after(stopAll);

  it('when the client retries on another process, then it gets the stored message (created: false) and members get it live', async () => {
    const [doomed, survivor] = await Promise.all([
      startServer({}, undefined, ['--import', DIE_AFTER_COMMIT]),
      startServer(),
    ]);
    const [alice, bob] = await Promise.all([register(survivor.url), register(survivor.url)]);
    const conversationId = await createGroup(survivor.url, alice, [bob]);
    const bobSocket = await connect(survivor.url, { token: bob.accessToken });
    const send = (url: string) =>
      request(url, 'POST', `/api/conversations/${conversationId}/messages`, {
        token: alice.accessToken,
        body: { body: 'stored, never acked', clientMsgId: 'crash-1' },
      });

    const lost = await send(doomed.url).then(
      () => 'answered',
      () => 'no answer',
    );
    expect(lost).to.equal('no answer');
    expect(await doomed.stop()).to.equal(null); // killed by the fault, not exited
    const live = nextEvent(bobSocket, 'message:new');
    const retry = await send(survivor.url);
    expect(retry.status).to.equal(200); // stored before: created false
    expect(retry.body.message.seq).to.equal(1);
    expect((await live).message.id).to.equal(retry.body.message.id);
    const history = await request(survivor.url, 'GET', `/api/conversations/${conversationId}/messages`, {
      token: alice.accessToken,
    });
    expect(history.body.messages).to.have.length(1);
  });
});
