// Editing and deleting over HTTP and sockets, across two processes: who may do what, tombstones, bad input, and
// message:updated reaching every member socket on both processes.
import { expect } from 'chai';
import pg from 'pg';
import {
  createGroup,
  deleteMessage,
  editMessage,
  register,
  request,
  sendMessage,
  type Account,
} from '../support/client.js';
import { serverSuite } from '../support/server-suite.js';
import { testDatabaseUrl } from '../support/services.js';
import { connect, emitAck, nextEvent } from '../support/sockets.js';

const [send, edit, remove] = [sendMessage, editMessage, deleteMessage];

describe('message edits and deletions', function () {
  this.timeout(60_000);
  const servers = serverSuite();
  let alice: Account;
  let bob: Account;
  let carol: Account;
  let group: string;

  beforeEach(async () => {
    [alice, bob, carol] = await Promise.all([
      register(servers.a.url),
      register(servers.a.url),
      register(servers.a.url),
    ]);
    group = await createGroup(servers.a.url, alice, [bob, carol]);
  });

  it('when the sender edits over REST on one process, then every member socket on both processes gets message:updated', async () => {
    const message = await send(servers.a.url, bob, group, 'first draft');
    const [aliceA, carolB, bobB] = await Promise.all([
      connect(servers.a.url, { token: alice.accessToken }),
      connect(servers.b.url, { token: carol.accessToken }),
      connect(servers.b.url, { token: bob.accessToken }),
    ]);
    const events = [aliceA, carolB, bobB].map((socket) => nextEvent(socket, 'message:updated'));
    const reply = await edit(servers.b.url, bob, group, message.seq, 'final text');
    expect(reply.status).to.equal(200);
    expect(reply.body.message).to.include({ id: message.id, seq: message.seq, body: 'final text', deletedAt: null });
    expect(reply.body.message.editedAt).to.be.a('string');
    for (const event of await Promise.all(events)) expect(event.message).to.deep.equal(reply.body.message);

    const history = await request(servers.a.url, 'GET', `/api/conversations/${group}/messages`, {
      token: carol.accessToken,
    });
    expect(history.body.messages[0]).to.deep.equal(reply.body.message);
  });

  it('when the sender deletes over a socket, then the ack is ok, members get the tombstone and the seq stays in history', async () => {
    const [first, second] = [
      await send(servers.a.url, bob, group, 'one'),
      await send(servers.a.url, bob, group, 'two'),
    ];
    const bobA = await connect(servers.a.url, { token: bob.accessToken });
    const aliceB = await connect(servers.b.url, { token: alice.accessToken });
    const event = nextEvent(aliceB, 'message:updated');
    const ack = await emitAck(bobA, 'message:delete', { conversationId: group, seq: first.seq });
    expect(ack).to.deep.equal({ ok: true });
    const { message } = await event;
    expect(message).to.include({ id: first.id, seq: first.seq, body: '' });
    expect(message.deletedAt).to.be.a('string');

    const history = await request(servers.b.url, 'GET', `/api/conversations/${group}/messages?after=0`, {
      token: alice.accessToken,
    });
    expect(history.body.messages.map((m: { seq: number; body: string }) => [m.seq, m.body])).to.deep.equal([
      [first.seq, ''],
      [second.seq, 'two'],
    ]);
    const list = await request(servers.a.url, 'GET', '/api/conversations', { token: carol.accessToken });
    expect(list.body.conversations.find((c: { id: string }) => c.id === group).lastMessage.body).to.equal('two');
  });

  it('when the sender edits over a socket, then the ack carries the edited message', async () => {
    const message = await send(servers.a.url, alice, group, 'socket draft');
    const aliceB = await connect(servers.b.url, { token: alice.accessToken });
    const ack = await emitAck(aliceB, 'message:edit', {
      conversationId: group,
      seq: message.seq,
      body: 'socket final',
    });
    expect(ack.ok).to.equal(true);
    expect(ack.message).to.include({ id: message.id, body: 'socket final' });
  });

  it('when someone else edits, then 403 over REST and forbidden over a socket, and the body is unchanged', async () => {
    const message = await send(servers.a.url, bob, group, 'mine');
    expect((await edit(servers.a.url, alice, group, message.seq, 'hijacked')).status).to.equal(403);
    const carolA = await connect(servers.a.url, { token: carol.accessToken });
    const ack = await emitAck(carolA, 'message:edit', { conversationId: group, seq: message.seq, body: 'hijacked' });
    expect(ack).to.deep.include({ ok: false });
    expect(ack.error.code).to.equal('forbidden');
    const history = await request(servers.a.url, 'GET', `/api/conversations/${group}/messages`, {
      token: bob.accessToken,
    });
    expect(history.body.messages[0]).to.include({ body: 'mine', editedAt: null });
  });

  it("when a group owner or admin deletes a member's message, then 204; a plain member gets 403", async () => {
    const message = await send(servers.a.url, bob, group, 'moderate me');
    expect((await remove(servers.a.url, carol, group, message.seq)).status).to.equal(403);
    const promoted = await request(servers.a.url, 'PATCH', `/api/conversations/${group}/members/${carol.user.id}`, {
      token: alice.accessToken,
      body: { role: 'admin' },
    });
    expect(promoted.status).to.equal(200);
    expect((await remove(servers.b.url, carol, group, message.seq)).status).to.equal(204);
    const other = await send(servers.a.url, carol, group, 'owner deletes this');
    expect((await remove(servers.a.url, alice, group, other.seq)).status).to.equal(204);
  });

  it('when the other member of a direct conversation deletes, then 403: only the sender deletes there', async () => {
    const direct = await request(servers.a.url, 'POST', '/api/conversations', {
      token: alice.accessToken,
      body: { kind: 'direct', userId: bob.user.id },
    });
    const message = await send(servers.a.url, bob, direct.body.conversation.id, 'private');
    expect((await remove(servers.a.url, alice, direct.body.conversation.id, message.seq)).status).to.equal(403);
    expect((await remove(servers.a.url, bob, direct.body.conversation.id, message.seq)).status).to.equal(204);
  });

  it('when a deleted message is edited, then 409; deleted again, then 204 and no second event', async () => {
    const message = await send(servers.a.url, bob, group, 'gone soon');
    expect((await remove(servers.a.url, bob, group, message.seq)).status).to.equal(204);
    const reply = await edit(servers.a.url, bob, group, message.seq, 'back?');
    expect(reply.status).to.equal(409);
    expect(reply.body.error.code).to.equal('conflict');
    const aliceA = await connect(servers.a.url, { token: alice.accessToken });
    const unexpected = nextEvent(aliceA, 'message:updated', () => true, 1_000).then(
      () => 'event',
      () => 'none',
    );
    expect((await remove(servers.b.url, bob, group, message.seq)).status).to.equal(204);
    expect(await unexpected).to.equal('none');
  });

  it('when the seq does not exist or is not a seq, then 404; a non-member gets 404 too', async () => {
    const message = await send(servers.a.url, bob, group, 'exists');
    expect((await edit(servers.a.url, bob, group, message.seq + 100, 'x')).status).to.equal(404);
    for (const seq of ['0', '-1', 'abc', '1.5', '99999999999999999999']) {
      expect((await edit(servers.a.url, bob, group, seq, 'x')).status, seq).to.equal(404);
      expect((await remove(servers.a.url, bob, group, seq)).status, seq).to.equal(404);
    }
    const stranger = await register(servers.a.url);
    expect((await edit(servers.a.url, stranger, group, message.seq, 'x')).status).to.equal(404);
    expect((await remove(servers.a.url, stranger, group, message.seq)).status).to.equal(404);
  });

  it('when the new body is empty, too long, missing or not text, then 400 naming body, over REST and sockets', async () => {
    const message = await send(servers.a.url, bob, group, 'keep');
    for (const body of ['', 'x'.repeat(4001), undefined, 42, 'nul\u0000']) {
      const reply = await edit(servers.a.url, bob, group, message.seq, body);
      expect(reply.status, String(body)).to.equal(400);
      expect(reply.body.error.details.fields).to.have.property('body');
    }
    const bobA = await connect(servers.a.url, { token: bob.accessToken });
    for (const payload of [
      { conversationId: group, seq: message.seq, body: '' },
      { conversationId: group, seq: 0, body: 'x' },
      { conversationId: group },
      'junk',
    ]) {
      const ack = await emitAck(bobA, 'message:edit', payload);
      expect(ack.ok).to.equal(false);
      expect(ack.error.code).to.equal('validation_failed');
    }
    expect((await emitAck(bobA, 'message:delete', { conversationId: group, seq: 'one' })).error.code).to.equal(
      'validation_failed',
    );
    const history = await request(servers.a.url, 'GET', `/api/conversations/${group}/messages`, {
      token: bob.accessToken,
    });
    expect(history.body.messages[0]).to.include({ body: 'keep', editedAt: null });
  });
});

