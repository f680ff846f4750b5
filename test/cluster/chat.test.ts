// Chat across PM2 instances, against the realtime contract (the socket.io section of docs/API.md).
import { expect } from 'chai';
import { io, type Socket } from 'socket.io-client';
import type { Message as WireMessage } from '../../src/contract/messages.js';
import { createGroup, register, type Account } from '../support/client.js';
import { sleep, startCluster, type Cluster } from './support/cluster.js';

type Message = Pick<WireMessage, 'id' | 'conversationId' | 'seq' | 'clientMsgId'>;

function connect(url: string, account: Account): Promise<Socket> {
  const socket = io(url, { auth: { token: account.accessToken }, transports: ['websocket'], forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/** A receiver that keeps every message it sees, live or through `sync` after a reconnect. */
function collect(socket: Socket, conversationId: string) {
  const seen = new Map<string, Message>();
  const add = (message: Message) => seen.set(message.clientMsgId, message);
  socket.on('message:new', ({ message }: { message: Message }) => add(message));
  // Catch-up is paged: `more` asks for the next page from the new cursor.
  const sync = () => {
    const last = Math.max(0, ...[...seen.values()].map((m) => m.seq));
    socket.emit(
      'sync',
      { cursors: { [conversationId]: last } },
      (reply: { ok: boolean; messages: Message[]; more?: boolean }) => {
        if (!reply.ok) return;
        reply.messages.forEach(add);
        if (reply.more) sync();
      },
    );
  };
  socket.io.on('reconnect', sync);
  return seen;
}

/** Sends with an ack; on no ack (the worker went away) re-sends the same clientMsgId, which is idempotent. */
async function sendUntilAcked(socket: Socket, conversationId: string, clientMsgId: string): Promise<Message> {
  for (;;) {
    if (socket.connected) {
      try {
        const reply = (await socket
          .timeout(3000)
          .emitWithAck('message:send', { conversationId, body: clientMsgId, clientMsgId })) as {
          ok: boolean;
          message: Message;
        };
        if (reply.ok) return reply.message;
      } catch {
        // No ack within the timeout: send again once connected.
      }
    }
    await sleep(100);
  }
}

describe('PM2 cluster: chat across instances', () => {
  let cluster: Cluster;
  let sender: Account;
  let receivers: Account[];
  let conversationId: string;
  const sockets: Socket[] = [];

  before(async () => {
    cluster = await startCluster();
    sender = await register(cluster.url);
    receivers = [await register(cluster.url), await register(cluster.url), await register(cluster.url)];
    conversationId = await createGroup(cluster.url, sender, receivers);
  });

  async function connectReceivers(count: number): Promise<Array<Map<string, Message>>> {
    const inboxes: Array<Map<string, Message>> = [];
    for (let i = 0; i < count; i += 1) {
      const socket = await connect(cluster.url, receivers[i % receivers.length]!);
      sockets.push(socket);
      inboxes.push(collect(socket, conversationId));
    }
    return inboxes;
  }

  after(async () => {
    for (const socket of sockets) socket.close();
    await cluster?.stop();
  });

  it('when a message is sent on one instance, then members connected to every instance receive it', async () => {
    const from = await connect(cluster.url, sender);
    sockets.push(from);
    // Round-robin spreads six sockets over both instances.
    const inboxes = await connectReceivers(6);
    const message = await sendUntilAcked(from, conversationId, 'across-1');
    await sleep(1000);
    for (const inbox of inboxes) expect(inbox.get('across-1')?.id).to.equal(message.id);
  });

  it('when pm2 reload runs twice while messages flow, then no acked message is lost for any receiver', async () => {
    const from = await connect(cluster.url, sender);
    sockets.push(from);
    const inboxes = await connectReceivers(4);
    const acked: Message[] = [];
    let sending = true;
    const loop = (async () => {
      for (let i = 0; sending; i += 1) acked.push(await sendUntilAcked(from, conversationId, `reload-${i}`));
    })();
    await sleep(1000);
    await cluster.reload();
    await cluster.reload();
    await sleep(1000);
    sending = false;
    await loop;
    await sleep(2000);

    expect(acked.length).to.be.greaterThan(20);
    for (const inbox of inboxes)
      expect(acked.filter((m) => !inbox.has(m.clientMsgId)).map((m) => m.clientMsgId)).to.deep.equal([]);
    const seqs = acked.map((m) => m.seq);
    expect(seqs).to.deep.equal([...seqs].sort((a, b) => a - b));
  });
});
