// Chaos: Redis disappears under two Parley processes and comes back empty. The test owns that Redis (its own
// redis-server on a spare port). What needs only the database keeps its normal speed; what needs Redis degrades
// (cookie sessions 503, live fan-out across processes waits) and recovers within seconds of Redis returning.
import { expect } from 'chai';
import { createGroup, register, request } from '../support/client.js';
import { startServer, stopAll, type ServerProcess } from '../support/processes.js';
import { startOwnRedis, type OwnRedis } from '../support/redis-server.js';
import { HEALTH_DETAIL } from '../support/services.js';
import { closeAllClients, collect, connect, emitAck, sleep, until } from '../support/sockets.js';

describe('chaos: Redis outage', function () {
  this.timeout(180_000);
  let redis: OwnRedis;
  let a: ServerProcess;
  let b: ServerProcess;
  before(async () => {
    redis = await startOwnRedis();
    const env = { REDIS_URL: redis.url, REDIS_PREFIX: `chaos:${Date.now()}:`, PRESENCE_GRACE_MS: '200' };
    [a, b] = await Promise.all([startServer(env), startServer(env)]);
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed')
      console.log(`server a:\n${a.output().slice(-4000)}\nserver b:\n${b.output().slice(-3000)}`);
  });
  after(async () => {
    closeAllClients();
    await stopAll();
    await redis?.stop();
  });

  it('when Redis is gone, then bearer work keeps its speed, logins work without a session, sends are acked, readiness stays; when it returns empty, everything recovers', async () => {
    const [alice, bob, carol] = await Promise.all([register(a.url), register(a.url), register(a.url)]);
    const conversationId = await createGroup(a.url, alice, [bob]);
    const aliceSocket = await connect(a.url, { token: alice.accessToken });
    const bobSocket = await connect(b.url, { token: bob.accessToken });
    const bobSaw = collect(bobSocket, 'message:new');
    let bobDisconnects = 0;
    bobSocket.on('disconnect', () => bobDisconnects++);

    await redis.kill();
    await sleep(200);

    // Database-only work at its normal speed: nothing waits on Redis.
    const slowest = { ms: 0 };
    for (let i = 0; i < 10; i++) {
      const started = Date.now();
      expect((await request(a.url, 'GET', '/api/me', { token: alice.accessToken })).status).to.equal(200);
      slowest.ms = Math.max(slowest.ms, Date.now() - started);
    }
    expect(slowest.ms, 'slowest bearer request during the outage').to.be.below(1000);
    // A cookie needs its session from Redis: 503 with Retry-After, not 500.
    const byCookie = await request(a.url, 'GET', '/api/me', { cookie: carol.cookie });
    expect(byCookie.status).to.equal(503);
    expect(byCookie.headers.get('retry-after')).to.match(/^\d+$/);
    // Login issues tokens and says the session was skipped.
    const login = await request(b.url, 'POST', '/api/auth/login', {
      body: { username: carol.user.username, password: 'correct horse' },
    });
    expect(login.status).to.equal(200);
    expect(login.body.session).to.equal('unavailable');
    expect((await request(b.url, 'GET', '/api/me', { token: login.body.accessToken })).status).to.equal(200);
    // Sends are stored and acked at once.
    const ackedDuringOutage: string[] = [];
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const ack = await emitAck(aliceSocket, 'message:send', {
        conversationId,
        body: `outage ${i}`,
        clientMsgId: `outage-${i}`,
      });
      expect(ack.ok, JSON.stringify(ack)).to.equal(true);
      expect(Date.now() - started, 'ack time during the outage').to.be.below(1000);
      ackedDuringOutage.push(ack.message.id);
    }
    // Still ready (a load balancer keeps it), and /health says what is missing.
    expect((await request(a.url, 'GET', '/health/ready')).status).to.equal(200);
    // Readiness answers are reused for HEALTH_CACHE_MS: the next fresh one says degraded.
    await until(
      async () => (await request(a.url, 'GET', '/health', { headers: HEALTH_DETAIL })).body.status === 'degraded',
      3_000,
      '/health degraded',
    );
    const health = await request(a.url, 'GET', '/health', { headers: HEALTH_DETAIL });
    expect(health.body.missing).to.deep.equal(['redis']);
    // New sockets still connect.
    const late = await connect(b.url, { token: login.body.accessToken });
    expect(late.connected).to.equal(true);

    await redis.start();
    const back = Date.now();
    await until(
      async () => (await request(a.url, 'GET', '/health', { headers: HEALTH_DETAIL })).body.status === 'ok',
      10_000,
      'a healthy again',
    );
    await until(
      async () => (await request(b.url, 'GET', '/health', { headers: HEALTH_DETAIL })).body.status === 'ok',
      10_000,
      'b healthy again',
    );
    // What was acked during the outage reaches the other process's members live once Redis is back.
    await until(
      () => ackedDuringOutage.every((id) => bobSaw.some((event) => event.message.id === id)),
      10_000,
      'outage messages delivered live',
    );
    const after = await emitAck(aliceSocket, 'message:send', { conversationId, body: 'after', clientMsgId: 'after-1' });
    await until(
      () => bobSaw.some((event) => event.message.id === after.message.id),
      10_000,
      'live fan-out after recovery',
    );
    expect((await request(a.url, 'GET', '/api/me', { cookie: (await register(a.url)).cookie })).status).to.equal(200);
    // Presence is counted again on an empty Redis: bob sees alice online.
    await until(
      async () =>
        (await request(a.url, 'GET', `/api/presence?userIds=${alice.user.id}`, { token: bob.accessToken })).body
          .presence?.[alice.user.id]?.status === 'online',
      10_000,
      'presence restored',
    );
    expect(bobDisconnects).to.equal(0);
    expect(Date.now() - back).to.be.below(15_000);
    // Every message stored once, in seq order.
    const history = await request(a.url, 'GET', `/api/conversations/${conversationId}/messages?after=0`, {
      token: alice.accessToken,
    });
    expect(history.body.messages.map((m: { seq: number }) => m.seq)).to.deep.equal([1, 2, 3, 4, 5, 6]);
  });
});
