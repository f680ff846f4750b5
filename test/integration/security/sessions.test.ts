// Attacks on sign-ins: a session cookie planted before login (fixation), and credentials of a revoked sign-in
// presented to another process (revocation that did not revoke).
import { expect } from 'chai';
import { cookieFrom, register, request } from '../../support/client.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { until } from '../../support/sockets.js';

const SESSION = /parley\.sid=([^;]+)/;

describe('security: sign-ins', function () {
  this.timeout(30_000);
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    // Two instances sharing the database and Redis, as two processes or hosts behind a load balancer.
    [a, b] = await Promise.all([startTestApp(), startTestApp()]);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  describe('session fixation attack', () => {
    it('when a victim logs in carrying a cookie the attacker planted, then the victim gets a new session and the planted one is dead', async () => {
      const attacker = await register(a.url);
      const victim = await register(a.url);
      const planted = attacker.cookie;
      const login = await request(a.url, 'POST', '/api/auth/login', {
        cookie: planted,
        body: { username: victim.user.username, password: 'correct horse' },
      });
      expect(login.status).to.equal(200);
      const issued = cookieFrom(login.headers);
      expect(SESSION.exec(issued)?.[1]).to.be.a('string').and.not.equal(SESSION.exec(planted)?.[1]);
      expect((await request(a.url, 'GET', '/api/me', { cookie: issued })).body.user.id).to.equal(victim.user.id);
      expect((await request(b.url, 'GET', '/api/me', { cookie: planted })).status).to.equal(401);
    });

    it("when a user registers carrying someone else's cookie, then the old session is destroyed too", async () => {
      const attacker = await register(a.url);
      const reply = await request(a.url, 'POST', '/api/auth/register', {
        cookie: attacker.cookie,
        body: { username: `v_${Date.now().toString(36)}`, password: 'correct horse' },
      });
      expect(reply.status).to.equal(201);
      expect((await request(a.url, 'GET', '/api/me', { cookie: cookieFrom(reply.headers) })).body.user.id).to.equal(
        reply.body.user.id,
      );
      expect((await request(a.url, 'GET', '/api/me', { cookie: attacker.cookie })).status).to.equal(401);
    });
  });

  describe('revocation that does not revoke', () => {
    it("when a spent refresh token is replayed on one instance, then that sign-in's bearer token and cookie stop working on the other", async () => {
      const alice = await register(a.url);
      const stillValid = await request(b.url, 'GET', '/api/me', { token: alice.accessToken });
      expect(stillValid.status).to.equal(200);
      const refresh = () => request(a.url, 'POST', '/api/auth/refresh', { body: { refreshToken: alice.refreshToken } });
      expect((await refresh()).status).to.equal(200);
      expect((await refresh()).status).to.equal(401); // reuse: the family is revoked
      // At once on the instance that saw the reuse...
      expect((await request(a.url, 'GET', '/api/me', { token: alice.accessToken })).status).to.equal(401);
      expect((await request(a.url, 'GET', '/api/me', { cookie: alice.cookie })).status).to.equal(401);
      // ...and on the other within a poll (REVOCATION_POLL_MS, 250 ms; the limit here leaves room for a loaded machine).
      await until(
        async () => (await request(b.url, 'GET', '/api/me', { token: alice.accessToken })).status === 401,
        3000,
        'bearer refused on b',
      );
      const cookie = await request(b.url, 'GET', '/api/me', { cookie: alice.cookie });
      expect(cookie.status).to.equal(401);
      expect(cookie.body.error.code).to.equal('unauthorized');
    });

    it('when a user logs out on one instance, then the access token of that sign-in is refused on the other, other sign-ins stay', async () => {
      const alice = await register(a.url);
      const otherDevice = (
        await request(a.url, 'POST', '/api/auth/login', {
          body: { username: alice.user.username, password: 'correct horse' },
        })
      ).body;
      expect((await request(a.url, 'POST', '/api/auth/logout', { token: alice.accessToken })).status).to.equal(204);
      await until(
        async () => (await request(b.url, 'GET', '/api/me', { token: alice.accessToken })).status === 401,
        3000,
        'token refused on b',
      );
      expect((await request(b.url, 'GET', '/api/me', { token: otherDevice.accessToken })).status).to.equal(200);
    });

    it('when an instance starts after a revocation, then it refuses that sign-in from its first request', async () => {
      const alice = await register(a.url);
      await request(a.url, 'POST', '/api/auth/logout', { token: alice.accessToken });
      const late = await startTestApp();
      try {
        expect((await request(late.url, 'GET', '/api/me', { token: alice.accessToken })).status).to.equal(401);
      } finally {
        await late.close();
      }
    });
  });
});
