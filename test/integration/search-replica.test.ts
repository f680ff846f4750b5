// Search is a read that tolerates lag: with DATABASE_REPLICA_URLS set it runs on the replica pool. As in
// replicas.test.ts, the "replica" is a second pool on the same database, told apart by application_name.
import { expect } from 'chai';
import pg from 'pg';
import { startTestApp, type TestApp } from '../support/app.js';
import { createGroup, register, request, sendMessage } from '../support/client.js';
import { testDatabaseUrl } from '../support/services.js';

describe('search on a replica', () => {
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

  it('when messages are searched, then the query runs on the replica pool, not the primary', async () => {
    const [alice, bob] = await Promise.all([register(app.url), register(app.url)]);
    const id = await createGroup(app.url, alice, [bob]);
    await sendMessage(app.url, alice, id, 'replicated words');
    const reply = await request(app.url, 'GET', '/api/search/messages?q=replicated', { token: bob.accessToken });
    expect(reply.body.messages.map((m: { body: string }) => m.body)).to.deep.equal(['replicated words']);
    const statements = async (name: string) =>
      (await observer.query<{ query: string }>('SELECT query FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()', [name])).rows.map((row) => row.query);
    expect((await statements('parley:replica:0')).some((q) => q.includes('plainto_tsquery'))).to.equal(true);
    expect((await statements('parley:primary')).some((q) => q.includes('plainto_tsquery'))).to.equal(false);
  });
});
