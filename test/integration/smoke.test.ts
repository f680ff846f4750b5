import { expect } from 'chai';
import { useTestApp } from '../support/app.js';
import { register, request } from '../support/client.js';

describe('smoke', () => {
  const app = useTestApp();

  it('when a user registers, then /api/me answers with that user', async () => {
    const account = await register(app.url);
    const me = await request(app.url, 'GET', '/api/me', { token: account.accessToken });
    expect(me.status).to.equal(200);
    expect(me.body.user.username).to.equal(account.user.username);
  });
});
