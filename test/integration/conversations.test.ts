import { expect } from 'chai';
import { useTestApp } from '../support/app.js';
import { createGroup, register, request, type Account } from '../support/client.js';

describe('conversations', () => {
  const app = useTestApp();
  let alice: Account;
  let bob: Account;
  let carol: Account;
  before(async () => {
    [alice, bob, carol] = await Promise.all([register(app.url), register(app.url), register(app.url)]);
  });

  const as = (account: Account, method: string, path: string, body?: unknown) =>
    request(app.url, method, path, { token: account.accessToken, body });

  describe('direct', () => {
    it('when opened twice between the same two users, then the first is 201 and the second returns it with 200', async () => {
      const [dave, erin] = await Promise.all([register(app.url), register(app.url)]);
      const first = await as(dave, 'POST', '/api/conversations', { kind: 'direct', userId: erin.user.id });
      expect(first.status).to.equal(201);
      expect(first.body.conversation.kind).to.equal('direct');
      expect(first.body.conversation.members.map((m: { id: string }) => m.id).sort()).to.deep.equal(
        [dave.user.id, erin.user.id].sort(),
      );
      const again = await as(erin, 'POST', '/api/conversations', { kind: 'direct', userId: dave.user.id });
      expect(again.status).to.equal(200);
      expect(again.body.conversation.id).to.equal(first.body.conversation.id);
    });

    it('when opened concurrently from both sides, then one conversation exists', async () => {
      const [dave, erin] = await Promise.all([register(app.url), register(app.url)]);
      const replies = await Promise.all([
        as(dave, 'POST', '/api/conversations', { kind: 'direct', userId: erin.user.id }),
        as(erin, 'POST', '/api/conversations', { kind: 'direct', userId: dave.user.id }),
      ]);
      expect(replies.map((reply) => reply.status).sort()).to.deep.equal([200, 201]);
      expect(replies[0]!.body.conversation.id).to.equal(replies[1]!.body.conversation.id);
    });

    it('when opened with yourself or an unknown user, then 400 or 404', async () => {
      expect(
        (await as(alice, 'POST', '/api/conversations', { kind: 'direct', userId: alice.user.id })).status,
      ).to.equal(400);
      const unknown = await as(alice, 'POST', '/api/conversations', { kind: 'direct', userId: '999999999' });
      expect(unknown.status).to.equal(404);
      expect(unknown.body.error.code).to.equal('not_found');
    });
  });

  describe('group', () => {
    it('when created, then the creator and members belong to it', async () => {
      const reply = await as(alice, 'POST', '/api/conversations', {
        kind: 'group',
        title: 'Team',
        memberIds: [bob.user.id],
      });
      expect(reply.status).to.equal(201);
      expect(reply.body.conversation).to.include({ kind: 'group', title: 'Team' });
      expect(reply.body.conversation.members).to.have.length(2);
    });

    it('when a member id does not exist or the kind is unknown, then 400', async () => {
      const unknownMember = await as(alice, 'POST', '/api/conversations', {
        kind: 'group',
        title: 'x',
        memberIds: ['999999999'],
      });
      expect(unknownMember.status).to.equal(400);
      expect(unknownMember.body.error.details.fields).to.have.property('memberIds');
      expect((await as(alice, 'POST', '/api/conversations', { kind: 'channel' })).status).to.equal(400);
      expect(
        (await as(alice, 'POST', '/api/conversations', { kind: 'group', memberIds: [] })).body.error.details.fields,
      ).to.have.property('title');
      expect(
        (await as(alice, 'POST', '/api/conversations', { kind: 'group', title: 't', memberIds: ['abc'] })).status,
      ).to.equal(400);
    });
  });

  describe('reading', () => {
    it('when a non-member asks for a conversation, then 404 exactly as for one that does not exist', async () => {
      const id = await createGroup(app.url, alice, [bob]);
      const foreign = await as(carol, 'GET', `/api/conversations/${id}`);
      const missing = await as(carol, 'GET', '/api/conversations/999999999');
      expect(foreign.status).to.equal(404);
      expect(foreign.body).to.deep.equal(missing.body);
      expect((await as(carol, 'GET', `/api/conversations/${id}/messages`)).status).to.equal(404);
      expect(
        (await as(carol, 'POST', `/api/conversations/${id}/messages`, { body: 'hi', clientMsgId: 'x' })).status,
      ).to.equal(404);
      expect((await as(carol, 'POST', `/api/conversations/${id}/read`, { seq: 1 })).status).to.equal(404);
    });

    it('when the id is not numeric or too large, then 404', async () => {
      for (const id of ['abc', '1.5', '-1', '99999999999999999999']) {
        const reply = await as(alice, 'GET', `/api/conversations/${id}`);
        expect(reply.status, id).to.equal(404);
        expect(reply.body.error.code).to.equal('not_found');
      }
    });

    it('when listing, then each conversation has members, its last message and the unread count', async () => {
      const [dave, erin] = await Promise.all([register(app.url), register(app.url)]);
      const id = await createGroup(app.url, dave, [erin], 'listing');
      for (const n of [1, 2, 3])
        await as(dave, 'POST', `/api/conversations/${id}/messages`, { body: `m${n}`, clientMsgId: `list-${n}` });
      const reply = await as(erin, 'GET', '/api/conversations');
      expect(reply.status).to.equal(200);
      const listed = reply.body.conversations.find((c: { id: string }) => c.id === id);
      expect(listed.members).to.have.length(2);
      expect(listed.lastMessage).to.include({ body: 'm3', seq: 3, senderId: dave.user.id });
      expect(listed.unread).to.equal(3);
      const forSender = (await as(dave, 'GET', '/api/conversations')).body.conversations.find(
        (c: { id: string }) => c.id === id,
      );
      expect(forSender.unread).to.equal(0);
    });
  });

  describe('membership', () => {
    it('when the owner adds a user to a group, then 201 and the user can read it; removing gives 204 and 404 after', async () => {
      const id = await createGroup(app.url, alice, [bob]);
      const added = await as(alice, 'POST', `/api/conversations/${id}/members`, { userId: carol.user.id });
      expect(added.status).to.equal(201);
      expect((await as(carol, 'GET', `/api/conversations/${id}`)).status).to.equal(200);
      expect((await as(alice, 'POST', `/api/conversations/${id}/members`, { userId: carol.user.id })).status).to.equal(
        409,
      );
      expect((await as(alice, 'DELETE', `/api/conversations/${id}/members/${carol.user.id}`)).status).to.equal(204);
      expect((await as(carol, 'GET', `/api/conversations/${id}`)).status).to.equal(404);
      expect((await as(alice, 'DELETE', `/api/conversations/${id}/members/${carol.user.id}`)).status).to.equal(404);
    });

    it('when changing members of a direct conversation, then 403', async () => {
      const [dave, erin] = await Promise.all([register(app.url), register(app.url)]);
      const direct = await as(dave, 'POST', '/api/conversations', { kind: 'direct', userId: erin.user.id });
      const id = direct.body.conversation.id;
      const reply = await as(dave, 'POST', `/api/conversations/${id}/members`, { userId: carol.user.id });
      expect(reply.status).to.equal(403);
      expect(reply.body.error.code).to.equal('forbidden');
      expect((await as(dave, 'DELETE', `/api/conversations/${id}/members/${erin.user.id}`)).status).to.equal(403);
    });

    it('when a non-member tries to add someone, then 404', async () => {
      const id = await createGroup(app.url, alice, [bob]);
      expect((await as(carol, 'POST', `/api/conversations/${id}/members`, { userId: carol.user.id })).status).to.equal(
        404,
      );
    });
  });
});
