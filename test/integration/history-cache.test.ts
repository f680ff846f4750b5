// The hot-history cache across three real server processes (Redis Streams adapter): what any process serves is
// the database's answer at some moment, and never older than an event that process has delivered.
import { expect } from 'chai';
import pg from 'pg';
import type { Message } from '../../src/contract/messages.js';
import { toMessage, type MessageRow } from '../../src/db/messages.repository.js';
import { createGroup, register, request, type Account } from '../support/client.js';
import { serverSuite } from '../support/server-suite.js';
import { connect, until } from '../support/sockets.js';
import { startServer, type ServerProcess } from '../support/processes.js';
import { HEALTH_DETAIL, testDatabaseUrl } from '../support/services.js';

const LIMIT = 20;

async function storedMessages(conversationId: string): Promise<Map<number, Message>> {
  const client = new pg.Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<MessageRow>(
      `SELECT id::text, conversation_id::text, seq, sender_id::text, body, client_msg_id, created_at, edited_at, deleted_at, attachments FROM messages WHERE conversation_id = $1`,
      [conversationId],
    );
    // The repository's own row-to-wire mapping: what is compared is which rows a page holds, not the mapping.
    return new Map(rows.map((row) => [Number(row.seq), toMessage(row)]));
  } finally {
    await client.end();
  }
}