describe('message edits: the edit window', function () {
  this.timeout(30_000);
  const servers = serverSuite({ MESSAGE_EDIT_WINDOW: '600' }, 1);

  it('when a message is older than MESSAGE_EDIT_WINDOW, then its edit is 403 while a newer one edits', async () => {
    const [alice, bob] = await Promise.all([register(servers.a.url), register(servers.a.url)]);
    const group = await createGroup(servers.a.url, alice, [bob]);
    const old = await send(servers.a.url, alice, group, 'old');
    const fresh = await send(servers.a.url, alice, group, 'fresh');
    // The database's clock decides a message's age: this one is made eleven minutes old.
    const db = new pg.Client({ connectionString: testDatabaseUrl() });
    await db.connect();
    try {
      await db.query(`UPDATE messages SET created_at = now() - interval '11 minutes' WHERE id = $1`, [old.id]);
    } finally {
      await db.end();
    }
    const refused = await edit(servers.a.url, alice, group, old.seq, 'too late');
    expect(refused.status).to.equal(403);
    expect(refused.body.error.message).to.match(/600 seconds/);
    expect((await edit(servers.a.url, alice, group, fresh.seq, 'in time')).status).to.equal(200);
    // Deleting is not limited by the window.
    expect((await remove(servers.a.url, alice, group, old.seq)).status).to.equal(204);
  });
});
