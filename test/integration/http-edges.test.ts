import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/app.js';
import { register, request, type Account } from '../support/client.js';

describe('bad input and HTTP edges', () => {
  let app: TestApp;
  let alice: Account;
  before(async () => {
    app = await startTestApp({ BODY_LIMIT: '2kb', CORS_ORIGIN: 'https://chat.example' });
    alice = await register(app.url);
  });
  after(() => app.close());

  it('when the JSON is malformed, then 400 validation_failed and the process keeps serving', async () => {
    const reply = await request(app.url, 'POST', '/api/auth/login', { rawBody: '{"username": ' });
    expect(reply.status).to.equal(400);
    expect(reply.body.error).to.deep.equal({ code: 'validation_failed', message: 'Malformed JSON body' });
    expect((await request(app.url, 'GET', '/health/live')).status).to.equal(200);
  });

  it('when the body is a JSON scalar or not JSON, then 400', async () => {
    expect((await request(app.url, 'POST', '/api/auth/login', { rawBody: '"text"' })).status).to.equal(400);
    const form = await request(app.url, 'POST', '/api/auth/login', {
      rawBody: 'username=a',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).to.equal(400);
  });

  it('when the body is over BODY_LIMIT, then 413 payload_too_large', async () => {
    const reply = await request(app.url, 'POST', '/api/auth/register', {
      body: { username: 'big', password: 'x'.repeat(3000) },
    });
    expect(reply.status).to.equal(413);
    expect(reply.body.error.code).to.equal('payload_too_large');
  });

  it('when the route does not exist, then 404 in the contract shape', async () => {
    for (const path of ['/nope', '/api/nope']) {
      const reply = await request(app.url, 'GET', path, { token: alice.accessToken });
      expect(reply.status, path).to.equal(404);
      expect(reply.body.error.code).to.equal('not_found');
    }
  });

  it('when the method is not allowed on a route, then a contract-shaped error', async () => {
    const reply = await request(app.url, 'PUT', '/api/me', { token: alice.accessToken });
    expect(reply.status).to.equal(404);
    expect(reply.body).to.have.nested.property('error.code');
  });

  it('when an API response is sent, then it carries security headers and a request id', async () => {
    const reply = await request(app.url, 'GET', '/api/me', { token: alice.accessToken });
    expect(reply.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(reply.headers.get('x-frame-options')).to.equal('SAMEORIGIN');
    expect(reply.headers.get('x-request-id')).to.match(/^[\w-]+$/);
  });

  it('when the Origin is allowed, then CORS headers come back; when it is not, then none', async () => {
    const allowed = await request(app.url, 'GET', '/api/me', { headers: { origin: 'https://chat.example' } });
    expect(allowed.headers.get('access-control-allow-origin')).to.equal('https://chat.example');
    expect(allowed.headers.get('access-control-allow-credentials')).to.equal('true');
    const other = await request(app.url, 'GET', '/api/me', { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).to.equal(null);
  });

  it('when the presence of users is asked, then each id has a status', async () => {
    const reply = await request(app.url, 'GET', `/api/presence?userIds=${alice.user.id},1`, {
      token: alice.accessToken,
    });
    expect(reply.status).to.equal(200);
    expect(reply.body.presence[alice.user.id]).to.have.property('status').that.is.oneOf(['online', 'offline']);
    expect(reply.body.presence[alice.user.id]).to.have.property('lastSeenAt');
    const bad = await request(app.url, 'GET', '/api/presence?userIds=a,b', { token: alice.accessToken });
    expect(bad.status).to.equal(400);
    expect((await request(app.url, 'GET', '/api/presence', { token: alice.accessToken })).status).to.equal(400);
  });
});

describe('unexpected failures', () => {
  for (const env of ['production', 'test'] as const) {
    it(`when a query fails unexpectedly in ${env}, then 500 internal without stack or SQL`, async () => {
      const app = await startTestApp({
        NODE_ENV: env,
        JWT_SECRET: 'j'.repeat(40),
        SESSION_SECRET: 's'.repeat(40),
        SESSION_COOKIE_SECURE: 'false',
      });
      try {
        const account = await register(app.url);
        // Break the schema under the running app: the next read fails inside PostgreSQL.
        await app.parley.db.primary.query('ALTER TABLE users RENAME COLUMN display_name TO display_name_gone');
        try {
          const reply = await request(app.url, 'GET', '/api/me', { token: account.accessToken });
          expect(reply.status).to.equal(500);
          expect(reply.body).to.deep.equal({
            error: { code: 'internal', message: 'Something went wrong on our side' },
          });
          expect(JSON.stringify(reply.body)).to.not.match(/display_name|SELECT|at /);
          expect((await request(app.url, 'GET', '/health/live')).status).to.equal(200);
        } finally {
          await app.parley.db.primary.query('ALTER TABLE users RENAME COLUMN display_name_gone TO display_name');
        }
      } finally {
        await app.close();
      }
    });
  }
});
