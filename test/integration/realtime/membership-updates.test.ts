// Bystanders: a member who is neither the actor nor the added/removed user sees membership and role changes live,
// on the other process than the one the change was made on.
import { expect } from 'chai';
import { createGroup, register, request } from '../../support/client.js';
import { serverSuite } from '../../support/server-suite.js';
import { collect, connect, nextEvent, sleep } from '../../support/sockets.js';

describe('realtime: conversation:updated to every member', function () {
  this.timeout(60_000);
  const servers = serverSuite({});

  it('when a member is added, removed or given a role on one process, then a third member on the other process gets the conversation as GET returns it', async () => {
    const [alice, bob, carol] = [
      await register(servers.a.url),
      await register(servers.a.url),
      await register(servers.a.url),
    ];
    const conversationId = await createGroup(servers.a.url, alice, [bob]);
    const bobB = await connect(servers.b.url, { token: bob.accessToken });
    const carolA = await connect(servers.a.url, { token: carol.accessToken });
    const carolUpdates = collect(carolA, 'conversation:updated');
    const asGetReturns = async () =>
      (await request(servers.a.url, 'GET', `/api/conversations/${conversationId}`, { token: bob.accessToken })).body
        .conversation;
    const memberIds = (conversation: { members: { id: string }[] }) =>
      conversation.members.map((member) => member.id).sort();

    const onAdd = nextEvent(bobB, 'conversation:updated');
    const carolJoined = nextEvent(carolA, 'conversation:new');
    expect(
      (
        await request(servers.a.url, 'POST', `/api/conversations/${conversationId}/members`, {
          token: alice.accessToken,
          body: { userId: carol.user.id },
        })
      ).status,
    ).to.equal(201);
    const added = (await onAdd).conversation;
    expect(memberIds(added)).to.deep.equal([alice.user.id, bob.user.id, carol.user.id].sort());
    expect(added).to.deep.equal(await asGetReturns());
    await carolJoined;

    const onRole = nextEvent(bobB, 'conversation:updated');
    const carolSawRole = nextEvent(carolA, 'conversation:updated');
    expect(
      (
        await request(servers.a.url, 'PATCH', `/api/conversations/${conversationId}/members/${carol.user.id}`, {
          token: alice.accessToken,
          body: { role: 'admin' },
        })
      ).status,
    ).to.equal(200);
    const promoted = (await onRole).conversation;
    expect(promoted.members.find((member: { id: string }) => member.id === carol.user.id).role).to.equal('admin');
    expect(promoted).to.deep.equal(await asGetReturns());
    expect((await carolSawRole).conversation.id).to.equal(conversationId);

    const onRemove = nextEvent(bobB, 'conversation:updated');
    const carolLeft = nextEvent(carolA, 'conversation:removed');
    const seenByCarolBefore = carolUpdates.length;
    expect(
      (
        await request(servers.a.url, 'DELETE', `/api/conversations/${conversationId}/members/${carol.user.id}`, {
          token: alice.accessToken,
        })
      ).status,
    ).to.equal(204);
    const removed = (await onRemove).conversation;
    expect(memberIds(removed)).to.deep.equal([alice.user.id, bob.user.id].sort());
    expect(removed).to.deep.equal(await asGetReturns());
    expect(await carolLeft).to.deep.equal({ conversationId });
    await sleep(200);
    // The removed user left the room before the update was sent: she learns nothing more about the group.
    expect(carolUpdates.length).to.equal(seenByCarolBefore);
  });
});
