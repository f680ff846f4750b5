import { expect } from 'chai';
import { existsSync } from 'node:fs';
import pg from 'pg';
import {
  setReplayPaused,
  startPostgresCluster,
  waitForReplay,
  type PgCluster,
} from '../../deploy/topology/postgres-cluster.js';

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

// The helper itself, against real servers: a primary, a streaming replica, and what tests do to them.
describe('postgres-cluster (primary + streaming replica in a temp dir)', function () {
  this.timeout(60_000);
  let cluster: PgCluster;
  before(async () => {
    cluster = await startPostgresCluster({ replicas: 1 });
    await cluster.createDatabase('app');
    await query(cluster.primary.url('app'), 'CREATE TABLE t (n int)');
  });
  after(async () => {
    await cluster?.stop();
  });

  it('when the primary commits, then the replica has the row once it replayed that LSN, and refuses writes', async () => {
    const replica = cluster.replicas[0]!;
    expect(replica.port).to.not.equal(cluster.primary.port);
    expect([replica.port, cluster.primary.port]).to.not.include(5432);
    await query(cluster.primary.url('app'), 'INSERT INTO t VALUES (1)');
    await waitForReplay(replica, cluster.primary);
    expect(await query(replica.url('app'), 'SELECT n FROM t')).to.deep.equal([{ n: 1 }]);
    expect(await query(replica.url(), 'SELECT pg_is_in_recovery() AS recovery')).to.deep.equal([{ recovery: true }]);
    const failure = await query(replica.url('app'), 'INSERT INTO t VALUES (2)').catch(
      (error: { code?: string }) => error,
    );
    expect((failure as { code?: string }).code).to.equal('25006');
  });

  it('when replay is paused, then the replica keeps its older state until resumed', async () => {
    const replica = cluster.replicas[0]!;
    await setReplayPaused(replica, true);
    await query(cluster.primary.url('app'), 'INSERT INTO t VALUES (10)');
    expect(await query(replica.url('app'), 'SELECT n FROM t WHERE n = 10')).to.deep.equal([]);
    await setReplayPaused(replica, false);
    await waitForReplay(replica, cluster.primary);
    expect(await query(replica.url('app'), 'SELECT n FROM t WHERE n = 10')).to.deep.equal([{ n: 10 }]);
  });

  it('when a replica is stopped and started again, then it refuses connections meanwhile and catches up after', async () => {
    const replica = cluster.replicas[0]!;
    await replica.stop('immediate');
    expect(replica.running).to.equal(false);
    const refused = await query(replica.url('app'), 'SELECT 1').catch((error: { code?: string }) => error);
    expect((refused as { code?: string }).code).to.equal('ECONNREFUSED');
    await query(cluster.primary.url('app'), 'INSERT INTO t VALUES (20)');
    await replica.start();
    await waitForReplay(replica, cluster.primary);
    expect(await query(replica.url('app'), 'SELECT n FROM t WHERE n = 20')).to.deep.equal([{ n: 20 }]);
  });

  it('when the cluster stops, then its directory is gone', async () => {
    const second = await startPostgresCluster({ replicas: 0 });
    expect(existsSync(second.primary.dataDir)).to.equal(true);
    await second.stop();
    expect(existsSync(second.dir)).to.equal(false);
  });
});
