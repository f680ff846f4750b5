// GET /api/conversations/:id/export: gzip'd NDJSON of every message, members only, streamed page by page.
import { expect } from 'chai';
import { useTestApp, type TestApp } from '../support/app.js';
import { createGroup, register, request, uniqueName, type Account } from '../support/client.js';
import { streamExport } from '../support/export-client.js';

async function send(app: TestApp, account: Account, conversationId: string, body: string) {
  const reply = await request(app.url, 'POST', `/api/conversations/${conversationId}/messages`, {
    token: account.accessToken,
    body: { body, clientMsgId: uniqueName('m') },
  });
  expect(reply.status).to.equal(201);
  return reply.body.message;
}

async function exportLines(app: TestApp, conversationId: string, account: Account) {
  const messages: any[] = [];
  const read = await streamExport(app.url, conversationId, account.accessToken, (line) =>
    messages.push(JSON.parse(line)),
  );
  return { ...read, messages };
}

describe('conversation export', () => {
  const app = useTestApp({ EXPORT_PAGE_SIZE: '2' });
  let alice: Account;
  let bob: Account;
  let mallory: Account;
  before(async () => {
    // Small pages, so a handful of messages crosses several gzip members.
    [alice, bob, mallory] = await Promise.all([register(app.url), register(app.url), register(app.url)]);
  });

  it('when a member exports, then every message arrives as one NDJSON line, in seq order, as the API shows it', async () => {
    const conversationId = await createGroup(app.url, alice, [bob]);
    const sent = [];
    for (const body of ['one', 'two', 'three "quoted"', 'four\nlines', 'five'])
      sent.push(await send(app, alice, conversationId, body));
    const read = await exportLines(app, conversationId, bob);
    expect(read.status).to.equal(200);
    expect(read.headers['content-type']).to.equal('application/gzip');
    expect(read.headers['content-disposition']).to.equal(
      `attachment; filename="conversation-${conversationId}.ndjson.gz"`,
    );
    expect(read.messages).to.deep.equal(sent);
    expect(read.messages.map((message) => message.seq)).to.deep.equal([1, 2, 3, 4, 5]);
  });

  it('when the conversation has no messages, then the export is a valid empty gzip file', async () => {
    const conversationId = await createGroup(app.url, alice, [bob]);
    const read = await exportLines(app, conversationId, alice);
    expect(read.status).to.equal(200);
    expect(read.lines).to.equal(0);
  });

  it('when a non-member asks, then the answer is 404 not_found, as if the conversation did not exist', async () => {
    const conversationId = await createGroup(app.url, alice, [bob]);
    await send(app, alice, conversationId, 'secret');
    const reply = await request(app.url, 'GET', `/api/conversations/${conversationId}/export`, {
      token: mallory.accessToken,
    });
    expect(reply.status).to.equal(404);
    expect(reply.body.error.code).to.equal('not_found');
    const missing = await request(app.url, 'GET', '/api/conversations/999999999/export', {
      token: mallory.accessToken,
    });
    expect(missing.body).to.deep.equal(reply.body);
  });

  it('when the id is not an id or no credential is sent, then the contract errors come back', async () => {
    const bad = await request(app.url, 'GET', '/api/conversations/abc/export', { token: alice.accessToken });
    expect(bad.status).to.equal(404);
    expect(bad.body.error.code).to.equal('not_found');
    const anonymous = await request(app.url, 'GET', '/api/conversations/1/export');
    expect(anonymous.status).to.equal(401);
    expect(anonymous.body.error.code).to.equal('unauthorized');
  });
});
