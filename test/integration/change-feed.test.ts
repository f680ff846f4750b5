// Catching up on changes: sync's changesSince/changesToken across reconnects to either process, paging, refused
// tokens, and the concurrency test: two processes editing and deleting while a third client keeps reconnecting,
// whose view must end equal to the database.
import { expect } from 'chai';
import pg from 'pg';
import { ChatView, type ViewMessage } from '../support/chat-view.js';
import { createGroup, deleteMessage, editMessage, register, request, type Account } from '../support/client.js';
import { serverSuite } from '../support/server-suite.js';
import { testDatabaseUrl } from '../support/services.js';
import { connect, emitAck, sleep } from '../support/sockets.js';

async function sendMany(
  url: string,
  sender: Account,
  conversationId: string,
  count: number,
  tag: string,
): Promise<Array<{ id: string; seq: number }>> {
  const sent: Array<{ id: string; seq: number }> = [];
  for (let start = 0; start < count; start += 25) {
    const replies = await Promise.all(
      Array.from({ length: Math.min(25, count - start) }, (_, i) =>
        request(url, 'POST', `/api/conversations/${conversationId}/messages`, {
          token: sender.accessToken,
          body: { body: `${tag} ${start + i}`, clientMsgId: `${tag}-${start + i}` },
        }),
      ),
    );
    for (const reply of replies) {
      if (reply.status !== 201) throw new Error(`send failed: ${reply.status}`);
      sent.push(reply.body.message);
    }
  }
  return sent.sort((a, b) => a.seq - b.seq);
}

const [patch, remove] = [editMessage, deleteMessage];

async function databaseView(conversationIds: string[]): Promise<Map<string, ViewMessage>> {
  const db = new pg.Client({ connectionString: testDatabaseUrl() });
  await db.connect();
  try {
    const { rows } = await db.query(
      `SELECT id::text, conversation_id::text AS "conversationId", seq::int, body,
              to_char(edited_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "editedAt",
              to_char(deleted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "deletedAt"
         FROM messages WHERE conversation_id = ANY($1::bigint[])`,
      [conversationIds],
    );
    return new Map(rows.map((row) => [row.id, row]));
  } finally {
    await db.end();
  }
}

const comparable = (view: Map<string, ViewMessage>) =>
  [...view.values()]
    .map(({ id, conversationId, seq, body, editedAt, deletedAt }) => ({
      id,
      conversationId,
      seq,
      body,
      editedAt,
      deletedAt,
    }))
    .sort((a, b) => Number(a.id) - Number(b.id));

