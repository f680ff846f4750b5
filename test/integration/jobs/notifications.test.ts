// Offline notifications end to end, with the jobs app in this process: real PostgreSQL and Redis, a real HTTP
// receiver on a spare port, the API (two instances where presence across processes matters).
import { expect } from 'chai';
import { startTestApp, type TestApp } from '../../support/app.js';
import { startServer } from '../../support/processes.js';
import { createGroup, register, sendMessage, request, type Account } from '../../support/client.js';
import { jobsEnv, startJobsInProcess, WEBHOOK_SECRET } from '../../support/jobs.js';
import { TEST_REDIS_PREFIX, testDatabaseUrl } from '../../support/services.js';
import { closeAllClients, connect, sleep, until } from '../../support/sockets.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/webhook-receiver.js';
import pg from 'pg';

let suite = 0;

describe('jobs: offline notifications by signed webhook', function () {
  this.timeout(40_000);
  let receiver: WebhookReceiver;
  let env: Record<string, string>;
  let api: TestApp;
  let jobs: Awaited<ReturnType<typeof startJobsInProcess>> | undefined;
  let db: pg.Client;

  before(async () => {
    db = new pg.Client({ connectionString: testDatabaseUrl() });
    await db.connect();
  });
  after(async () => {
    await db.end();
  });

  beforeEach(async () => {
    receiver = await startWebhookReceiver(WEBHOOK_SECRET);
    // Each test its own queues and presence keys, so jobs left by one never run in the next.
    env = jobsEnv(receiver.url, { REDIS_PREFIX: `${TEST_REDIS_PREFIX}notify${++suite}:` });
    api = await startTestApp(env);
  });
  afterEach(async () => {
    closeAllClients();
    await jobs?.stop();
    jobs = undefined;
    await api.close();
    await receiver.close();
  });

  async function offlineGroup(size = 1): Promise<{ sender: Account; members: Account[]; conversationId: string }> {
    const sender = await register(api.url);
    const members = await Promise.all(Array.from({ length: size }, () => register(api.url)));
    return { sender, members, conversationId: await createGroup(api.url, sender, members) };
  }

  it('when a receiver fails the first attempts, then it gets the delivery after retries, signed, with one deliveryId and the same bytes', async () => {
    receiver.answer = (attempt) => (attempt < 2 ? { status: 503 } : { status: 200 });
    jobs = await startJobsInProcess(env);
    const { sender, members, conversationId } = await offlineGroup();
    const sent = await sendMessage(api.url, sender, conversationId, 'are you there?');
    const member = members[0]!.user.id;
    await until(() => receiver.deliveredTo(member).length === 1, 15_000, 'delivery after retries');
    const posts = receiver.received.filter((r) => r.body.userId === member);
    expect(posts.map((r) => r.answered)).to.deep.equal([503, 503, 200]);
    expect(
      posts.every((r) => r.verified),
      'every POST verifies with the secret',
    ).to.equal(true);
    expect(new Set(posts.map((r) => r.body.deliveryId)).size).to.equal(1);
    expect(new Set(posts.map((r) => r.raw)).size, 'retries send the same body').to.equal(1);
    const body = posts[0]!.body;
    expect(body).to.include({ type: 'message.offline', userId: member });
    expect(body.message.id).to.equal(sent.id);
    expect(body.messages.map((m) => m.id)).to.deep.equal([sent.id]);
    // A wrong secret does not verify: the check above can fail.
    const { verifySignature } = await import('../../support/webhook-receiver.js');
    expect(verifySignature('another-secret', posts[0]!.raw, posts[0]!.signature)).to.equal(false);
    await until(
      async () => (await db.query('SELECT 1 FROM notification_deliveries WHERE user_id = $1', [member])).rowCount === 0,
      5_000,
      'delivery row removed',
    );
  });

  it('when a receiver always fails, then the delivery ends dead-lettered with its attempts counted and the job failed', async () => {
    receiver.answer = () => ({ status: 500 });
    jobs = await startJobsInProcess(env);
    const { sender, members, conversationId } = await offlineGroup();
    await sendMessage(api.url, sender, conversationId, 'nobody listens');
    const member = members[0]!.user.id;
    await until(
      async () =>
        (await db.query('SELECT 1 FROM notification_dead_letters WHERE user_id = $1', [member])).rowCount === 1,
      20_000,
      'dead letter',
    );
    const { rows } = await db.query(
      'SELECT delivery_id, attempts, last_error, payload FROM notification_dead_letters WHERE user_id = $1',
      [member],
    );
    expect(rows[0].attempts).to.equal(4);
    expect(rows[0].last_error).to.match(/attempt 4: HTTP 500/);
    expect(receiver.received.filter((r) => r.body.userId === member)).to.have.length(4);
    expect(JSON.parse(rows[0].payload).deliveryId).to.equal(rows[0].delivery_id);
    expect((await db.query('SELECT 1 FROM notification_deliveries WHERE user_id = $1', [member])).rowCount).to.equal(0);
    await until(
      async () => (await jobs!.queues.notifications.getJobCounts('failed')).failed === 1,
      5_000,
      'job failed in the queue',
    );
  });

  it('when a receiver answers 4xx other than 429, then there is no retry: one attempt, dead-lettered', async () => {
    receiver.answer = () => ({ status: 410 });
    jobs = await startJobsInProcess(env);
    const { sender, members, conversationId } = await offlineGroup();
    await sendMessage(api.url, sender, conversationId, 'gone');
    const member = members[0]!.user.id;
    await until(
      async () =>
        (await db.query('SELECT 1 FROM notification_dead_letters WHERE user_id = $1', [member])).rowCount === 1,
      10_000,
      'dead letter',
    );
    await sleep(800);
    expect(receiver.received.filter((r) => r.body.userId === member)).to.have.length(1);
    const { rows } = await db.query('SELECT attempts, last_error FROM notification_dead_letters WHERE user_id = $1', [
      member,
    ]);
    expect(rows[0]).to.deep.equal({ attempts: 1, last_error: 'attempt 1: HTTP 410' });
  });

  it('when a receiver never answers, then the POST times out and is retried', async () => {
    receiver.answer = (attempt) => (attempt < 1 ? 'hang' : { status: 200 });
    jobs = await startJobsInProcess({ ...env, NOTIFY_TIMEOUT_MS: '500' });
    const { sender, members, conversationId } = await offlineGroup();
    await sendMessage(api.url, sender, conversationId, 'hello?');
    const member = members[0]!.user.id;
    await until(() => receiver.deliveredTo(member).length === 1, 15_000, 'delivery after the timeout');
    const posts = receiver.received.filter((r) => r.body.userId === member);
    expect(posts).to.have.length(2);
    expect(posts[0]!.answered).to.equal(undefined);
    expect(posts[1]!.at - posts[0]!.at, 'the second attempt comes after the timeout').to.be.at.least(500);
    expect(posts[0]!.body.deliveryId).to.equal(posts[1]!.body.deliveryId);
  });

  it('when a receiver answers 429 with Retry-After, then the next attempt waits at least that long', async () => {
    receiver.answer = (attempt) => (attempt < 1 ? { status: 429, retryAfter: '2' } : { status: 200 });
    jobs = await startJobsInProcess(env);
    const { sender, members, conversationId } = await offlineGroup();
    await sendMessage(api.url, sender, conversationId, 'slow down');
    const member = members[0]!.user.id;
    await until(() => receiver.deliveredTo(member).length === 1, 15_000, 'delivery after Retry-After');
    const posts = receiver.received.filter((r) => r.body.userId === member);
    expect(posts).to.have.length(2);
    // Without Retry-After the backoff here is at most NOTIFY_BACKOFF_MAX_MS (400 ms).
    expect(posts[1]!.at - posts[0]!.at).to.be.at.least(2_000);
  });

  it('when several messages reach an offline user within the delay, then they arrive in one delivery, oldest first', async () => {
    jobs = await startJobsInProcess({ ...env, NOTIFY_DELAY_MS: '1500' });
    const { sender, members, conversationId } = await offlineGroup(2);
    const sent = [];
    for (const text of ['one', 'two', 'three']) sent.push(await sendMessage(api.url, sender, conversationId, text));
    for (const member of members)
      await until(() => receiver.deliveredTo(member.user.id).length === 1, 10_000, 'batched delivery');
    await sleep(500);
    for (const member of members) {
      const posts = receiver.received.filter((r) => r.body.userId === member.user.id);
      expect(posts, 'one POST per user').to.have.length(1);
      expect(posts[0]!.body.messages.map((m) => m.id)).to.deep.equal(sent.map((m) => m.id));
      expect(posts[0]!.body.message.id, 'message is the latest').to.equal(sent[2]!.id);
    }
    expect(
      receiver.received.some((r) => r.body.userId === sender.user.id),
      'the sender is not notified',
    ).to.equal(false);
  });

  it('when several offline members are due together, then one queue job carries their deliveries, and the one whose POST fails is retried alone', async () => {
    const { sender, members, conversationId } = await offlineGroup(5);
    const failing = members[0]!.user.id;
    receiver.answer = (attempt, body) => (body.userId === failing && attempt < 2 ? { status: 503 } : { status: 200 });
    jobs = await startJobsInProcess(env);
    await sendMessage(api.url, sender, conversationId, 'to all of you');
    for (const member of members)
      await until(() => receiver.deliveredTo(member.user.id).length === 1, 15_000, 'every member notified');
    const postsTo = (userId: string) => receiver.received.filter((r) => r.body.userId === userId);
    expect(postsTo(failing).map((r) => r.answered)).to.deep.equal([503, 503, 200]);
    for (const member of members.slice(1))
      expect(
        postsTo(member.user.id).map((r) => r.answered),
        'delivered once, not again with the retries',
      ).to.deep.equal([200]);
    // The last POST is answered before its job is marked completed: wait for the queue to settle.
    const counts = () => jobs!.queues.notifications.getJobCounts('completed', 'failed', 'waiting', 'delayed', 'active');
    await until(async () => ((await counts()).completed ?? 0) > 0, 10_000, 'the job completed');
    expect(await counts(), 'five deliveries, one job').to.deep.equal({
      completed: 1,
      failed: 0,
      waiting: 0,
      delayed: 0,
      active: 0,
    });
  });

  it('when a member is online on any process, then they get no webhook, while an offline member of the same conversation does', async () => {
    // Another API process (dist/main.js, with socket.io) that shares the Redis presence.
    const other = await startServer(env);
    try {
      jobs = await startJobsInProcess(env);
      const { sender, members, conversationId } = await offlineGroup(2);
      const [online, offline] = members as [Account, Account];
      // Connected to the other API process only: presence is shared through Redis.
      await connect(other.url, { token: online.accessToken });
      await sendMessage(api.url, sender, conversationId, 'who is around?');
      await until(() => receiver.deliveredTo(offline.user.id).length === 1, 10_000, 'offline member notified');
      await sleep(700);
      expect(receiver.received.filter((r) => r.body.userId === online.user.id)).to.deep.equal([]);
      expect(
        (await db.query('SELECT 1 FROM notification_deliveries WHERE user_id = $1', [online.user.id])).rowCount,
        'nothing left to do for them',
      ).to.equal(0);
    } finally {
      closeAllClients();
      await other.stop();
    }
  });

  it('when an offline member reads the message within the delay, then they get no webhook', async () => {
    jobs = await startJobsInProcess({ ...env, NOTIFY_DELAY_MS: '1500' });
    const { sender, members, conversationId } = await offlineGroup(2);
    const [reader, unread] = members as [Account, Account];
    const sent = await sendMessage(api.url, sender, conversationId, 'read me');
    expect(
      (
        await request(api.url, 'POST', `/api/conversations/${conversationId}/read`, {
          token: reader.accessToken,
          body: { seq: sent.seq },
        })
      ).status,
    ).to.equal(204);
    await until(() => receiver.deliveredTo(unread.user.id).length === 1, 10_000, 'the other member notified');
    await sleep(500);
    expect(receiver.received.filter((r) => r.body.userId === reader.user.id)).to.deep.equal([]);
  });

  it('when notifications are off, then sends write no outbox rows', async () => {
    const plain = await startTestApp({ REDIS_PREFIX: env.REDIS_PREFIX! });
    try {
      const sender = await register(plain.url);
      const member = await register(plain.url);
      const conversationId = await createGroup(plain.url, sender, [member]);
      const sent = await sendMessage(plain.url, sender, conversationId, 'no outbox');
      expect((await db.query('SELECT 1 FROM notification_outbox WHERE message_id = $1', [sent.id])).rowCount).to.equal(
        0,
      );
      // And with them on, the same send path writes one (the relay is not running here, so it stays).
      const noisy = await sendMessage(api.url, sender, conversationId, 'outbox');
      expect((await db.query('SELECT 1 FROM notification_outbox WHERE message_id = $1', [noisy.id])).rowCount).to.equal(
        1,
      );
    } finally {
      await plain.close();
    }
  });
});
