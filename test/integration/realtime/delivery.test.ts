// Delivery across two real server processes sharing PostgreSQL and Redis (SOCKET_ADAPTER=redis).
import { expect } from 'chai';
import { createGroup, register, request, type Account } from '../../support/client.js';
import { serverSuite } from '../../support/server-suite.js';
import { collect, connect, emitAck, nextEvent, sleep, until, type Client } from '../../support/sockets.js';

describe('realtime: delivery across processes', function () {
  this.timeout(60_000);
  const servers = serverSuite();

  it('when a member sends on one process, then every member socket on both processes gets message:new exactly once', async () => {
    const [alice, bob, carol] = await Promise.all([
      register(servers.a.url),
      register(servers.a.url),
      register(servers.a.url),
    ]);
    const conversationId = await createGroup(servers.a.url, alice, [bob, carol]);
    const aliceA = await connect(servers.a.url, { token: alice.accessToken });
    const aliceB = await connect(servers.b.url, { token: alice.accessToken }); // Alice's other device
    const bobB = await connect(servers.b.url, { token: bob.accessToken });
    const carolA = await connect(servers.a.url, { token: carol.accessToken });
    const received = [aliceB, bobB, carolA].map((socket) => collect(socket, 'message:new'));

    const ack = await emitAck(aliceA, 'message:send', { conversationId, body: 'hello', clientMsgId: 'm1' });
    expect(ack.ok).to.equal(true);
    expect(ack.message).to.include({ conversationId, seq: 1, body: 'hello', senderId: alice.user.id });

    await until(() => received.every((list) => list.length >= 1), 5000, 'deliveries');
    await sleep(300); // a duplicate would arrive in this window
    for (const list of received) {
      expect(list).to.have.length(1);
      expect(list[0].message.id).to.equal(ack.message.id);
    }
  });

  it('when the same clientMsgId is sent again, then the stored message is acked and announced again under the same id', async () => {
    const [alice, bob] = await Promise.all([register(servers.a.url), register(servers.a.url)]);
    const conversationId = await createGroup(servers.a.url, alice, [bob]);
    const aliceA = await connect(servers.a.url, { token: alice.accessToken });
    const bobB = await connect(servers.b.url, { token: bob.accessToken });
    const received = collect(bobB, 'message:new');
    const first = await emitAck(aliceA, 'message:send', { conversationId, body: 'once', clientMsgId: 'dup' });
    const again = await emitAck(aliceA, 'message:send', { conversationId, body: 'once', clientMsgId: 'dup' });
    expect(again.ok).to.equal(true);
    expect(again.message.id).to.equal(first.message.id);
    // A retry may follow a process that died between commit and announcement: it is announced again, and
    // clients keep one copy per id. Stored once all the same.
    await until(() => received.length >= 2, 5000, 'delivery and re-announcement');
    expect(new Set(received.map((event) => event.message.id))).to.deep.equal(new Set([first.message.id]));
  });

  it('when a message is sent over REST, then member sockets on both processes get it live', async () => {
    const [alice, bob] = await Promise.all([register(servers.a.url), register(servers.a.url)]);
    const conversationId = await createGroup(servers.a.url, alice, [bob]);
    const bobA = await connect(servers.a.url, { token: bob.accessToken });
    const bobB = await connect(servers.b.url, { token: bob.accessToken });
    const events = [nextEvent(bobA, 'message:new'), nextEvent(bobB, 'message:new')];
    const reply = await request(servers.b.url, 'POST', `/api/conversations/${conversationId}/messages`, {
      token: alice.accessToken,
      body: { body: 'over rest', clientMsgId: 'r1' },
    });
    expect(reply.status).to.equal(201);
    for (const event of await Promise.all(events)) expect(event.message.id).to.equal(reply.body.message.id);
  });

  it('when 150 sends race from clients on both processes, then every member socket gets all 150 in seq order with seqs 1..150', async () => {
    const members: Account[] = await Promise.all(Array.from({ length: 6 }, () => register(servers.a.url)));
    const conversationId = await createGroup(servers.a.url, members[0]!, members.slice(1));
    const sockets: Client[] = await Promise.all(
      members.flatMap((member, i) => [connect((i % 2 ? servers.a : servers.b).url, { token: member.accessToken })]),
    );
    const received = sockets.map((socket) => collect(socket, 'message:new'));

    const acks = await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        emitAck(sockets[i % sockets.length]!, 'message:send', {
          conversationId,
          body: `m${i}`,
          clientMsgId: `race-${i}`,
        }),
      ),
    );
    expect(acks.every((ack) => ack.ok)).to.equal(true);
    expect(acks.map((ack) => ack.message.seq).sort((x, y) => x - y)).to.deep.equal(
      Array.from({ length: 150 }, (_, i) => i + 1),
    );

    await until(() => received.every((list) => list.length >= 150), 15_000, 'all deliveries');
    await sleep(300);
    for (const list of received) {
      expect(list.map((event) => event.message.seq)).to.deep.equal(Array.from({ length: 150 }, (_, i) => i + 1));
    }
  });
});