describe('hot-history cache: coherence across processes', function () {
  this.timeout(60_000);
  const servers = serverSuite({ HISTORY_CACHE_MESSAGES: '40' });
  let c: ServerProcess;
  before(async () => {
    c = await startServer({ HISTORY_CACHE_MESSAGES: '40' });
  });
  after(() => c?.stop('SIGKILL'));

  const latest = async (server: ServerProcess, reader: Account, id: string) => {
    const reply = await request(server.url, 'GET', `/api/conversations/${id}/messages?limit=${LIMIT}`, {
      token: reader.accessToken,
    });
    return reply;
  };
  const cacheHits = async (server: ServerProcess) =>
    (await request(server.url, 'GET', '/health', { headers: HEALTH_DETAIL })).body.historyCache.hits as number;

  it('when members send from two processes while others read on all three, then every page is a gap-free newest page of what is stored, never behind an event already delivered there', async () => {
    const all = [servers.a, servers.b, c];
    const [alice, bob, carol] = await Promise.all([
      register(servers.a.url),
      register(servers.a.url),
      register(servers.a.url),
    ]);
    const id = await createGroup(servers.a.url, alice, [bob, carol]);
    const hitsBefore = await Promise.all(all.map(cacheHits));

    const pages: Array<{ where: string; messages: Message[] }> = [];
    const lateReads: string[] = [];
    let sending = true;
    // A socket on each process: when a message:new reaches it, a read on that same process must include it.
    const sockets = await Promise.all(all.map((server) => connect(server.url, { token: carol.accessToken })));
    const eventReads: Array<Promise<void>> = [];
    sockets.forEach((socket, index) =>
      socket.on('message:new', ({ message }: { message: Message }) => {
        eventReads.push(
          latest(all[index]!, carol, id).then((reply) => {
            const top = reply.body.messages[0]?.seq ?? 0;
            if (top < message.seq)
              lateReads.push(`process ${index}: seq ${message.seq} delivered, then a read topped at ${top}`);
            pages.push({ where: `after event on ${index}`, messages: reply.body.messages });
          }),
        );
      }),
    );

    const sender = async (server: ServerProcess, who: Account, tag: string) => {
      for (let i = 0; i < 40; i += 1) {
        const reply = await request(server.url, 'POST', `/api/conversations/${id}/messages`, {
          token: who.accessToken,
          body: { body: `${tag}-${i}`, clientMsgId: `${tag}-${i}` },
        });
        expect(reply.status).to.equal(201);
        // The writer reads its own write back on another process right away.
        const own = await latest(all[(i + 1) % 3]!, who, id);
        if (!own.body.messages.some((m: Message) => m.id === reply.body.message.id))
          lateReads.push(`${tag}: own send ${reply.body.message.seq} missing from the next read`);
        pages.push({ where: `own read ${tag}`, messages: own.body.messages });
      }
    };
    const reader = async (server: ServerProcess, index: number) => {
      while (sending) {
        const reply = await latest(server, carol, id);
        expect(reply.status).to.equal(200);
        pages.push({ where: `reader on ${index}`, messages: reply.body.messages });
      }
    };
    const readers = all.map(reader);
    await Promise.all([sender(servers.a, alice, 'alice'), sender(servers.b, bob, 'bob')]);
    sending = false;
    await Promise.all(readers);
    await until(() => eventReads.length >= 3 * 80, 10_000, 'every event reached every socket');
    await Promise.all(eventReads);

    const stored = await storedMessages(id);
    expect(stored.size).to.equal(80);
    for (const { where, messages } of pages) {
      const top = messages[0]?.seq ?? 0;
      const expected = Array.from({ length: Math.min(LIMIT, top) }, (_, i) => stored.get(top - i));
      expect(messages, `${where}: the newest ${LIMIT} below seq ${top}`).to.deep.equal(expected);
    }
    expect(lateReads).to.deep.equal([]);
    // The cache answered on every process (otherwise this test would say nothing about it).
    const hitsAfter = await Promise.all(all.map(cacheHits));
    hitsAfter.forEach((hits, index) =>
      expect(hits, `cache hits on process ${index}`).to.be.greaterThan(hitsBefore[index]!),
    );
    expect(pages.length).to.be.greaterThan(300);
  });

  it('when a member is removed on one process, then no process shows them a message sent after it; a member added elsewhere reads at once', async () => {
    const [alice, bob, dave] = await Promise.all([
      register(servers.a.url),
      register(servers.a.url),
      register(servers.a.url),
    ]);
    const id = await createGroup(servers.a.url, alice, [bob]);
    await request(servers.a.url, 'POST', `/api/conversations/${id}/messages`, {
      token: alice.accessToken,
      body: { body: 'before', clientMsgId: 'before' },
    });
    // Every process caches the conversation with bob as a member.
    for (const server of [servers.a, servers.b, c]) expect((await latest(server, bob, id)).status).to.equal(200);

    expect(
      (
        await request(servers.a.url, 'DELETE', `/api/conversations/${id}/members/${bob.user.id}`, {
          token: alice.accessToken,
        })
      ).status,
    ).to.equal(204);
    // The process that removed him refuses him at once: its own event reaches its cache before the 204.
    expect((await latest(servers.a, bob, id)).status).to.equal(404);
    const after = await request(servers.b.url, 'POST', `/api/conversations/${id}/messages`, {
      token: alice.accessToken,
      body: { body: 'after', clientMsgId: 'after' },
    });
    expect(after.status).to.equal(201);
    // Until a process has the removal's event it may still serve bob what he could already see, never more: the
    // removal precedes the later message in the adapter's stream. Then every process refuses him.
    for (const server of [servers.a, servers.b, c]) {
      await until(
        async () => {
          const reply = await latest(server, bob, id);
          if (reply.status === 200) expect(reply.body.messages.map((m: Message) => m.body)).to.deep.equal(['before']);
          else expect(reply.status).to.equal(404);
          return reply.status === 404;
        },
        5_000,
        'the removed member refused',
      );
    }

    expect(
      (
        await request(servers.b.url, 'POST', `/api/conversations/${id}/members`, {
          token: alice.accessToken,
          body: { userId: dave.user.id },
        })
      ).status,
    ).to.equal(201);
    for (const server of [servers.a, servers.b, c]) {
      const reply = await latest(server, dave, id);
      expect(reply.status, 'added member').to.equal(200);
      expect(reply.body.messages.map((m: Message) => m.body)).to.deep.equal(['after', 'before']);
    }
  });
});
