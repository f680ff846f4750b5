// Chaos: the Redis master dies under traffic and Sentinel promotes the replica. Parley (REDIS_SENTINELS) follows
// the new master without a restart: sessions, shared limits and live fan-out across processes work again, and
// nothing acked is lost. The test owns the master, the replica and the three sentinels.
import { expect } from 'chai';
import { createGroup, register, request } from '../support/client.js';
import { startServer, stopAll, type ServerProcess } from '../support/processes.js';
import { SENTINEL_MASTER, startSentinelGroup, type SentinelGroup } from '../support/redis-sentinel.js';
import { closeAllClients, collect, connect, emitAck, sleep, until } from '../support/sockets.js';

describe('chaos: Redis Sentinel failover', function () {
  this.timeout(180_000);
  let group: SentinelGroup;
  let a: ServerProcess;
  let b: ServerProcess;
  before(async () => {
    group = await startSentinelGroup();
    const env = {
      REDIS_URL: '',
      REDIS_SENTINELS: group.sentinels.join(','),
      REDIS_SENTINEL_NAME: SENTINEL_MASTER,
      REDIS_PREFIX: `sentinel:${Date.now()}:`,
    };
    [a, b] = await Promise.all([startServer(env), startServer(env)]);
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(`server a:\n${a.output().slice(-4000)}`);
  });
  after(async () => {
    closeAllClients();
    await stopAll();
    await group?.stop();
  });

  it('when the master is killed under traffic, then the replica is promoted and both processes follow it with no restart and no acked message lost', async () => {
    const [alice, bob] = await Promise.all([register(a.url), register(a.url)]);
    const conversationId = await createGroup(a.url, alice, [bob]);
    const aliceSocket = await connect(a.url, { token: alice.accessToken });
    const bobSocket = await connect(b.url, { token: bob.accessToken });
    const bobSaw = collect(bobSocket, 'message:new');
    const acked: string[] = [];
    let running = true;
    let n = 0;
    const traffic = (async () => {
      while (running) {
        const ack = await emitAck(aliceSocket, 'message:send', {
          conversationId,
          body: `m${n}`,
          clientMsgId: `sentinel-${n++}`,
        }).catch(() => undefined);
        if (ack?.ok) acked.push(ack.message.id);
        await sleep(50);
      }
    })();
    await sleep(500);
    const oldMaster = await group.currentMasterPort();
    await group.killMaster();
    await until(
      async () => (await group.currentMasterPort().catch(() => oldMaster)) !== oldMaster,
      30_000,
      'Sentinel promoted the replica',
    );
    expect(await group.currentMasterPort()).to.equal(group.replicaPort);
    // Redis-backed work again on the new master: a cookie session written and read through both processes.
    await until(
      async () => {
        const carol = await register(a.url).catch(() => undefined);
        return carol !== undefined && (await request(b.url, 'GET', '/api/me', { cookie: carol.cookie })).status === 200;
      },
      20_000,
      'sessions on the new master',
    );
    const marker = await emitAck(aliceSocket, 'message:send', {
      conversationId,
      body: 'after failover',
      clientMsgId: 'after-failover',
    });
    await until(
      () => bobSaw.some((event) => event.message.id === marker.message.id),
      20_000,
      'live fan-out on the new master',
    );
    running = false;
    await traffic;

    expect(a.child.exitCode).to.equal(null);
    expect(b.child.exitCode).to.equal(null);
    const history = await request(a.url, 'GET', `/api/conversations/${conversationId}/messages?after=0&limit=500`, {
      token: alice.accessToken,
    });
    const stored = new Set((history.body.messages as { id: string }[]).map((m) => m.id));
    for (const id of [...acked, marker.message.id]) expect(stored.has(id), `acked ${id}`).to.equal(true);
    expect(stored.size).to.equal(history.body.messages.length);
  });
});
