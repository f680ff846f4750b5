// Resource abuse through sync: an answer is capped by bytes as well as by count, and a socket gets only a few
// syncs a second.
import { expect } from 'chai';
import { createGroup, register, request } from '../../support/client.js';
import { startServer, stopAll, type ServerProcess } from '../../support/processes.js';
import { closeAllClients, connect, emitAck } from '../../support/sockets.js';

const MAX_BYTES = 20 * 1024;

describe('realtime: sync limits', function () {
  this.timeout(60_000);
  let server: ServerProcess;
  let limited: ServerProcess;
  before(async () => {
    [server, limited] = await Promise.all([
      startServer({ SYNC_MAX_BYTES: String(MAX_BYTES), SYNC_PER_SEC: '100', SYNC_BURST: '100' }),
      startServer({ SYNC_PER_SEC: '1', SYNC_BURST: '2' }),
    ]);
  });
  afterEach(closeAllClients);
  after(stopAll);

  it('sync flood attack: when the missed messages exceed SYNC_MAX_BYTES, then each answer stays within it and paging returns every message once, in order', async () => {
    const [alice, bob] = await Promise.all([register(server.url), register(server.url)]);
    const conversationId = await createGroup(server.url, alice, [bob]);
    for (let i = 1; i <= 30; i++) {
      const body = `${i} `.padEnd(3000, 'x');
      await request(server.url, 'POST', `/api/conversations/${conversationId}/messages`, {
        token: alice.accessToken,
        body: { body, clientMsgId: `big-${i}` },
      });
    }
    const socket = await connect(server.url, { token: bob.accessToken });
    const seqs: number[] = [];
    let cursor = 0;
    let pages = 0;
    for (let more = true; more; pages++) {
      const answer = await emitAck(socket, 'sync', { cursors: { [conversationId]: cursor } });
      expect(answer.ok, JSON.stringify(answer).slice(0, 200)).to.equal(true);
      expect(Buffer.byteLength(JSON.stringify(answer.messages))).to.be.at.most(MAX_BYTES);
      for (const message of answer.messages) seqs.push(message.seq);
      cursor = seqs.at(-1) ?? cursor;
      more = answer.more;
    }
    expect(pages).to.be.at.least(4);
    expect(seqs).to.deep.equal(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('when a socket syncs faster than SYNC_PER_SEC allows, then the excess is rate_limited and the socket stays', async () => {
    const [alice] = await Promise.all([register(limited.url)]);
    const conversationId = await createGroup(limited.url, alice, []);
    const socket = await connect(limited.url, { token: alice.accessToken });
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => emitAck(socket, 'sync', { cursors: { [conversationId]: 0 } })),
    );
    expect(answers.map((answer) => answer.ok)).to.deep.equal([true, true, false, false]);
    expect(answers[2].error.code).to.equal('rate_limited');
    expect(socket.connected).to.equal(true);
  });
});
