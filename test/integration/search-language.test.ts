// SEARCH_LANGUAGE on a database of its own (a language change re-indexes every stored message, which would
// disturb the other suites' database): stemming after a switch to english, re-indexing of what was stored
// before, and a start refused for a configuration PostgreSQL does not have.
import { expect } from 'chai';
import pg from 'pg';
import { createGroup, register, request } from '../support/client.js';
import { startServer, stopAll } from '../support/processes.js';
import { ADMIN_DATABASE_URL, TEST_DATABASE_NAME } from '../support/services.js';
import { until } from '../support/sockets.js';

const NAME = `${TEST_DATABASE_NAME}_lang`;
const url = (() => {
  const parsed = new URL(ADMIN_DATABASE_URL);
  parsed.pathname = `/${NAME}`;
  return parsed.toString();
})();

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('search language', function () {
  this.timeout(60_000);
  before(() => admin(`CREATE DATABASE ${NAME}`));
  after(async () => {
    await stopAll();
    await admin(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`);
  });

  it('when SEARCH_LANGUAGE changes from simple to english, then stored messages are re-indexed and words match by stem', async () => {
    const simple = await startServer({ DATABASE_URL: url });
    const [alice, bob] = await Promise.all([register(simple.url), register(simple.url)]);
    const group = await createGroup(simple.url, alice, [bob]);
    await request(simple.url, 'POST', `/api/conversations/${group}/messages`, {
      token: alice.accessToken,
      body: { body: 'she was running home', clientMsgId: 'l-1' },
    });
    const find = (base: string, q: string) =>
      request(base, 'GET', `/api/search/messages?q=${encodeURIComponent(q)}`, { token: bob.accessToken }).then(
        (reply) => reply.body.messages.length as number,
      );
    expect(await find(simple.url, 'runs')).to.equal(0);
    expect(await find(simple.url, 'running')).to.equal(1);
    await simple.stop();

    const english = await startServer({ DATABASE_URL: url, SEARCH_LANGUAGE: 'english' });
    await until(
      async () => (await find(english.url, 'runs')) === 1,
      10_000,
      'the stored message re-indexed in english',
    );
    await request(english.url, 'POST', `/api/conversations/${group}/messages`, {
      token: alice.accessToken,
      body: { body: 'the runner runs', clientMsgId: 'l-2' },
    });
    expect(await find(english.url, 'run')).to.equal(2);
    // A stop word alone is no query at all in english: no match, no error.
    expect(await find(english.url, 'the')).to.equal(0);
  });

  it('when SEARCH_LANGUAGE names no text-search configuration, then the process refuses to start', async () => {
    let failure: Error | undefined;
    await startServer({ DATABASE_URL: url, SEARCH_LANGUAGE: 'klingon' }).catch((error: Error) => (failure = error));
    expect(failure?.message).to.match(/exited with/);
    expect(failure?.message).to.match(/klingon/);
  });
});
