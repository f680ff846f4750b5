// Group commit of sends (src/services/send-batcher.ts), driven through the service so that the sends certainly
// share a batch: all are submitted in one tick, before the batcher's setImmediate flush.
import { expect } from 'chai';
import type { Message } from '../../src/contract/messages.js';
import { silentBroadcaster } from '../../src/services/broadcaster.js';
import { MessagesService } from '../../src/services/messages.service.js';
import { startTestApp, useTestApp } from '../support/app.js';
import { createGroup, register, type Account } from '../support/client.js';

describe('send batching (group commit)', () => {
  const app = useTestApp({ SEND_BATCH_MAX: '50' });
  let alice: Account;
  let bob: Account;
  let carol: Account;
  const announced: Message[][] = [];
  /** Runs once, inside the next batch, between its statement and the explanation of its misses. */
  let betweenStatementAndCheck: (() => Promise<void>) | undefined;
  /** The app's own settings and database, with a broadcaster that records each batch's announcement. */
  let messages: MessagesService;
  before(async () => {
    [alice, bob, carol] = await Promise.all([register(app.url), register(app.url), register(app.url)]);
    // The announcement runs after the batch statement and before its misses are explained (send-batcher.ts).
    const recorder = {
      ...silentBroadcaster,
      messagesCreated: async (batch: readonly Message[]) => {
        announced.push([...batch]);
        const hook = betweenStatementAndCheck;
        betweenStatementAndCheck = undefined;
        await hook?.();
      },
    };
    const { db, config, metrics } = app.parley;
    messages = new MessagesService(db, recorder, config.sendBatching, (size) => metrics.sendBatchSize.observe(size));
  });
  beforeEach(() => (announced.length = 0));

  const send = (account: Account, conversationId: string, body: string, clientMsgId: string) =>
    messages.send({ senderId: account.user.id, conversationId, body, clientMsgId });
  const settle = <T>(promises: Array<Promise<T>>) => Promise.allSettled(promises);
  const batchSizes = async () => {
    const text = await (await fetch(`${app.url}/health/metrics`)).text();
    const sum = Number(/^parley_send_batch_size_sum\{[^}]*\} (\S+)/m.exec(text)?.[1]);
    const count = Number(/^parley_send_batch_size_count\{[^}]*\} (\S+)/m.exec(text)?.[1]);
    return { sum, count };
  };

  it('when sends to several conversations arrive together, then one transaction stores them with per-conversation seqs in arrival order, announced in that order', async () => {
    const [first, second] = [await createGroup(app.url, alice, [bob]), await createGroup(app.url, bob, [alice])];
    const before = await batchSizes();
    const outcomes = await Promise.all([
      send(alice, first, 'a1', 'sb-1'),
      send(bob, second, 'b1', 'sb-2'),
      send(bob, first, 'a2', 'sb-3'),
      send(alice, second, 'b2', 'sb-4'),
      send(alice, first, 'a3', 'sb-5'),
    ]);
    const after = await batchSizes();
    expect([after.count - before.count, after.sum - before.sum]).to.deep.equal([1, 5]);
    expect(outcomes.map((o) => [o.message.body, o.message.seq, o.created])).to.deep.equal([
      ['a1', 1, true],
      ['b1', 1, true],
      ['a2', 2, true],
      ['b2', 2, true],
      ['a3', 3, true],
    ]);
    expect(announced).to.have.length(1);
    const order = announced[0]!.map((m) => `${m.conversationId}:${m.seq}`);
    expect(order.filter((key) => key.startsWith(`${first}:`))).to.deep.equal([
      `${first}:1`,
      `${first}:2`,
      `${first}:3`,
    ]);
    expect(order.filter((key) => key.startsWith(`${second}:`))).to.deep.equal([`${second}:1`, `${second}:2`]);
  });

  it('when a batch holds a non-member, a repeated clientMsgId and one used in another conversation, then only those fail or find their message, and the rest get gap-free seqs', async () => {
    const [id, other] = [await createGroup(app.url, alice, [bob]), await createGroup(app.url, alice, [bob])];
    const stored = await send(alice, id, 'stored before', 'dup-1');
    await send(alice, other, 'elsewhere', 'moved-1');
    announced.length = 0;
    const results = await settle([
      send(bob, id, 'ok 1', 'mix-1'),
      send(carol, id, 'not a member', 'mix-2'),
      send(alice, id, 'stored before', 'dup-1'),
      send(alice, id, 'reuses another conversation', 'moved-1'),
      send(bob, id, 'ok 2', 'mix-3'),
    ]);
    const [ok1, nonMember, duplicate, moved, ok2] = results;
    expect(ok1).to.have.nested.property('value.message.seq', 2);
    expect(ok2).to.have.nested.property('value.message.seq', 3);
    expect(nonMember).to.have.nested.property('reason.code', 'not_found');
    expect(duplicate).to.have.nested.property('value.created', false);
    expect((duplicate as PromiseFulfilledResult<{ message: Message }>).value.message).to.deep.equal(stored.message);
    expect(moved).to.have.nested.property('reason.code', 'conflict');
    // The repeated send announces its stored message again (its first announcement may have died with a process).
    expect(announced.flat().map((m) => m.body)).to.deep.equal(['ok 1', 'ok 2', 'stored before']);
  });

  it('when the same clientMsgId comes twice in one tick, then it is stored once and the second gets the stored message', async () => {
    const id = await createGroup(app.url, alice, [bob]);
    const [first, second] = await Promise.all([send(alice, id, 'twice', 'tick-1'), send(alice, id, 'twice', 'tick-1')]);
    expect([first.created, second.created]).to.deep.equal([true, false]);
    expect(second.message).to.deep.equal(first.message);
    expect((await send(alice, id, 'next', 'tick-2')).message.seq).to.equal(2);
  });

  it('when one send makes the batch statement fail, then it fails alone and its batch-mates are stored', async () => {
    const id = await createGroup(app.url, alice, [bob]);
    // PostgreSQL refuses a NUL character in text: the one statement storing the batch fails whole.
    const results = await settle([
      send(alice, id, 'fine 1', 'nul-1'),
      send(bob, id, 'bad \u0000 body', 'nul-2'),
      send(bob, id, 'fine 2', 'nul-3'),
    ]);
    expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
    const seqs = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.message.seq] : [])).sort();
    expect(seqs).to.deep.equal([1, 2]);
    expect(
      announced
        .flat()
        .map((m) => m.body)
        .sort(),
    ).to.deep.equal(['fine 1', 'fine 2']);
  });

  it('when the sender is not a member as the batch is stored but is one again when the miss is explained, then the send is queued once more and stored with the next seq', async () => {
    const id = await createGroup(app.url, alice, [bob]);
    await send(alice, id, 'before', 'rq-0');
    const { primary } = app.parley.db;
    await primary.query('DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2', [
      id,
      bob.user.id,
    ]);
    // Removed and added back while the batch runs (the soak benchmark's join/leave churn met this and answered 500).
    betweenStatementAndCheck = async () => {
      await primary.query(
        `INSERT INTO conversation_members (conversation_id, user_id, role) VALUES ($1, $2, 'member')`,
        [id, bob.user.id],
      );
    };
    announced.length = 0;
    const result = await send(bob, id, 'after rejoining', 'rq-1');
    expect(betweenStatementAndCheck, 'the hook ran inside the batch').to.equal(undefined);
    expect([result.created, result.message.seq, result.message.body]).to.deep.equal([true, 2, 'after rejoining']);
    // First batch: nothing stored; the requeued send's own batch announces it.
    expect(announced.map((batch) => batch.map((m) => m.body))).to.deep.equal([[], ['after rejoining']]);
  });

  it('when more sends wait than SEND_QUEUE_MAX, then the excess is refused as overloaded with Retry-After, and the rest are stored', async () => {
    const bounded = await startTestApp({ SEND_BATCH_MAX: '1', SEND_QUEUE_MAX: '3' });
    try {
      const [owner, member] = await Promise.all([register(bounded.url), register(bounded.url)]);
      const id = await createGroup(bounded.url, owner, [member]);
      // One tick, before the batcher runs: three wait, the rest find the queue full.
      const results = await settle(
        Array.from({ length: 10 }, (_, i) =>
          bounded.parley.messages.send({
            senderId: owner.user.id,
            conversationId: id,
            body: `q${i}`,
            clientMsgId: `q-${i}`,
          }),
        ),
      );
      const stored = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(stored.length).to.equal(3);
      expect(refused.map((r) => [r.reason.code, r.reason.retryAfterSec >= 1])).to.deep.equal(
        Array.from({ length: 7 }, () => ['overloaded', true]),
      );
    } finally {
      await bounded.close();
    }
  });
});
