import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/app.js';
import { register, request } from '../support/client.js';

describe('smoke', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.close());

  it('when a user registers, then /api/me answers with that user', async () => {
    const account = await register(app.url);
    const me = await request(app.url, 'GET', '/api/me', { token: account.accessToken });
    expect(me.status).to.equal(200);
    expect(me.body.user.username).to.equal(account.user.username);
  });
});
