import { expect } from 'chai';
import pg from 'pg';
import { startTestApp, type TestApp } from '../support/app.js';
import { createGroup, register, request, uniqueName } from '../support/client.js';
import { HEALTH_DETAIL, testDatabaseUrl } from '../support/services.js';

// A "replica" here is a second pool on the same database: its connections are told apart by application_name,
// and pg_stat_activity shows the last statement each connection ran.
describe('read replicas', () => {
  let app: TestApp;
  let observer: pg.Client;
  before(async () => {
    app = await startTestApp({ DATABASE_REPLICA_URLS: testDatabaseUrl() });
    observer = new pg.Client({ connectionString: testDatabaseUrl() });
    await observer.connect();
  });
  after(async () => {
    await observer.end();
    await app.close();
  });

  async function lastStatements(applicationName: string): Promise<string[]> {
    const { rows } = await observer.query<{ query: string }>(
      'SELECT query FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
      [applicationName],
    );
    return rows.map((row) => row.query);
  }

  it('when users are searched, then the query runs on the replica pool', async () => {
    const account = await register(app.url);
    const marker = uniqueName('replica');
    await request(app.url, 'GET', `/api/users?q=${marker}`, { token: account.accessToken });
    expect((await lastStatements('parley:replica:0')).some((q) => /FROM users u WHERE u.username LIKE/.test(q))).to.equal(true);
  });

  it('when history is read, then it runs on the replica; when a message is sent, then on the primary', async () => {
    const [alice, bob] = await Promise.all([register(app.url), register(app.url)]);
    const id = await createGroup(app.url, alice, [bob]);
    await request(app.url, 'POST', `/api/conversations/${id}/messages`, { token: alice.accessToken, body: { body: 'x', clientMsgId: 'rep-1' } });
    await request(app.url, 'GET', `/api/conversations/${id}/messages?after=0`, { token: bob.accessToken });
    const replica = await lastStatements('parley:replica:0');
    const primary = await lastStatements('parley:primary');
    expect(replica.some((q) => /FROM messages m\s+WHERE m.conversation_id = \$1 AND m.seq > \$3/.test(q))).to.equal(true);
    expect(replica.some((q) => /INSERT INTO messages/.test(q))).to.equal(false);
    expect(primary.length).to.be.greaterThan(0);
  });

  it('when /health is asked, then it shows the replica pool', async () => {
    const reply = await request(app.url, 'GET', '/health', { headers: HEALTH_DETAIL });
    expect(reply.body.db.replicas).to.have.length(1);
    expect(reply.body.db.replicas[0]).to.have.all.keys('total', 'idle', 'waiting');
  });
});
