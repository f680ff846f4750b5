// Attacks that the outside review found held, kept so they keep holding: forged JWTs (other algorithm, other
// issuer, other key), prototype pollution and SQL in inputs, and a client that dribbles its headers.
import net from 'node:net';
import { expect } from 'chai';
import { SignJWT } from 'jose';
import { register, request } from '../../support/client.js';
import { useTestApp } from '../../support/app.js';
import { startServer, stopAll } from '../../support/processes.js';
import { until } from '../../support/sockets.js';

describe('security: checks that held', function () {
  this.timeout(30_000);
  const app = useTestApp();

  const sign = (claims: { alg?: string; issuer?: string; secret?: string }, userId: string) =>
    new SignJWT({ fid: '1' })
      .setProtectedHeader({ alg: claims.alg ?? 'HS256' })
      .setSubject(userId)
      .setIssuer(claims.issuer ?? 'parley')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(Buffer.from(claims.secret ?? app.parley.config.auth.jwtSecret));

  it('when a token is signed with the right key but HS512, another issuer or another key, then 401', async () => {
    const alice = await register(app.url);
    expect((await request(app.url, 'GET', '/api/me', { token: await sign({}, alice.user.id) })).status).to.equal(200);
    for (const claims of [{ alg: 'HS512' }, { issuer: 'someone-else' }, { secret: 'x'.repeat(48) }]) {
      const reply = await request(app.url, 'GET', '/api/me', { token: await sign(claims, alice.user.id) });
      expect(reply.status, JSON.stringify(claims)).to.equal(401);
    }
  });

  it('when a body carries __proto__ or constructor keys, then 400 and nothing is polluted', async () => {
    const reply = await request(app.url, 'POST', '/api/auth/register', {
      rawBody:
        '{"username":"proto_user_x","password":"correct horse","__proto__":{"isAdmin":true},"constructor":{"prototype":{"polluted":true}}}',
    });
    // @koa/bodyparser refuses prototype keys outright (400, the contract's shape); either way nothing is polluted.
    expect(reply.status, JSON.stringify(reply.body)).to.equal(400);
    expect(reply.body.error.code).to.equal('validation_failed');
    expect(({} as Record<string, unknown>).isAdmin).to.equal(undefined);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });

  it('when a search or an id carries SQL, then it is matched as text or refused, never run', async () => {
    const alice = await register(app.url);
    const search = await request(app.url, 'GET', `/api/users?q=${encodeURIComponent("' OR 1=1 --")}`, {
      token: alice.accessToken,
    });
    expect(search.status).to.equal(200);
    expect(search.body.users).to.deep.equal([]);
    const byId = await request(app.url, 'GET', `/api/conversations/${encodeURIComponent('1 OR 1=1')}`, {
      token: alice.accessToken,
    });
    expect(byId.status).to.equal(404);
  });

  describe('slow headers', () => {
    after(stopAll);

    it('when a client sends headers slower than HTTP_HEADERS_TIMEOUT_MS, then its connection is closed', async () => {
      const server = await startServer({ HTTP_HEADERS_TIMEOUT_MS: '500' });
      const socket = net.connect(server.port, '127.0.0.1');
      let closed = false;
      socket.on('close', () => (closed = true));
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      socket.on('error', () => undefined);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write('GET /api/me HTTP/1.1\r\nHost: parley\r\n');
      // Node sweeps connections every min(1 s, HTTP_HEADERS_TIMEOUT_MS): closed within timeout + one sweep.
      await until(() => closed, 4000, 'the slow connection closed');
      expect(answer).to.match(/^HTTP\/1\.1 408/);
    });
  });
});
