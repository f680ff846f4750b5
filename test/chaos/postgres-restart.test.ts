// Chaos: the PostgreSQL server restarts under traffic. The test owns that server (its own initdb cluster in a temp
// directory and port); the machine's PostgreSQL is never touched. Asserted from counts: answers by status, acked
// messages stored exactly once, sockets that stayed, and the time to serve again.
import { expect } from 'chai';
import { startPostgresCluster, type PgCluster } from '../../deploy/topology/postgres-cluster.js';
import { createGroup, register, request } from '../support/client.js';
import { startServer, stopAll, type ServerProcess } from '../support/processes.js';
import { closeAllClients, connect, sleep, until } from '../support/sockets.js';

describe('chaos: PostgreSQL restart under traffic', function () {
  this.timeout(180_000);
  let cluster: PgCluster;
  let server: ServerProcess;
  before(async () => {
    cluster = await startPostgresCluster({ replicas: 0 });
    await cluster.createDatabase('parley_chaos');
    // The event budget is raised so the sender's pace, not the per-socket rate limit, decides what is refused.
    server = await startServer({
      DATABASE_URL: cluster.primary.url('parley_chaos'),
      SOCKET_EVENTS_PER_SEC: '1000',
      SOCKET_EVENTS_BURST: '1000',
    });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(`server output:\n${server.output().slice(-6000)}`);
  });
  after(async () => {
    closeAllClients();
    await stopAll();
    await cluster?.stop();
  });

  it('when the database restarts, then requests get 503 with Retry-After (never 500), sockets stay, service returns within 5 s, and every acked message is stored once', async () => {
    const [alice, bob] = await Promise.all([register(server.url), register(server.url)]);
    const conversationId = await createGroup(server.url, alice, [bob]);
    const [aliceSocket, bobSocket] = await Promise.all([
      connect(server.url, { token: alice.accessToken }),
      connect(server.url, { token: bob.accessToken }),
    ]);
    let disconnects = 0;
    for (const socket of [aliceSocket, bobSocket]) socket.on('disconnect', () => disconnects++);

    const statuses = new Map<number, number>();
    const retryAfters = new Set<string | null>();
    const acked: string[] = [];
    const refusals = new Map<string, number>();
    let running = true;
    let sent = 0;
    const readLoop = async () => {
      while (running) {
        const reply = await request(server.url, 'GET', '/api/me', { token: bob.accessToken }).catch(() => undefined);
        const status = reply?.status ?? 0;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 503) retryAfters.add(reply!.headers.get('retry-after'));
        await sleep(20);
      }
    };
    const sendLoop = async () => {
      while (running) {
        const ack = await aliceSocket
          .timeout(5_000)
          .emitWithAck('message:send', { conversationId, body: `m${sent}`, clientMsgId: `chaos-${sent++}` })
          .catch(() => ({ ok: false, error: { code: 'no ack' } }));
        if (ack.ok) acked.push(ack.message.id);
        else refusals.set(ack.error.code, (refusals.get(ack.error.code) ?? 0) + 1);
        await sleep(20);
      }
    };
    const loops = Promise.all([readLoop(), sendLoop()]);
    await sleep(1_000);
    await cluster.primary.stop('fast');
    await sleep(3_000);
    await cluster.primary.start();
    const restarted = Date.now();
    await until(
      async () => (await request(server.url, 'GET', '/api/me', { token: bob.accessToken })).status === 200,
      5_000,
      'service back within 5 s of the database',
    );
    const backAfterMs = Date.now() - restarted;
    await sleep(1_000);
    running = false;
    await loops;

    const report = {
      statuses: Object.fromEntries(statuses),
      refusals: Object.fromEntries(refusals),
      acked: acked.length,
      backAfterMs,
    };
    expect(server.child.exitCode, JSON.stringify(report)).to.equal(null);
    expect(
      [...statuses.keys()].every((status) => status === 200 || status === 503),
      JSON.stringify(report),
    ).to.equal(true);
    expect(statuses.get(503) ?? 0, JSON.stringify(report)).to.be.above(0);
    expect([...retryAfters].every((value) => value !== null && Number(value) >= 1)).to.equal(true);
    expect(
      [...refusals.keys()].every((code) => code === 'overloaded'),
      JSON.stringify(report),
    ).to.equal(true);
    expect(disconnects).to.equal(0);

    const history = await request(
      server.url,
      'GET',
      `/api/conversations/${conversationId}/messages?after=0&limit=500`,
      { token: alice.accessToken },
    );
    const storedIds = (history.body.messages as { id: string; seq: number }[]).map((m) => m.id);
    expect(new Set(storedIds).size).to.equal(storedIds.length);
    for (const id of acked) expect(storedIds, `acked ${id}`).to.include(id);
    const seqs = (history.body.messages as { seq: number }[]).map((m) => m.seq);
    expect(seqs).to.deep.equal(seqs.map((_, i) => i + 1));
  });
});
