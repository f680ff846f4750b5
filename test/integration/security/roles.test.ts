// Attack: a plain member of a group adds strangers and removes anyone, the creator included. Roles now decide.
import { expect } from 'chai';
import { createGroup, register, request, type Account } from '../../support/client.js';
import { useTestApp } from '../../support/app.js';

describe('security: group roles', function () {
  this.timeout(30_000);
  const app = useTestApp();

  const as = (account: Account, method: string, path: string, body?: unknown) =>
    request(app.url, method, path, { token: account.accessToken, ...(body === undefined ? {} : { body }) });
  const members = async (actor: Account, id: string) =>
    Object.fromEntries(
      (
        (await as(actor, 'GET', `/api/conversations/${id}`)).body.conversation.members as { id: string; role: string }[]
      ).map((m) => [m.id, m.role]),
    );

  it('when a group is created, then its creator is the owner, the rest members, each with a read cursor', async () => {
    const [owner, bob] = await Promise.all([register(app.url), register(app.url)]);
    const id = await createGroup(app.url, owner, [bob]);
    const conversation = (await as(owner, 'GET', `/api/conversations/${id}`)).body.conversation;
    const byId = Object.fromEntries(
      conversation.members.map((m: { id: string; role: string; lastReadSeq: number }) => [
        m.id,
        [m.role, m.lastReadSeq],
      ]),
    );
    expect(byId).to.deep.equal({ [owner.user.id]: ['owner', 0], [bob.user.id]: ['member', 0] });
  });

  it('group takeover attack: when a plain member adds, removes or promotes anyone, then 403 forbidden and nothing changes', async () => {
    const [owner, bob, carol, stranger] = await Promise.all([
      register(app.url),
      register(app.url),
      register(app.url),
      register(app.url),
    ]);
    const id = await createGroup(app.url, owner, [bob, carol]);
    const attempts = [
      await as(bob, 'POST', `/api/conversations/${id}/members`, { userId: stranger.user.id }),
      await as(bob, 'DELETE', `/api/conversations/${id}/members/${owner.user.id}`),
      await as(bob, 'DELETE', `/api/conversations/${id}/members/${carol.user.id}`),
      await as(bob, 'PATCH', `/api/conversations/${id}/members/${bob.user.id}`, { role: 'admin' }),
    ];
    for (const reply of attempts) {
      expect(reply.status).to.equal(403);
      expect(reply.body.error.code).to.equal('forbidden');
    }
    expect(await members(owner, id)).to.deep.equal({
      [owner.user.id]: 'owner',
      [bob.user.id]: 'member',
      [carol.user.id]: 'member',
    });
  });

  it('when the owner makes an admin, then the admin adds and removes members but not the owner or another admin, nor roles', async () => {
    const [owner, admin, other, bob, dave] = await Promise.all([
      register(app.url),
      register(app.url),
      register(app.url),
      register(app.url),
      register(app.url),
    ]);
    const id = await createGroup(app.url, owner, [admin, other, bob]);
    for (const user of [admin, other]) {
      expect(
        (await as(owner, 'PATCH', `/api/conversations/${id}/members/${user.user.id}`, { role: 'admin' })).status,
      ).to.equal(200);
    }
    expect((await as(admin, 'POST', `/api/conversations/${id}/members`, { userId: dave.user.id })).status).to.equal(
      201,
    );
    expect((await as(admin, 'DELETE', `/api/conversations/${id}/members/${bob.user.id}`)).status).to.equal(204);
    expect((await as(admin, 'DELETE', `/api/conversations/${id}/members/${owner.user.id}`)).status).to.equal(403);
    expect((await as(admin, 'DELETE', `/api/conversations/${id}/members/${other.user.id}`)).status).to.equal(403);
    expect(
      (await as(admin, 'PATCH', `/api/conversations/${id}/members/${dave.user.id}`, { role: 'admin' })).status,
    ).to.equal(403);
    expect(
      (
        await as(owner, 'PATCH', `/api/conversations/${id}/members/${other.user.id}`, { role: 'member' })
      ).body.conversation.members.find((m: { id: string }) => m.id === other.user.id).role,
    ).to.equal('member');
  });

  it('when a member leaves, then 204; when the owner leaves, then the longest-standing admin becomes owner', async () => {
    const [owner, first, second, bob] = await Promise.all([
      register(app.url),
      register(app.url),
      register(app.url),
      register(app.url),
    ]);
    const id = await createGroup(app.url, owner, [first, second, bob]);
    await as(owner, 'PATCH', `/api/conversations/${id}/members/${second.user.id}`, { role: 'admin' });
    expect((await as(bob, 'DELETE', `/api/conversations/${id}/members/${bob.user.id}`)).status).to.equal(204);
    expect((await as(owner, 'DELETE', `/api/conversations/${id}/members/${owner.user.id}`)).status).to.equal(204);
    expect(await members(second, id)).to.deep.equal({ [first.user.id]: 'member', [second.user.id]: 'owner' });
  });

  it('when the owner hands ownership on, then there is still exactly one owner; the owner cannot demote itself', async () => {
    const [owner, heir] = await Promise.all([register(app.url), register(app.url)]);
    const id = await createGroup(app.url, owner, [heir]);
    expect(
      (await as(owner, 'PATCH', `/api/conversations/${id}/members/${owner.user.id}`, { role: 'member' })).status,
    ).to.equal(403);
    expect(
      (await as(owner, 'PATCH', `/api/conversations/${id}/members/${heir.user.id}`, { role: 'owner' })).status,
    ).to.equal(200);
    expect(await members(heir, id)).to.deep.equal({ [owner.user.id]: 'admin', [heir.user.id]: 'owner' });
  });

  it('when a role is malformed, the member unknown or the caller a stranger, then 400, 404 and 404', async () => {
    const [owner, bob, stranger] = await Promise.all([register(app.url), register(app.url), register(app.url)]);
    const id = await createGroup(app.url, owner, [bob]);
    expect(
      (await as(owner, 'PATCH', `/api/conversations/${id}/members/${bob.user.id}`, { role: 'king' })).status,
    ).to.equal(400);
    expect(
      (await as(owner, 'PATCH', `/api/conversations/${id}/members/${stranger.user.id}`, { role: 'admin' })).status,
    ).to.equal(404);
    expect(
      (await as(stranger, 'PATCH', `/api/conversations/${id}/members/${bob.user.id}`, { role: 'admin' })).status,
    ).to.equal(404);
  });

  it('when anyone changes members or roles of a direct conversation, then 403', async () => {
    const [alice, bob, carol] = await Promise.all([register(app.url), register(app.url), register(app.url)]);
    const id = (await as(alice, 'POST', '/api/conversations', { kind: 'direct', userId: bob.user.id })).body
      .conversation.id;
    expect((await as(alice, 'POST', `/api/conversations/${id}/members`, { userId: carol.user.id })).status).to.equal(
      403,
    );
    expect((await as(alice, 'DELETE', `/api/conversations/${id}/members/${alice.user.id}`)).status).to.equal(403);
    expect(
      (await as(alice, 'PATCH', `/api/conversations/${id}/members/${bob.user.id}`, { role: 'admin' })).status,
    ).to.equal(403);
  });
});
