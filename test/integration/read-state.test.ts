// Read state that survives reconnects (lastReadSeq per member, unread in sync, `read` events, forward only),
// paged conversation lists by activity, and the bounded handshake: over HTTP and sockets across two processes.
import { expect } from 'chai';
import { createGroup, register, request, sendMessage, type Account } from '../support/client.js';
import { serverSuite } from '../support/server-suite.js';
import { connect, emitAck, nextEvent } from '../support/sockets.js';

const send = sendMessage;

const list = (url: string, who: Account, query = '') =>
  request(url, 'GET', `/api/conversations${query}`, { token: who.accessToken });

describe('read state', function () {
  this.timeout(60_000);
  const servers = serverSuite();

  it('when a member reads on one process and reconnects to the other, then lastReadSeq and unread show where they stopped', async () => {
    const [alice, bob] = await Promise.all([register(servers.a.url), register(servers.a.url)]);
    const group = await createGroup(servers.a.url, alice, [bob]);
    for (let i = 0; i < 5; i++) await send(servers.a.url, alice, group, `m${i}`);
    const bobA = await connect(servers.a.url, { token: bob.accessToken });
    const aliceB = await connect(servers.b.url, { token: alice.accessToken });
    const seen = nextEvent(aliceB, 'read', (event) => event.userId === bob.user.id);
    expect(await emitAck(bobA, 'read', { conversationId: group, seq: 3 })).to.deep.equal({ ok: true, seq: 3 });
    expect(await seen).to.deep.equal({ conversationId: group, userId: bob.user.id, seq: 3 });
    bobA.close();

    const bobB = await connect(servers.b.url, { token: bob.accessToken });
    const conversation = (
      await request(servers.b.url, 'GET', `/api/conversations/${group}`, { token: alice.accessToken })
    ).body.conversation;
    const members = Object.fromEntries(
      conversation.members.map((m: { id: string; lastReadSeq: number }) => [m.id, m.lastReadSeq]),
    );
    // Sending moves the sender's own cursor.
    expect(members).to.deep.equal({ [alice.user.id]: 5, [bob.user.id]: 3 });
    const sync = await emitAck(bobB, 'sync', { cursors: { [group]: 5 } });
    expect(sync.unread).to.deep.equal({ [group]: 2 });
  });

  it('when the read cursor is moved back or past the end, then it stays or stops at the last message', async () => {
    const [alice, bob] = await Promise.all([register(servers.a.url), register(servers.a.url)]);
    const group = await createGroup(servers.a.url, alice, [bob]);
    for (let i = 0; i < 4; i++) await send(servers.a.url, alice, group, `r${i}`);
    const bobA = await connect(servers.a.url, { token: bob.accessToken });
    expect((await emitAck(bobA, 'read', { conversationId: group, seq: 3 })).seq).to.equal(3);
    expect((await emitAck(bobA, 'read', { conversationId: group, seq: 1 })).seq).to.equal(3);
    expect(
      (
        await request(servers.b.url, 'POST', `/api/conversations/${group}/read`, {
          token: bob.accessToken,
          body: { seq: 2 },
        })
      ).status,
    ).to.equal(204);
    expect((await emitAck(bobA, 'read', { conversationId: group, seq: 99 })).seq).to.equal(4);
    expect((await emitAck(bobA, 'sync', { cursors: { [group]: 4 } })).unread).to.deep.equal({ [group]: 0 });
  });
});

