import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/app.js';
import { createGroup, register, request } from '../support/client.js';

describe('two instances sharing PostgreSQL and Redis', () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    [a, b] = await Promise.all([startTestApp(), startTestApp()]);
  });
  after(() => Promise.all([a.close(), b.close()]));

  it('when a session starts on one instance, then its cookie authenticates on the other, and logout there ends it', async () => {
    const account = await register(a.url);
    expect((await request(b.url, 'GET', '/api/me', { cookie: account.cookie })).status).to.equal(200);
    expect((await request(b.url, 'POST', '/api/auth/logout', { cookie: account.cookie })).status).to.equal(204);
    expect((await request(a.url, 'GET', '/api/me', { cookie: account.cookie })).status).to.equal(401);
  });

  it('when messages are sent through both instances at once, then seqs have no gap or duplicate', async () => {
    const [alice, bob] = await Promise.all([register(a.url), register(b.url)]);
    const id = await createGroup(a.url, alice, [bob]);
    const replies = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        request(i % 2 ? b.url : a.url, 'POST', `/api/conversations/${id}/messages`, {
          token: (i % 2 ? bob : alice).accessToken,
          body: { body: `m${i}`, clientMsgId: `two-${i}` },
        }),
      ),
    );
    const seqs = replies.map((reply) => reply.body.message.seq as number).sort((x, y) => x - y);
    expect(seqs).to.deep.equal(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it('when a refresh token is rotated on one instance, then replaying it on the other revokes the family', async () => {
    const account = await register(a.url);
    expect(
      (await request(a.url, 'POST', '/api/auth/refresh', { body: { refreshToken: account.refreshToken } })).status,
    ).to.equal(200);
    expect(
      (await request(b.url, 'POST', '/api/auth/refresh', { body: { refreshToken: account.refreshToken } })).status,
    ).to.equal(401);
  });
});
