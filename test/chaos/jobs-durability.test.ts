// Nothing lost, even when the jobs process or Redis is: the jobs app under a real PM2 daemon of its own (from
// ecosystem.config.js), a real receiver, and for the Redis case a redis-server this test owns and restarts empty.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import pg from 'pg';
import { startTestApp, type TestApp } from '../support/app.js';
import { createGroup, register, sendMessage, type Account } from '../support/client.js';
import { jobsEnv, startJobsUnderPm2, WEBHOOK_SECRET, type Pm2Jobs } from '../support/jobs.js';
import { startOwnRedis, type OwnRedis } from '../support/redis-server.js';
import { TEST_REDIS_PREFIX, testDatabaseUrl, testEnv } from '../support/services.js';
import { sleep, until } from '../support/sockets.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const JOBS_MAIN = fileURLToPath(new URL('../../dist/jobs/main.js', import.meta.url));

/** Every message reached every member in a delivery the receiver answered 2xx, and no delivery id seen was dropped. */
function expectAllDelivered(receiver: WebhookReceiver, members: Account[], messageIds: string[]): void {
  for (const member of members) {
    const delivered = receiver.deliveredTo(member.user.id);
    const got = new Set(delivered.flatMap((r) => r.body.messages.map((m) => m.id)));
    expect(
      [...messageIds].filter((id) => !got.has(id)),
      `messages never delivered to ${member.user.id}: ${JSON.stringify(receiver.received.filter((r) => r.body.userId === member.user.id).map((r) => [r.body.deliveryId, r.answered, r.body.messages.map((m) => m.id)]))}`,
    ).to.deep.equal([]);
  }
  const seen = new Set(receiver.received.map((r) => r.body.deliveryId));
  const done = new Set(
    receiver.received.filter((r) => r.answered !== undefined && r.answered < 300).map((r) => r.body.deliveryId),
  );
  expect(
    [...seen].filter((id) => !done.has(id)),
    'delivery ids seen but never delivered',
  ).to.deep.equal([]);
  expect(receiver.received.every((r) => r.verified)).to.equal(true);
}