describe('change feed: sync with changesSince', function () {
  this.timeout(120_000);
  // A disconnected socket counts against SOCKET_MAX_PER_USER for PRESENCE_GRACE_MS: room for the reconnect loop.
  const servers = serverSuite({ SOCKET_MAX_PER_USER: '100' });

  it('when a client was offline during edits and deletions in several conversations, then it gets each change once, in order, on the other process', async () => {
    const [alice, bob] = await Promise.all([register(servers.a.url), register(servers.a.url)]);
    const first = await createGroup(servers.a.url, alice, [bob]);
    const second = await createGroup(servers.a.url, alice, [bob]);
    const third = await createGroup(servers.a.url, alice, [bob]);
    const [m1, m2, m3] = [
      await sendMany(servers.a.url, alice, first, 3, 'f'),
      await sendMany(servers.a.url, alice, second, 2, 's'),
      await sendMany(servers.a.url, alice, third, 1, 't'),
    ];
    const view = new ChatView([first, second, third]);
    const bobA = await connect(servers.a.url, { token: bob.accessToken });
    const baseline = await view.sync(bobA);
    expect(baseline[0]!.changes).to.deep.equal([]);
    bobA.close();

    expect((await patch(servers.a.url, alice, first, m1[2]!.seq, 'f2 edited')).status).to.equal(200);
    expect((await patch(servers.b.url, alice, first, m1[0]!.seq, 'f0 edited once')).status).to.equal(200);
    expect((await remove(servers.b.url, alice, second, m2[1]!.seq)).status).to.equal(204);
    expect((await patch(servers.a.url, alice, first, m1[0]!.seq, 'f0 edited twice')).status).to.equal(200);
    expect((await patch(servers.a.url, alice, third, m3[0]!.seq, 't0 edited')).status).to.equal(200);

    const bobB = await connect(servers.b.url, { token: bob.accessToken });
    const [answer] = await view.sync(bobB);
    expect(answer!.messages).to.deep.equal([]);
    const summary = answer!.changes.map((m) => [m.conversationId, m.seq, m.body, Boolean(m.deletedAt)]);
    // Per conversation in change order: f2 changed before f0's last edit; f0 appears once, as it is now.
    expect(summary).to.deep.equal([
      [first, m1[2]!.seq, 'f2 edited', false],
      [first, m1[0]!.seq, 'f0 edited twice', false],
      [second, m2[1]!.seq, '', true],
      [third, m3[0]!.seq, 't0 edited', false],
    ]);
    const [again] = await view.sync(bobB);
    expect(again!.changes, 'nothing is handed back twice').to.deep.equal([]);
    expect(comparable(view.messages)).to.deep.equal(comparable(await databaseView([first, second, third])));
  });

  it("when changesSince is forged, garbage, or another user's, then validation_failed and nothing else; the socket stays usable", async () => {
    const [alice, bob] = await Promise.all([register(servers.a.url), register(servers.a.url)]);
    const group = await createGroup(servers.a.url, alice, [bob]);
    await sendMany(servers.a.url, alice, group, 1, 'x');
    const aliceA = await connect(servers.a.url, { token: alice.accessToken });
    const bobA = await connect(servers.a.url, { token: bob.accessToken });
    const aliceToken = (await emitAck(aliceA, 'sync', { cursors: { [group]: 0 } })).changesToken as string;
    const [body, signature] = aliceToken.split('.') as [string, string];
    const flip = (text: string) => (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
    for (const changesSince of [
      aliceToken,
      `${flip(body)}.${signature}`,
      `${body}.${flip(signature)}`,
      'garbage',
      `${body}.`,
      `${body}.${signature}.x`,
      'a'.repeat(5000),
    ]) {
      const ack = await emitAck(bobA, 'sync', { cursors: { [group]: 0 }, changesSince });
      expect(ack.ok, changesSince.slice(0, 20)).to.equal(false);
      expect(ack.error.code).to.equal('validation_failed');
      // The same answer for every refused token: nothing about whose it was or what it held.
      expect(ack.error.message).to.equal('changesSince is not a token this server issued to you');
      expect(ack).to.not.have.property('messages');
    }
    for (const changesSince of ['', 42, null]) {
      expect((await emitAck(bobA, 'sync', { cursors: {}, changesSince })).error.code).to.equal('validation_failed');
    }
    const ok = await emitAck(bobA, 'sync', { cursors: { [group]: 0 } });
    expect(ok.ok).to.equal(true);
    expect(ok.messages).to.have.length(1);
  });

  it('when two processes edit and delete while a third client disconnects and reconnects repeatedly, then its view ends equal to the database', async () => {
    const [alice, bob, carol] = await Promise.all([
      register(servers.a.url),
      register(servers.a.url),
      register(servers.a.url),
    ]);
    const one = await createGroup(servers.a.url, alice, [bob, carol]);
    const two = await createGroup(servers.b.url, bob, [alice, carol]);
    const view = new ChatView([one, two]);
    let writing = true;

    // Alice over REST on process A: sends, edits and deletes her own messages and (as owner) bob's in `one`.
    const aliceWrites = (async () => {
      const mine: number[] = [];
      for (let i = 0; i < 40; i++) {
        const conversationId = i % 2 ? one : two;
        const sent = await request(servers.a.url, 'POST', `/api/conversations/${conversationId}/messages`, {
          token: alice.accessToken,
          body: { body: `alice ${i}`, clientMsgId: `a-${i}` },
        });
        if (conversationId === one) mine.push(sent.body.message.seq);
        if (i % 3 === 0 && mine.length > 0)
          await patch(servers.a.url, alice, one, mine[mine.length - 1]!, `alice ${i} edited`);
        if (i % 4 === 0 && mine.length > 1)
          await patch(servers.a.url, alice, one, mine[0]!, `alice first edited at ${i}`);
        if (i % 7 === 0 && i > 0) await remove(servers.a.url, alice, one, Math.max(1, mine[mine.length - 1]! - 1));
      }
    })();
    // Bob over a socket on process B: the same in `two`.
    const bobWrites = (async () => {
      const bobB = await connect(servers.b.url, { token: bob.accessToken });
      const mine: number[] = [];
      for (let i = 0; i < 40; i++) {
        const conversationId = i % 2 ? two : one;
        const ack = await emitAck(bobB, 'message:send', { conversationId, body: `bob ${i}`, clientMsgId: `b-${i}` });
        if (conversationId === two) mine.push(ack.message.seq);
        if (i % 3 === 0 && mine.length > 0)
          await emitAck(bobB, 'message:edit', {
            conversationId: two,
            seq: mine[mine.length - 1],
            body: `bob ${i} edited`,
          });
        if (i % 5 === 0 && mine.length > 2)
          await emitAck(bobB, 'message:delete', { conversationId: two, seq: mine[1] });
        // Under the socket event budget (SOCKET_EVENTS_PER_SEC).
        await sleep(40);
      }
      bobB.close();
    })();
    // Carol keeps reconnecting, alternately to A and B, syncing each time and holding what arrives live.
    const carolReconnects = (async () => {
      let cycles = 0;
      while (writing || cycles < 2) {
        const socket = await connect(cycles % 2 ? servers.b.url : servers.a.url, { token: carol.accessToken });
        view.listen(socket);
        await view.sync(socket);
        await sleep(50 + (cycles % 3) * 40);
        socket.close();
        cycles += 1;
      }
      return cycles;
    })();
    await Promise.all([aliceWrites, bobWrites]);
    writing = false;
    const cycles = await carolReconnects;
    expect(cycles).to.be.greaterThan(3);

    const last = await connect(servers.b.url, { token: carol.accessToken });
    await view.sync(last);
    const database = await databaseView([one, two]);
    expect(database.size).to.equal(80);
    expect([...database.values()].some((m) => m.deletedAt)).to.equal(true);
    expect([...database.values()].some((m) => m.editedAt)).to.equal(true);
    expect(comparable(view.messages)).to.deep.equal(comparable(database));
  });
});

describe('change feed: paging', function () {
  this.timeout(60_000);
  // A small page, so a few changes fill it; the default (1000) is paged the same way.
  const servers = serverSuite({ SYNC_PAGE_SIZE: '10' });

  it('when more than a page of changes is waiting, then sync pages them (cut inside a conversation) with more:true and the next call completes them', async () => {
    const [alice, bob] = await Promise.all([register(servers.a.url), register(servers.a.url)]);
    const small = await createGroup(servers.a.url, alice, [bob]);
    const big = await createGroup(servers.a.url, alice, [bob]);
    const smallMessages = await sendMany(servers.a.url, alice, small, 3, 'small');
    const bigMessages = await sendMany(servers.b.url, alice, big, 12, 'big');
    const view = new ChatView([small, big]);
    const bobA = await connect(servers.a.url, { token: bob.accessToken });
    await view.sync(bobA);
    for (const message of smallMessages)
      expect((await patch(servers.a.url, alice, small, message.seq, `small edited ${message.seq}`)).status).to.equal(
        200,
      );
    for (let start = 0; start < bigMessages.length; start += 25) {
      await Promise.all(
        bigMessages
          .slice(start, start + 25)
          .map((m) => remove(start % 50 ? servers.a.url : servers.b.url, alice, big, m.seq)),
      );
    }
    const answers = await view.sync(bobA);
    expect(answers.map((a) => [a.changes.length, a.more])).to.deep.equal([
      [10, true],
      [5, false],
    ]);
    expect(view.changesSeen.size).to.equal(15);
    expect([...view.changesSeen.values()].every((count) => count === 1)).to.equal(true);
    const deleted = [...view.messages.values()].filter((m) => m.deletedAt);
    expect(deleted).to.have.length(12);
  });
});