describe('paged conversation lists', function () {
  this.timeout(60_000);
  const servers = serverSuite();

  it('when listed with a limit, then pages follow the most recent activity, each conversation once, next absent at the end', async () => {
    const [alice, bob] = await Promise.all([register(servers.a.url), register(servers.a.url)]);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await createGroup(servers.a.url, alice, [bob], `g${i}`));
    // Activity: g1 gets a message last, so it leads; the others by creation, newest first.
    await send(servers.a.url, alice, ids[3]!, 'x');
    await send(servers.b.url, bob, ids[1]!, 'y');
    const expected = [ids[1], ids[3], ids[4], ids[2], ids[0]];
    const seen: string[] = [];
    let query = '?limit=2';
    for (let page = 0; page < 3; page++) {
      const reply = await list(page % 2 ? servers.b.url : servers.a.url, bob, query);
      expect(reply.status).to.equal(200);
      seen.push(...reply.body.conversations.map((c: { id: string }) => c.id));
      if (page < 2) expect(reply.body.next).to.be.a('string');
      else expect(reply.body).to.not.have.property('next');
      query = `?limit=2&before=${reply.body.next}`;
    }
    expect(seen).to.deep.equal(expected);
    const whole = await list(servers.a.url, bob);
    expect(whole.body.conversations.map((c: { id: string }) => c.id)).to.deep.equal(expected);
    expect(whole.body.conversations[0].lastMessage).to.include({ body: 'y' });
  });

  it('when conversations get messages while a client pages, then no page repeats one and the rest keep their order', async () => {
    const [alice, bob] = await Promise.all([register(servers.a.url), register(servers.a.url)]);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await createGroup(servers.a.url, alice, [bob], `p${i}`));
    const first = await list(servers.a.url, bob, '?limit=2');
    expect(first.body.conversations.map((c: { id: string }) => c.id)).to.deep.equal([ids[5], ids[4]]);
    // One already shown and one not yet shown move to the top meanwhile, concurrently from both processes.
    await Promise.all([
      send(servers.a.url, alice, ids[4]!, 'seen one moves'),
      send(servers.b.url, alice, ids[1]!, 'unseen one moves'),
    ]);
    const rest: string[] = [];
    let next = first.body.next as string | undefined;
    while (next) {
      const reply = await list(servers.b.url, bob, `?limit=2&before=${next}`);
      rest.push(...reply.body.conversations.map((c: { id: string }) => c.id));
      next = reply.body.next;
    }
    expect(rest).to.deep.equal([ids[3], ids[2], ids[0]]);
    // Where the moved ones are now: the top of a fresh first page (and message:new told live clients).
    const top = await list(servers.a.url, bob, '?limit=2');
    expect(top.body.conversations.map((c: { id: string }) => c.id).sort()).to.deep.equal([ids[1], ids[4]].sort());
  });

  it('when the cursor or limit is garbage, then 400 naming the field', async () => {
    const alice = await register(servers.a.url);
    for (const [query, field] of [
      ['?before=garbage', 'before'],
      ['?before=' + Buffer.from('a-1').toString('base64url'), 'before'],
      ['?before=' + Buffer.from('a99999999999999999999').toString('base64url'), 'before'],
      ['?limit=0', 'limit'],
      ['?limit=201', 'limit'],
      ['?limit=ten', 'limit'],
    ] as const) {
      const reply = await list(servers.a.url, alice, query);
      expect(reply.status, query).to.equal(400);
      expect(reply.body.error.details.fields, query).to.have.property(field);
    }
  });
});

describe('bounded handshake', function () {
  this.timeout(60_000);
  const servers = serverSuite({ SOCKET_HANDSHAKE_CONVERSATIONS: '2' });

  it('when a user has more conversations than the handshake joins, then the most recent are live at once and sync joins the one it names', async () => {
    const [alice, bob] = await Promise.all([register(servers.a.url), register(servers.a.url)]);
    const oldest = await createGroup(servers.a.url, alice, [bob], 'oldest');
    const middle = await createGroup(servers.a.url, alice, [bob], 'middle');
    const newest = await createGroup(servers.a.url, alice, [bob], 'newest');
    const bobB = await connect(servers.b.url, { token: bob.accessToken });
    const live = nextEvent(bobB, 'message:new', (event) => event.message.conversationId === middle);
    await send(servers.a.url, alice, middle, 'joined at handshake');
    await live;
    const missed = nextEvent(bobB, 'message:new', (event) => event.message.conversationId === oldest, 1_500).then(
      () => 'delivered',
      () => 'not delivered',
    );
    const unseen = await send(servers.a.url, alice, oldest, 'not joined yet');
    expect(await missed).to.equal('not delivered');
    const sync = await emitAck(bobB, 'sync', { cursors: { [oldest]: 0, [newest]: 0 } });
    expect(sync.messages.map((m: { id: string }) => m.id)).to.deep.equal([unseen.id]);
    const nowLive = nextEvent(bobB, 'message:new', (event) => event.message.conversationId === oldest);
    await send(servers.a.url, alice, oldest, 'joined by sync');
    expect((await nowLive).message.body).to.equal('joined by sync');
  });
});
