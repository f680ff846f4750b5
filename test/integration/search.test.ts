// Message search over HTTP on two processes: ranking on a small fixture with its expected order written out,
// only the caller's conversations, deleted messages never, edits re-indexed, paging, snippets, bad input.
import { expect } from 'chai';
import { createGroup, register, request, sendMessage, type Account } from '../support/client.js';
import { serverSuite } from '../support/server-suite.js';

const send = sendMessage;

describe('message search', function () {
  this.timeout(60_000);
  const servers = serverSuite();
  let alice: Account;
  let bob: Account;
  let carol: Account;
  let group: string;
  let other: string;

  const search = (who: Account, query: Record<string, string>, url = servers.b.url) =>
    request(url, 'GET', `/api/search/messages?${new URLSearchParams(query)}`, { token: who.accessToken });
  const bodies = (reply: { body: { messages: Array<{ body: string }> } }) => reply.body.messages.map((m) => m.body);

  before(async () => {
    [alice, bob, carol] = await Promise.all([
      register(servers.a.url),
      register(servers.a.url),
      register(servers.a.url),
    ]);
    group = await createGroup(servers.a.url, alice, [bob]);
    other = await createGroup(servers.a.url, bob, [alice]);
    // Sent one after another, so ids (the tie-break, newest first) follow this order.
    for (const body of ['an apple', 'apple and apple', 'banana split', 'apple apple apple', 'apple'])
      await send(servers.a.url, alice, group, body);
    for (const body of ['quick fox', 'the quick brown fox', 'a quick and very lazy old fox', 'quick'])
      await send(servers.a.url, bob, other, body);
    // Carol's own conversation: alice and bob must never see it.
    const carols = await createGroup(servers.a.url, carol, []);
    await send(servers.a.url, carol, carols, 'apple apple apple apple secret');
  });

  it("when searching one word, then the caller's matches come best first (more occurrences, then newest), from the other process", async () => {
    const reply = await search(bob, { q: 'apple' });
    expect(reply.status).to.equal(200);
    expect(bodies(reply)).to.deep.equal(['apple apple apple', 'apple and apple', 'apple', 'an apple']);
    expect(reply.body).to.not.have.property('next');
  });

  it('when searching two words, then both must occur and closer together ranks higher', async () => {
    expect(bodies(await search(alice, { q: 'quick fox' }))).to.deep.equal([
      'quick fox',
      'the quick brown fox',
      'a quick and very lazy old fox',
    ]);
    expect(bodies(await search(alice, { q: 'FOX', conversationId: other }))).to.have.length(3);
    expect(bodies(await search(alice, { q: 'fox', conversationId: group }))).to.deep.equal([]);
  });

  it('when paging with limit, then next continues exactly where the page ended and the last page has no next', async () => {
    const first = await search(bob, { q: 'apple', limit: '3' });
    expect(bodies(first)).to.deep.equal(['apple apple apple', 'apple and apple', 'apple']);
    const second = await search(bob, { q: 'apple', limit: '3', before: first.body.next }, servers.a.url);
    expect(bodies(second)).to.deep.equal(['an apple']);
    expect(second.body).to.not.have.property('next');
  });

  it('when a message is edited, then it is found by its new words only; when deleted, then never', async () => {
    const message = await send(servers.a.url, alice, group, 'kumquat season');
    expect(bodies(await search(bob, { q: 'kumquat' }))).to.deep.equal(['kumquat season']);
    const edited = await request(servers.b.url, 'PATCH', `/api/conversations/${group}/messages/${message.seq}`, {
      token: alice.accessToken,
      body: { body: 'persimmon season' },
    });
    expect(edited.status).to.equal(200);
    expect(bodies(await search(bob, { q: 'kumquat' }))).to.deep.equal([]);
    expect(bodies(await search(bob, { q: 'persimmon' }))).to.deep.equal(['persimmon season']);
    await request(servers.a.url, 'DELETE', `/api/conversations/${group}/messages/${message.seq}`, {
      token: alice.accessToken,
    });
    expect(bodies(await search(bob, { q: 'persimmon' }))).to.deep.equal([]);
    expect(bodies(await search(bob, { q: 'season' }))).to.deep.equal([]);
  });

  it('when a body holds HTML, then the snippet marks the match and escapes the rest', async () => {
    await send(servers.a.url, alice, group, '<b>mango</b> & "friends"');
    const [hit] = (await search(bob, { q: 'mango' })).body.messages;
    expect(hit.body).to.equal('<b>mango</b> & "friends"');
    // An excerpt around the match (ts_headline drops markup-like tokens at its edges), escaped but for <mark>.
    expect(hit.snippet).to.equal('<mark>mango</mark>&lt;/b&gt; &amp; &quot;friends');
    expect(hit.snippet.replace(/<\/?mark>/g, '')).to.not.match(/[<>"]/);
  });

  it('when the query holds tsquery operators or only punctuation, then they are plain text, never an error', async () => {
    expect(bodies(await search(bob, { q: 'apple & !banana' }))).to.deep.equal([]);
    expect(bodies(await search(bob, { q: 'banana | split' }))).to.deep.equal(['banana split']);
    expect(bodies(await search(bob, { q: "apple:* (apple) 'apple'" }))).to.have.length(4);
    for (const q of ['&|!():*', '!!!', "'", '\\', '<->', '"']) {
      const reply = await search(bob, { q });
      expect(reply.status, q).to.equal(200);
      expect(reply.body.messages, q).to.deep.equal([]);
    }
  });

  it('when the query is empty, too long or malformed, or the cursor or conversation is bad, then 400 or 404', async () => {
    for (const [query, field] of [
      [{ q: '' }, 'q'],
      [{ q: '   ' }, 'q'],
      [{}, 'q'],
      [{ q: 'x'.repeat(257) }, 'q'],
      [{ q: 'nul\u0000' }, 'q'],
      [{ q: 'apple', limit: '0' }, 'limit'],
      [{ q: 'apple', limit: '51' }, 'limit'],
      [{ q: 'apple', before: 'garbage' }, 'before'],
      [{ q: 'apple', before: Buffer.from('["NaN","1"]').toString('base64url') }, 'before'],
      [{ q: 'apple', before: Buffer.from('["0.1","99999999999999999999"]').toString('base64url') }, 'before'],
      [{ q: 'apple', conversationId: 'abc' }, 'conversationId'],
    ] as const) {
      const reply = await search(bob, query);
      expect(reply.status, JSON.stringify(query)).to.equal(400);
      expect(reply.body.error.details.fields, JSON.stringify(query)).to.have.property(field);
    }
    const twice = await request(servers.a.url, 'GET', '/api/search/messages?q=a&q=b', { token: bob.accessToken });
    expect(twice.status).to.equal(400);
    const foreign = await search(carol, { q: 'apple', conversationId: group });
    expect(foreign.status).to.equal(404);
    expect((await request(servers.a.url, 'GET', '/api/search/messages?q=apple')).status).to.equal(401);
  });
});
