import { expect } from 'chai';
import { useTestApp } from '../support/app.js';
import { createGroup, register, request, type Account } from '../support/client.js';

describe('messages', () => {
  const app = useTestApp();
  let alice: Account;
  let bob: Account;
  before(async () => {
    [alice, bob] = await Promise.all([register(app.url), register(app.url)]);
  });

  const as = (account: Account, method: string, path: string, body?: unknown) =>
    request(app.url, method, path, { token: account.accessToken, body });
  const send = (account: Account, id: string, body: string, clientMsgId: string) =>
    as(account, 'POST', `/api/conversations/${id}/messages`, { body, clientMsgId });

  it('when a message is sent, then 201 with the stored message and seq 1', async () => {
    const id = await createGroup(app.url, alice, [bob]);
    const reply = await send(alice, id, 'hello', 'c-1');
    expect(reply.status).to.equal(201);
    expect(reply.body.message).to.include({
      conversationId: id,
      seq: 1,
      senderId: alice.user.id,
      body: 'hello',
      clientMsgId: 'c-1',
    });
    expect(reply.body.message.id).to.be.a('string');
  });

  it('when the same clientMsgId is sent again, then 200 with the stored message and no duplicate', async () => {
    const id = await createGroup(app.url, alice, [bob]);
    const first = await send(alice, id, 'once', 'idem-1');
    const again = await send(alice, id, 'once', 'idem-1');
    expect(again.status).to.equal(200);
    expect(again.body.message).to.deep.equal(first.body.message);
    const next = await send(alice, id, 'next', 'idem-2');
    expect(next.body.message.seq).to.equal(2);
    const history = await as(bob, 'GET', `/api/conversations/${id}/messages`);
    expect(history.body.messages).to.have.length(2);
  });

  it('when the same clientMsgId is sent concurrently, then exactly one message is stored and seqs have no gap', async () => {
    const id = await createGroup(app.url, alice, [bob]);
    const replies = await Promise.all(Array.from({ length: 10 }, () => send(alice, id, 'race', 'same-id')));
    expect(replies.filter((reply) => reply.status === 201)).to.have.length(1);
    expect(replies.every((reply) => reply.body.message.seq === 1)).to.equal(true);
    expect((await send(alice, id, 'after', 'after-race')).body.message.seq).to.equal(2);
  });

  it('when another user reuses a clientMsgId, then it is a different message', async () => {
    const id = await createGroup(app.url, alice, [bob]);
    await send(alice, id, 'from alice', 'shared');
    const fromBob = await send(bob, id, 'from bob', 'shared');
    expect(fromBob.status).to.equal(201);
    expect(fromBob.body.message.seq).to.equal(2);
  });

  it('when a clientMsgId is reused in another conversation, then 409', async () => {
    const [first, second] = [await createGroup(app.url, alice, [bob]), await createGroup(app.url, alice, [bob])];
    await send(alice, first, 'here', 'moved');
    const reply = await send(alice, second, 'there', 'moved');
    expect(reply.status).to.equal(409);
    expect(reply.body.error.code).to.equal('conflict');
  });

  it('when 200 sends from several users arrive at once, then seqs are exactly 1..200 in commit order', async () => {
    const senders = [alice, bob, ...(await Promise.all([register(app.url), register(app.url)]))];
    const id = await createGroup(app.url, alice, senders.slice(1));
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => send(senders[i % senders.length]!, id, `m${i}`, `burst-${i}`)),
    );
    expect(replies.every((reply) => reply.status === 201)).to.equal(true);
    const seqs = replies.map((reply) => reply.body.message.seq as number).sort((a, b) => a - b);
    expect(seqs).to.deep.equal(Array.from({ length: 200 }, (_, i) => i + 1));
    // Commit order: a later seq never has an earlier id (ids are taken inside the same locked transaction).
    const history = await as(alice, 'GET', `/api/conversations/${id}/messages?after=0&limit=500`);
    const ids = history.body.messages.map((m: { id: string }) => BigInt(m.id));
    expect(ids).to.deep.equal([...ids].sort((a: bigint, b: bigint) => (a < b ? -1 : 1)));
  });

  describe('history', () => {
    let id: string;
    const sent: unknown[] = [];
    before(async () => {
      id = await createGroup(app.url, alice, [bob]);
      for (let i = 1; i <= 12; i++) sent.push((await send(alice, id, `m${i}`, `h-${id}-${i}`)).body.message);
    });

    it('when a page is read, then each message is exactly what its send answered', async () => {
      const reply = await as(bob, 'GET', `/api/conversations/${id}/messages?after=0`);
      expect(reply.headers.get('content-type')).to.match(/^application\/json/);
      expect(reply.body.messages).to.deep.equal(sent);
    });
    const seqsOf = (reply: { body: { messages: Array<{ seq: number }> } }) => reply.body.messages.map((m) => m.seq);

    it('when no cursor is given, then the newest page, newest first', async () => {
      expect(seqsOf(await as(bob, 'GET', `/api/conversations/${id}/messages?limit=3`))).to.deep.equal([12, 11, 10]);
    });

    it('when before is given, then older messages, newest first', async () => {
      expect(seqsOf(await as(bob, 'GET', `/api/conversations/${id}/messages?before=5&limit=50`))).to.deep.equal([
        4, 3, 2, 1,
      ]);
    });

    it('when after is given, then newer messages, oldest first', async () => {
      expect(seqsOf(await as(bob, 'GET', `/api/conversations/${id}/messages?after=9`))).to.deep.equal([10, 11, 12]);
    });

    it('when the limit or cursors are invalid, then 400 naming the field', async () => {
      for (const query of ['limit=501', 'limit=0', 'limit=abc', 'before=-1', 'after=x', 'before=3&after=1']) {
        const reply = await as(bob, 'GET', `/api/conversations/${id}/messages?${query}`);
        expect(reply.status, query).to.equal(400);
        expect(reply.body.error.code).to.equal('validation_failed');
      }
    });
  });

  describe('read cursor', () => {
    it('when read moves forward, then unread drops; when it moves back, then it stays', async () => {
      const id = await createGroup(app.url, alice, [bob]);
      for (let i = 1; i <= 5; i++) await send(alice, id, `r${i}`, `r-${id}-${i}`);
      const unread = async () =>
        (await as(bob, 'GET', '/api/conversations')).body.conversations.find((c: { id: string }) => c.id === id).unread;
      expect(await unread()).to.equal(5);
      expect((await as(bob, 'POST', `/api/conversations/${id}/read`, { seq: 3 })).status).to.equal(204);
      expect(await unread()).to.equal(2);
      expect((await as(bob, 'POST', `/api/conversations/${id}/read`, { seq: 1 })).status).to.equal(204);
      expect(await unread()).to.equal(2);
      // A cursor past the last message stops at the last message.
      await as(bob, 'POST', `/api/conversations/${id}/read`, { seq: 1000 });
      expect(await unread()).to.equal(0);
      await send(alice, id, 'r6', `r-${id}-6`);
      expect(await unread()).to.equal(1);
    });

    it('when seq is missing or not a number, then 400', async () => {
      const id = await createGroup(app.url, alice, [bob]);
      expect((await as(bob, 'POST', `/api/conversations/${id}/read`, {})).status).to.equal(400);
      expect((await as(bob, 'POST', `/api/conversations/${id}/read`, { seq: 'soon' })).status).to.equal(400);
    });
  });

  describe('bad message input', () => {
    for (const [label, body, field] of [
      ['an empty body', { body: '', clientMsgId: 'a' }, 'body'],
      ['a body over 4000 characters', { body: 'x'.repeat(4001), clientMsgId: 'a' }, 'body'],
      ['no clientMsgId', { body: 'hi' }, 'clientMsgId'],
      ['a non-string body', { body: 42, clientMsgId: 'a' }, 'body'],
      // PostgreSQL refuses NUL in text: without validation this was a 500 at the database.
      ['a NUL character in the body', { body: 'a\u0000b', clientMsgId: 'a' }, 'body'],
      ['a NUL character in the clientMsgId', { body: 'hi', clientMsgId: 'a\u0000' }, 'clientMsgId'],
    ] as const) {
      it(`when given ${label}, then 400 naming ${field} and nothing is stored`, async () => {
        const id = await createGroup(app.url, alice, [bob]);
        const reply = await as(alice, 'POST', `/api/conversations/${id}/messages`, body);
        expect(reply.status).to.equal(400);
        expect(reply.body.error.details.fields).to.have.property(field);
        expect((await as(alice, 'GET', `/api/conversations/${id}/messages`)).body.messages).to.deep.equal([]);
      });
    }

    it('when text elsewhere holds a NUL character, then 400 rather than a database error', async () => {
      const title = await request(app.url, 'POST', '/api/conversations', {
        token: alice.accessToken,
        body: { kind: 'group', title: 'a\u0000', memberIds: [] },
      });
      const search = await request(app.url, 'GET', '/api/users?q=a%00', { token: alice.accessToken });
      const login = await request(app.url, 'POST', '/api/auth/login', {
        body: { username: 'a\u0000b', password: 'whatever1' },
      });
      for (const reply of [title, search, login]) expect(reply.status).to.equal(400);
    });

    it('when the body is exactly 4000 characters, then it is stored', async () => {
      const id = await createGroup(app.url, alice, [bob]);
      expect((await send(alice, id, 'y'.repeat(4000), 'max')).status).to.equal(201);
    });
  });
});
