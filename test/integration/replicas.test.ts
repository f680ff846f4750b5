import { expect } from 'chai';
import pg from 'pg';
import {
  setReplayPaused,
  startPostgresCluster,
  waitForReplay,
  type PgCluster,
  type PgNode,
} from '../../deploy/topology/postgres-cluster.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { createGroup, register, request, type Account } from '../support/client.js';
import { HEALTH_DETAIL } from '../support/services.js';
import { until } from '../support/sockets.js';

// Real streaming replicas (a primary and two replicas in a temp dir, deploy/topology/postgres-cluster.ts) behind two
// Parley instances sharing Redis. The history cache is off here: these tests are about where reads go.
describe('read replicas (real streaming replication)', function () {
  this.timeout(60_000);
  let cluster: PgCluster;
  let a: TestApp;
  let b: TestApp;

  const appEnv = (maxLagMs: string) => ({
    DATABASE_URL: cluster.primary.url('parley'),
    DATABASE_REPLICA_URLS: cluster.replicas.map((replica) => replica.url('parley')).join(','),
    DB_REPLICA_CHECK_INTERVAL_MS: '50',
    DB_REPLICA_MAX_LAG_MS: maxLagMs,
    DB_CONNECT_TIMEOUT_MS: '1000',
    HISTORY_CACHE_CONVERSATIONS: '0',
  });

  before(async () => {
    cluster = await startPostgresCluster({ replicas: 2 });
    await cluster.createDatabase('parley');
    // Lag limit far away: a paused replica stays in rotation, so what it serves is its older state.
    [a, b] = await Promise.all([startTestApp(appEnv('600000')), startTestApp(appEnv('600000'))]);
  });
  after(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await cluster?.stop();
  });
  afterEach(async () => {
    // Every test leaves both replicas running and replaying.
    for (const replica of cluster.replicas) if (!replica.running) await replica.start();
    await Promise.all(cluster.replicas.map((replica) => setReplayPaused(replica, false)));
  });

  const replicasReplayed = () =>
    Promise.all(cluster.replicas.map((replica) => waitForReplay(replica, cluster.primary)));
  const history = async (app: TestApp, reader: Account, id: string): Promise<string[]> => {
    const reply = await request(app.url, 'GET', `/api/conversations/${id}/messages?limit=50`, {
      token: reader.accessToken,
    });
    expect(reply.status).to.equal(200);
    return reply.body.messages.map((message: { body: string }) => message.body);
  };
  const send = async (app: TestApp, sender: Account, id: string, body: string) => {
    const reply = await request(app.url, 'POST', `/api/conversations/${id}/messages`, {
      token: sender.accessToken,
      body: { body, clientMsgId: body },
    });
    expect(reply.status).to.equal(201);
  };
  async function statementsOn(node: PgNode): Promise<string[]> {
    const client = new pg.Client({ connectionString: node.url('parley') });
    await client.connect();
    try {
      const { rows } = await client.query<{ query: string }>(
        "SELECT query FROM pg_stat_activity WHERE application_name LIKE 'parley:replica:%'",
      );
      return rows.map((row) => row.query);
    } finally {
      await client.end();
    }
  }
  async function setup(): Promise<{ alice: Account; bob: Account; id: string }> {
    const [alice, bob] = await Promise.all([register(a.url), register(a.url)]);
    const id = await createGroup(a.url, alice, [bob]);
    await send(a, alice, id, `first-${id}`);
    await replicasReplayed();
    await Promise.all([a.parley.db.checkReplicas(), b.parley.db.checkReplicas()]);
    return { alice, bob, id };
  }

  it('when history is read, then it runs on the replicas, round-robin, and never writes there', async () => {
    const { bob, id } = await setup();
    // Concurrent reads open several connections per replica pool: the replica monitor's own query then cannot
    // overwrite every connection's last statement in pg_stat_activity.
    await Promise.all(Array.from({ length: 12 }, () => history(a, bob, id)));
    for (const replica of cluster.replicas) {
      const statements = await statementsOn(replica);
      expect(
        statements.some((q) => /FROM messages m\s+WHERE m.conversation_id = \$1/.test(q)),
        replica.name,
      ).to.equal(true);
      expect(statements.some((q) => /INSERT/.test(q))).to.equal(false);
    }
  });

  it('when replay is paused, then the writer reads its own write (on either instance), another user the older state, and both converge after resume', async () => {
    const { alice, bob, id } = await setup();
    await Promise.all(cluster.replicas.map((replica) => setReplayPaused(replica, true)));
    await send(a, alice, id, 'while-paused');
    // The writer: on the instance that took the write (its own fence) and on the other one (the fence in Redis).
    expect(await history(a, alice, id)).to.include('while-paused');
    expect(await history(b, alice, id)).to.include('while-paused');
    // Someone else reads a replica, which has not replayed it yet.
    expect(await history(a, bob, id)).to.not.include('while-paused');
    expect(await history(b, bob, id)).to.not.include('while-paused');
    await Promise.all(cluster.replicas.map((replica) => setReplayPaused(replica, false)));
    await replicasReplayed();
    await Promise.all([a.parley.db.checkReplicas(), b.parley.db.checkReplicas()]);
    for (const app of [a, b])
      for (const reader of [alice, bob]) expect(await history(app, reader, id)).to.include('while-paused');
  });

  it('when replay is paused, then search (which tolerates lag) answers from a replica: a new message is found only after resume', async () => {
    const { alice, bob, id } = await setup();
    const search = async (reader: Account) =>
      (await request(a.url, 'GET', '/api/search/messages?q=quokka', { token: reader.accessToken })).body.messages.map(
        (m: { body: string }) => m.body,
      );
    await Promise.all(cluster.replicas.map((replica) => setReplayPaused(replica, true)));
    await send(a, alice, id, 'quokka sighting');
    // The primary has it: an empty answer means a replica answered.
    expect(await search(bob)).to.deep.equal([]);
    await Promise.all(cluster.replicas.map((replica) => setReplayPaused(replica, false)));
    await replicasReplayed();
    expect(await search(bob)).to.deep.equal(['quokka sighting']);
  });

  it('when a user marks read or joins while replay is paused, then their own listing shows it on either instance', async () => {
    const { alice, bob, id } = await setup();
    await Promise.all(cluster.replicas.map((replica) => setReplayPaused(replica, true)));
    const listing = async (app: TestApp) =>
      (await request(app.url, 'GET', '/api/conversations', { token: bob.accessToken })).body.conversations as Array<{
        id: string;
        unread: number;
      }>;
    expect((await listing(b)).find((c) => c.id === id)!.unread).to.equal(1);
    expect(
      (await request(a.url, 'POST', `/api/conversations/${id}/read`, { token: bob.accessToken, body: { seq: 1 } }))
        .status,
    ).to.equal(204);
    expect((await listing(b)).find((c) => c.id === id)!.unread).to.equal(0);
    const created = await createGroup(b.url, bob, [alice], 'made-while-paused');
    expect((await listing(a)).map((c) => c.id)).to.include(created);
    // alice did not write meanwhile: her listing comes from a paused replica and does not have it yet.
    const hers = (await request(a.url, 'GET', '/api/conversations', { token: alice.accessToken })).body
      .conversations as Array<{ id: string }>;
    expect(hers.map((c) => c.id)).to.not.include(created);
  });

  it('when a replica dies, then no read fails, it shows as down, readiness stays up, and it comes back into rotation', async () => {
    const { bob, id } = await setup();
    const [dead] = cluster.replicas as [PgNode, PgNode];
    await dead.stop('immediate');
    for (let i = 0; i < 10; i += 1) expect(await history(a, bob, id)).to.include(`first-${id}`);
    const health = await request(a.url, 'GET', '/health', { headers: HEALTH_DETAIL });
    expect(health.body.db.replicas.map((r: { name: string; state: string }) => [r.name, r.state])).to.deep.equal([
      ['replica-0', 'down'],
      ['replica-1', 'up'],
    ]);
    expect((await request(a.url, 'GET', '/health/ready')).status).to.equal(200);
    await dead.start();
    await until(
      async () =>
        (await request(a.url, 'GET', '/health', { headers: HEALTH_DETAIL })).body.db.replicas[0].state === 'up',
      10_000,
      'replica-0 back up',
    );
    await Promise.all(Array.from({ length: 12 }, () => history(a, bob, id)));
    expect((await statementsOn(dead)).some((q) => /FROM messages m/.test(q))).to.equal(true);
  });

  it('when a replica lags past DB_REPLICA_MAX_LAG_MS, then it leaves rotation with its lag in /health and metrics, and returns once it catches up', async () => {
    const lagApp = await startTestApp(appEnv('300'));
    try {
      const { alice, bob, id } = await setup();
      const [behind] = cluster.replicas as [PgNode, PgNode];
      await setReplayPaused(behind, true);
      await send(a, alice, id, 'moves-the-primary');
      await until(
        async () =>
          (await request(lagApp.url, 'GET', '/health', { headers: HEALTH_DETAIL })).body.db.replicas[0].state ===
          'lagging',
        10_000,
        'replica-0 lagging',
      );
      const [lagging, fresh] = (await request(lagApp.url, 'GET', '/health', { headers: HEALTH_DETAIL })).body.db
        .replicas;
      expect(lagging.lagBytes).to.be.greaterThan(0);
      expect(lagging.lagSeconds).to.be.greaterThan(0.3);
      expect(fresh).to.include({ state: 'up', lagBytes: 0 });
      // bob has no write of his own here: he would read a replica, and only the caught-up one is in rotation.
      for (let i = 0; i < 4; i += 1) expect(await history(lagApp, bob, id)).to.include('moves-the-primary');
      const metrics = (await request(lagApp.url, 'GET', '/health/metrics')).body as string;
      expect(metrics).to.match(/parley_db_replica_up\{replica="replica-0"[^}]*\} 0/);
      expect(metrics).to.match(/parley_db_replica_up\{replica="replica-1"[^}]*\} 1/);
      expect(metrics).to.match(/parley_db_replica_lag_bytes\{replica="replica-0"[^}]*\} [1-9]/);
      expect(metrics).to.match(/parley_db_replica_lag_seconds\{replica="replica-0"[^}]*\} /);
      await setReplayPaused(behind, false);
      await until(
        async () =>
          (await request(lagApp.url, 'GET', '/health', { headers: HEALTH_DETAIL })).body.db.replicas[0].state === 'up',
        10_000,
        'replica-0 back up',
      );
    } finally {
      await lagApp.close();
    }
  });
});
