import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { startTestApp, useTestApp } from '../support/app.js';
import { cookieFrom, register, request, uniqueName } from '../support/client.js';

describe('accounts', () => {
  const app = useTestApp();

  describe('register', () => {
    it('when the input is valid, then 201 with user, tokens and a session cookie', async () => {
      const username = uniqueName();
      const reply = await request(app.url, 'POST', '/api/auth/register', {
        body: { username, password: 'long enough', displayName: 'Ada' },
      });
      expect(reply.status).to.equal(201);
      expect(reply.body.user).to.include({ username, displayName: 'Ada' });
      expect(reply.body.user.id).to.be.a('string');
      expect(new Date(reply.body.user.createdAt).toISOString()).to.equal(reply.body.user.createdAt);
      expect(reply.body.accessToken).to.be.a('string');
      expect(reply.body.refreshToken).to.be.a('string');
      expect(reply.body.user).to.not.have.property('passwordHash');
      const setCookie = reply.headers.getSetCookie().join('\n');
      expect(setCookie)
        .to.match(/parley\.sid=/)
        .and.to.match(/httponly/i)
        .and.to.match(/samesite=lax/i);
    });

    it('when the username is taken, then 409 conflict', async () => {
      const account = await register(app.url);
      const reply = await request(app.url, 'POST', '/api/auth/register', {
        body: { username: account.user.username, password: 'another password' },
      });
      expect(reply.status).to.equal(409);
      expect(reply.body.error.code).to.equal('conflict');
    });

    for (const [label, body, field] of [
      ['a short username', { username: 'ab', password: 'long enough' }, 'username'],
      ['an uppercase username', { username: 'Alice', password: 'long enough' }, 'username'],
      ['a short password', { username: uniqueName(), password: 'short' }, 'password'],
      ['a password over 200 characters', { username: uniqueName(), password: 'x'.repeat(201) }, 'password'],
      ['a missing password', { username: uniqueName() }, 'password'],
    ] as const) {
      it(`when given ${label}, then 400 naming the field`, async () => {
        const reply = await request(app.url, 'POST', '/api/auth/register', { body });
        expect(reply.status).to.equal(400);
        expect(reply.body.error.code).to.equal('validation_failed');
        expect(reply.body.error.details.fields).to.have.property(field);
      });
    }
  });

  describe('login', () => {
    it('when the credentials are right, then 200 with tokens and a session cookie', async () => {
      const account = await register(app.url, uniqueName(), 'right password');
      const reply = await request(app.url, 'POST', '/api/auth/login', {
        body: { username: account.user.username, password: 'right password' },
      });
      expect(reply.status).to.equal(200);
      expect(reply.body.user.id).to.equal(account.user.id);
      expect(reply.body.accessToken).to.be.a('string');
      expect(cookieFrom(reply.headers)).to.match(/parley\.sid=/);
    });

    it('when the password is wrong or the user unknown, then the same 401', async () => {
      const account = await register(app.url, uniqueName(), 'right password');
      const wrong = await request(app.url, 'POST', '/api/auth/login', {
        body: { username: account.user.username, password: 'wrong password' },
      });
      const unknown = await request(app.url, 'POST', '/api/auth/login', {
        body: { username: uniqueName(), password: 'wrong password' },
      });
      expect(wrong.status).to.equal(401);
      expect(unknown.status).to.equal(401);
      expect(wrong.body).to.deep.equal(unknown.body);
      expect(wrong.body.error.code).to.equal('unauthorized');
    });
  });

  describe('refresh', () => {
    it('when a refresh token is used, then a new pair comes back and the old token is spent', async () => {
      const account = await register(app.url);
      const first = await request(app.url, 'POST', '/api/auth/refresh', {
        body: { refreshToken: account.refreshToken },
      });
      expect(first.status).to.equal(200);
      expect(first.body.refreshToken).to.not.equal(account.refreshToken);
      const me = await request(app.url, 'GET', '/api/me', { token: first.body.accessToken });
      expect(me.status).to.equal(200);
      const second = await request(app.url, 'POST', '/api/auth/refresh', {
        body: { refreshToken: first.body.refreshToken },
      });
      expect(second.status).to.equal(200);
    });

    it('when a spent token is presented again, then 401 and its whole family is revoked', async () => {
      const account = await register(app.url);
      const rotated = await request(app.url, 'POST', '/api/auth/refresh', {
        body: { refreshToken: account.refreshToken },
      });
      expect(rotated.status).to.equal(200);
      const replay = await request(app.url, 'POST', '/api/auth/refresh', {
        body: { refreshToken: account.refreshToken },
      });
      expect(replay.status).to.equal(401);
      // The legitimate holder's newer token dies with the family.
      const newer = await request(app.url, 'POST', '/api/auth/refresh', {
        body: { refreshToken: rotated.body.refreshToken },
      });
      expect(newer.status).to.equal(401);
      expect(newer.body.error.code).to.equal('unauthorized');
    });

    it('when one token is refreshed twice at once, then exactly one succeeds', async () => {
      const account = await register(app.url);
      const replies = await Promise.all(
        [1, 2].map(() =>
          request(app.url, 'POST', '/api/auth/refresh', { body: { refreshToken: account.refreshToken } }),
        ),
      );
      expect(replies.map((reply) => reply.status).sort()).to.deep.equal([200, 401]);
    });

    it('when the token is unknown or missing, then 401 or 400', async () => {
      expect((await request(app.url, 'POST', '/api/auth/refresh', { body: { refreshToken: 'nope' } })).status).to.equal(
        401,
      );
      expect((await request(app.url, 'POST', '/api/auth/refresh', { body: {} })).status).to.equal(400);
    });
  });

  describe('credentials', () => {
    it('when only the session cookie is sent, then it authenticates', async () => {
      const account = await register(app.url);
      const me = await request(app.url, 'GET', '/api/me', { cookie: account.cookie });
      expect(me.status).to.equal(200);
      expect(me.body.user.id).to.equal(account.user.id);
    });

    it('when the session is stored in Redis, then the cookie holds only its key', async () => {
      const account = await register(app.url);
      const sessionKey = /parley\.sid=([^;]+)/.exec(account.cookie)![1]!;
      expect(sessionKey).to.match(/^[0-9a-f-]{36}$/);
      // ioredis adds the key prefix to commands, so the stored session is read back by its bare key.
      const stored = JSON.parse((await app.parley.redis!.get(`sess:${sessionKey}`))!);
      expect(stored.userId).to.equal(account.user.id);
    });

    it('when no credential, a malformed header, a forged or expired token is sent, then 401', async () => {
      const account = await register(app.url);
      const [header, payload] = account.accessToken.split('.');
      const forged = `${header}.${payload}.${'A'.repeat(43)}`;
      const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
      for (const options of [
        {},
        { headers: { authorization: 'Token abc' } },
        { token: forged },
        { token: `${none}.${payload}.` },
      ]) {
        const reply = await request(app.url, 'GET', '/api/me', options);
        expect(reply.status, JSON.stringify(options)).to.equal(401);
        expect(reply.body.error.code).to.equal('unauthorized');
      }
    });

    it('when an access token has expired, then 401', async () => {
      const shortLived = await startTestApp({ ACCESS_TOKEN_TTL_SEC: '1' });
      try {
        const account = await register(shortLived.url);
        // Used while valid first, so the process has it among its verified tokens: expiry must still win.
        expect((await request(shortLived.url, 'GET', '/api/me', { token: account.accessToken })).status).to.equal(200);
        await sleep(2100);
        expect((await request(shortLived.url, 'GET', '/api/me', { token: account.accessToken })).status).to.equal(401);
      } finally {
        await shortLived.close();
      }
    });
  });

  describe('logout', () => {
    it('when a user logs out, then 204, the refresh family is revoked and the session destroyed', async () => {
      const account = await register(app.url);
      const reply = await request(app.url, 'POST', '/api/auth/logout', { cookie: account.cookie });
      expect(reply.status).to.equal(204);
      expect((await request(app.url, 'GET', '/api/me', { cookie: account.cookie })).status).to.equal(401);
      const refresh = await request(app.url, 'POST', '/api/auth/refresh', {
        body: { refreshToken: account.refreshToken },
      });
      expect(refresh.status).to.equal(401);
    });

    it('when logged out with a Bearer token, then that token family can no longer refresh', async () => {
      const account = await register(app.url);
      expect((await request(app.url, 'POST', '/api/auth/logout', { token: account.accessToken })).status).to.equal(204);
      const refresh = await request(app.url, 'POST', '/api/auth/refresh', {
        body: { refreshToken: account.refreshToken },
      });
      expect(refresh.status).to.equal(401);
    });
  });

  describe('users', () => {
    it('when searching by prefix, then matching users come back, at most 20', async () => {
      const prefix = uniqueName('s');
      for (let i = 0; i < 22; i++) await register(app.url, `${prefix}_${String(i).padStart(2, '0')}`);
      const other = await register(app.url);
      const reply = await request(app.url, 'GET', `/api/users?q=${prefix}`, { token: other.accessToken });
      expect(reply.status).to.equal(200);
      expect(reply.body.users).to.have.length(20);
      expect(reply.body.users.every((user: { username: string }) => user.username.startsWith(prefix))).to.equal(true);
    });

    it('when the prefix holds LIKE wildcards, then they match literally', async () => {
      const account = await register(app.url);
      const reply = await request(app.url, 'GET', '/api/users?q=%25', { token: account.accessToken });
      expect(reply.status).to.equal(200);
      expect(reply.body.users).to.deep.equal([]);
    });
  });
});
