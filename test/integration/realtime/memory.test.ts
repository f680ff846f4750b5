// One process without Redis: the memory adapter, in-process presence, and sessions kept in the signed cookie.
import { expect } from 'chai';
import { HEALTH_DETAIL } from '../../support/services.js';
import { createGroup, register, request } from '../../support/client.js';
import { serverSuite } from '../../support/server-suite.js';
import { collect, connect, emitAck, nextEvent, until } from '../../support/sockets.js';

describe('realtime: SOCKET_ADAPTER=memory without Redis', function () {
  this.timeout(60_000);
  const servers = serverSuite({ REDIS_URL: '', PRESENCE_GRACE_MS: '200' }, 1);

  it('when members connect by token and by cookie, then sends are delivered, presence is tracked and /health names the adapter', async () => {
    const [alice, bob] = await Promise.all([register(servers.a.url), register(servers.a.url)]);
    const conversationId = await createGroup(servers.a.url, alice, [bob]);
    const bobSocket = await connect(servers.a.url, { token: bob.accessToken });
    const presence = collect(bobSocket, 'presence');
    const aliceByCookie = await connect(servers.a.url, { cookie: alice.cookie });
    await until(() => presence.length === 1, 5000, 'online');
    expect(presence[0]).to.deep.equal({ userId: alice.user.id, status: 'online', lastSeenAt: null });

    const delivered = nextEvent(bobSocket, 'message:new');
    const ack = await emitAck(aliceByCookie, 'message:send', {
      conversationId,
      body: 'no redis',
      clientMsgId: 'mem-1',
    });
    expect((await delivered).message.id).to.equal(ack.message.id);

    aliceByCookie.close();
    await until(() => presence.length === 2, 5000, 'offline');
    const rest = await request(servers.a.url, 'GET', `/api/presence?userIds=${alice.user.id}`, {
      token: bob.accessToken,
    });
    expect(rest.body.presence[alice.user.id]).to.deep.equal({ status: 'offline', lastSeenAt: presence[1].lastSeenAt });
    const health = await request(servers.a.url, 'GET', '/health', { headers: HEALTH_DETAIL });
    expect(health.body.sockets.adapter).to.equal('memory');
  });
});
