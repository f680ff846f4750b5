// Graceful stop of the jobs app: running deliveries finish within the deadline; one that outlasts it is handed
// back (its lock expires) and a new process delivers it under the same deliveryId.
import { expect } from 'chai';
import pg from 'pg';
import { startTestApp, type TestApp } from '../../support/app.js';
import { createGroup, register, sendMessage } from '../../support/client.js';
import { jobsEnv, startJobsInProcess, WEBHOOK_SECRET } from '../../support/jobs.js';
import { TEST_REDIS_PREFIX, testDatabaseUrl } from '../../support/services.js';
import { until } from '../../support/sockets.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/webhook-receiver.js';

describe('jobs: graceful stop', function () {
  this.timeout(30_000);
  let receiver: WebhookReceiver;
  let api: TestApp;
  let env: Record<string, string>;
  let db: pg.Client;
  let round = 0;
  const running: Array<Awaited<ReturnType<typeof startJobsInProcess>>> = [];

  beforeEach(async () => {
    db = new pg.Client({ connectionString: testDatabaseUrl() });
    await db.connect();
    receiver = await startWebhookReceiver(WEBHOOK_SECRET);
    env = jobsEnv(receiver.url, {
      REDIS_PREFIX: `${TEST_REDIS_PREFIX}stop${++round}:`,
      NOTIFY_DELAY_MS: '100',
      NOTIFY_TIMEOUT_MS: '3000',
    });
    api = await startTestApp(env);
  });
  afterEach(async () => {
    for (const jobs of running.splice(0)) await jobs.close(500).catch(() => undefined);
    await api.close();
    await receiver.close();
    await db.end();
  });

  async function oneOfflineMember() {
    const sender = await register(api.url);
    const member = await register(api.url);
    const conversationId = await createGroup(api.url, sender, [member]);
    await sendMessage(api.url, sender, conversationId, 'stop test');
    return member.user.id;
  }
  const rowsOf = async (userId: string) =>
    (await db.query('SELECT payload FROM notification_deliveries WHERE user_id = $1', [userId])).rows;

  it('when the jobs app stops with a POST in flight, then the POST finishes within the deadline and the delivery is done', async () => {
    receiver.answer = () => ({ status: 200, delayMs: 800 });
    const jobs = await startJobsInProcess(env);
    const member = await oneOfflineMember();
    await until(() => receiver.received.some((r) => r.body.userId === member), 10_000, 'POST in flight');
    await jobs.close(5_000);
    expect(receiver.deliveredTo(member)).to.have.length(1);
    expect(await rowsOf(member)).to.deep.equal([]);
  });

  it('when a POST outlasts the shutdown deadline, then its job is handed back and the next process delivers it under the same deliveryId', async () => {
    receiver.answer = (attempt) => (attempt === 0 ? 'hang' : { status: 200 });
    const first = await startJobsInProcess(env);
    const member = await oneOfflineMember();
    await until(() => receiver.received.some((r) => r.body.userId === member), 10_000, 'POST in flight');
    const stoppedAt = Date.now();
    await first.close(200);
    expect(Date.now() - stoppedAt, 'the deadline is kept').to.be.below(2_500);
    const [row] = await rowsOf(member);
    expect(row, 'the delivery is still in PostgreSQL').to.not.equal(undefined);
    const second = await startJobsInProcess(env);
    running.push(second);
    await until(() => receiver.deliveredTo(member).length === 1, 15_000, 'delivered by the next process');
    const posts = receiver.received.filter((r) => r.body.userId === member);
    expect(new Set(posts.map((r) => r.body.deliveryId)).size).to.equal(1);
    expect(posts.at(-1)!.raw).to.equal(row.payload);
  });
});