describe('jobs: nothing lost across a killed jobs process or an empty Redis', function () {
  this.timeout(120_000);
  let receiver: WebhookReceiver;
  let api: TestApp | undefined;
  let jobs: Pm2Jobs | undefined;
  let redis: OwnRedis | undefined;
  let db: pg.Client;

  before(async () => {
    db = new pg.Client({ connectionString: testDatabaseUrl() });
    await db.connect();
  });
  after(() => db.end());
  afterEach(async () => {
    await jobs?.stop();
    await api?.close();
    await redis?.stop();
    await receiver?.close();
    jobs = api = redis = undefined;
  });

  async function groupOf(members: number): Promise<{ sender: Account; members: Account[]; conversationId: string }> {
    const sender = await register(api!.url);
    const others = await Promise.all(Array.from({ length: members }, () => register(api!.url)));
    return { sender, members: others, conversationId: await createGroup(api!.url, sender, others) };
  }

  /** Rows of these members' notifications still in PostgreSQL: outbox rows of the conversation, deliveries. */
  const pendingRowsOf = async (members: Account[], conversationId: string) =>
    Number(
      (
        await db.query(
          `SELECT (SELECT count(*) FROM notification_deliveries WHERE user_id = ANY($1::bigint[])) +
                  (SELECT count(*) FROM notification_outbox WHERE conversation_id = $2) AS n`,
          [members.map((m) => m.user.id), conversationId],
        )
      ).rows[0].n,
    );

  it('when the jobs process is SIGKILLed mid-delivery, then PM2 restarts it and every notification arrives at least once under its deliveryId', async () => {
    receiver = await startWebhookReceiver(WEBHOOK_SECRET);
    let killed = false;
    // Slow answers until the kill, so POSTs are in flight when it lands; prompt ones after.
    receiver.answer = () => (killed ? { status: 200 } : { status: 200, delayMs: 3_000 });
    const env = jobsEnv(receiver.url, { REDIS_PREFIX: `${TEST_REDIS_PREFIX}kill:`, NOTIFY_DELAY_MS: '200' });
    api = await startTestApp(env);
    jobs = await startJobsUnderPm2(env);
    const { sender, members, conversationId } = await groupOf(6);
    const sent = [];
    for (let i = 0; i < 4; i++) sent.push((await sendMessage(api.url, sender, conversationId, `message ${i}`)).id);
    await until(() => receiver.received.length >= 3, 15_000, 'deliveries in flight');
    const { pid } = await jobs.process();
    process.kill(pid, 'SIGKILL');
    killed = true;
    const inFlightAtKill = receiver.received.filter((r) => r.answered === undefined).map((r) => r.body.deliveryId);
    expect(inFlightAtKill.length, 'POSTs were in flight when the process died').to.be.greaterThan(0);
    const restartedPid = await jobs.waitOnline(pid);
    expect(restartedPid).to.not.equal(pid);
    await until(async () => (await pendingRowsOf(members, conversationId)) === 0, 60_000, 'every delivery done');
    expectAllDelivered(receiver, members, sent);
    const done = new Set(receiver.deliveredTo(members[0]!.user.id).map((r) => r.body.deliveryId));
    for (const member of members.slice(1))
      for (const r of receiver.deliveredTo(member.user.id)) done.add(r.body.deliveryId);
    for (const id of inFlightAtKill)
      expect(done.has(id), `delivery ${id} cut by the kill was delivered again under the same id`).to.equal(true);
    // pm2 monit shows the queue's figures for the jobs app.
    const monit = (await jobs.process()).monit;
    expect(Object.keys(monit)).to.include.members(['Queue waiting', 'Queue active', 'Queue delayed', 'Queue failed']);
  });

  it('when Redis restarts empty in the middle of deliveries, then the relay queues the lost jobs again and every notification arrives', async () => {
    redis = await startOwnRedis();
    receiver = await startWebhookReceiver(WEBHOOK_SECRET);
    receiver.answer = () => ({ status: 200, delayMs: 300 });
    const env = jobsEnv(receiver.url, {
      REDIS_URL: redis.url,
      REDIS_PREFIX: `${TEST_REDIS_PREFIX}empty:`,
      NOTIFY_DELAY_MS: '1500',
    });
    api = await startTestApp(env);
    jobs = await startJobsUnderPm2(env);
    const { sender, members, conversationId } = await groupOf(6);
    const sent: string[] = [];
    // Deliveries due at different times: some delayed in Redis, some running, when Redis goes.
    for (let i = 0; i < 3; i++) {
      sent.push((await sendMessage(api.url, sender, conversationId, `before ${i}`)).id);
      await sleep(700);
    }
    await until(() => receiver.received.length >= 1, 15_000, 'first deliveries');
    await redis.kill();
    await redis.start();
    // Sent after the restart, too: written to the outbox whatever Redis holds.
    sent.push((await sendMessage(api.url, sender, conversationId, 'after the restart')).id);
    await until(async () => (await pendingRowsOf(members, conversationId)) === 0, 60_000, 'every delivery done').catch(
      async (error) => {
        throw new Error(`${(error as Error).message}\n${(await jobs!.log()).slice(-4000)}`);
      },
    );
    expectAllDelivered(receiver, members, sent);
  });

  it('when the webhook URL is not http(s), or resolves to a private address in production, then the jobs app refuses to start with EX_CONFIG', async () => {
    const start = async (overrides: Record<string, string>) => {
      const child = spawn(process.execPath, [JOBS_MAIN], {
        env: { PATH: process.env.PATH ?? '', ...testEnv({ NOTIFY_WEBHOOK_SECRET: WEBHOOK_SECRET, ...overrides }) },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const ready = new Promise<'ready'>((resolve) => child.on('message', (m) => m === 'ready' && resolve('ready')));
      const exited = once(child, 'exit').then(([code]) => code as number);
      const first = await Promise.race([ready, exited]);
      if (first === 'ready') {
        child.kill('SIGINT');
        await exited;
      }
      return { outcome: first, output };
    };
    const ftp = await start({ NOTIFY_WEBHOOK_URL: 'ftp://hooks.example.com/parley' });
    expect(ftp.outcome).to.equal(78);
    expect(ftp.output).to.match(/NOTIFY_WEBHOOK_URL: must be an http or https URL/);
    const loopback = await start({ NODE_ENV: 'production', NOTIFY_WEBHOOK_URL: 'http://localhost:9/hooks' });
    expect(loopback.outcome).to.equal(78);
    expect(loopback.output).to.match(
      /NOTIFY_WEBHOOK_URL: webhook host localhost resolves to (127\.0\.0\.1|::1), a loopback or private address/,
    );
    const privateLiteral = await start({ NODE_ENV: 'production', NOTIFY_WEBHOOK_URL: 'http://10.1.2.3/hooks' });
    expect(privateLiteral.outcome).to.equal(78);
    expect(privateLiteral.output).to.match(/10\.1\.2\.3/);
    // Allowed explicitly, the same URL starts.
    const allowed = await start({
      NODE_ENV: 'production',
      NOTIFY_WEBHOOK_URL: 'http://localhost:9/hooks',
      NOTIFY_ALLOW_PRIVATE: 'true',
    });
    expect(allowed.outcome, allowed.output).to.equal('ready');
  });
});
