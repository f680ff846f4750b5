// Register and login hash on the worker pool: the pool does the work, a full queue answers 503 with Retry-After,
// and a task that fails answers 500 while the pool keeps serving.
import { expect } from 'chai';
import { HEALTH_DETAIL } from '../support/services.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { register, request, uniqueName } from '../support/client.js';
import { fillPoolOfOne } from '../support/fixture-tasks.js';

const PASSWORD = 'correct horse';
const login = (app: TestApp, username: string, password = PASSWORD) =>
  request(app.url, 'POST', '/api/auth/login', { body: { username, password } });
const poolStats = async (app: TestApp) =>
  (await request(app.url, 'GET', '/health', { headers: HEALTH_DETAIL })).body.workerPool;

describe('password hashing on the worker pool', () => {
  describe('with the default settings', () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp();
    });
    after(() => app.close());

    it('when a user registers and logs in, then both hashes run on the pool and /health reports it', async () => {
      const before = await poolStats(app);
      expect(before).to.include.keys('threads', 'queued', 'completed');
      const account = await register(app.url);
      expect((await login(app, account.user.username)).status).to.equal(200);
      expect((await login(app, account.user.username, 'wrong password')).status).to.equal(401);
      const after = await poolStats(app);
      expect(after.completed - before.completed).to.equal(3);
      expect(after.threads).to.be.at.least(1);
      expect(after.queued).to.equal(0);
    });

    it('when a stored hash makes the task throw, then that login is a 500 internal and the next login works', async () => {
      const broken = await register(app.url);
      const healthy = await register(app.url);
      // A cost of 0 gives scrypt impossible parameters: the worker task throws.
      await app.parley.db.primary.query(
        `UPDATE users SET password_hash = regexp_replace(password_hash, '^scrypt\\$\\d+\\$', 'scrypt$0$') WHERE id = $1`,
        [broken.user.id],
      );
      const failed = await login(app, broken.user.username);
      expect(failed.status).to.equal(500);
      expect(failed.body.error.code).to.equal('internal');
      expect(JSON.stringify(failed.body)).to.not.match(/scrypt/i);
      expect((await login(app, healthy.user.username)).status).to.equal(200);
      expect((await poolStats(app)).failed).to.be.at.least(1);
      const metrics = await request(app.url, 'GET', '/health/metrics');
      expect(metrics.body).to.match(
        /parley_worker_task_failures_total\{[^}]*task="verifyPasswordBlocking"[^}]*reason="error"[^}]*\} [1-9]/,
      );
    });
  });

  describe('with PASSWORD_HASHING=inline', () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp({ PASSWORD_HASHING: 'inline' });
    });
    after(() => app.close());

    it('when a user registers and logs in, then the pool does no work', async () => {
      const account = await register(app.url);
      expect((await login(app, account.user.username)).status).to.equal(200);
      expect((await poolStats(app)).completed).to.equal(0);
    });
  });

  describe('with one thread and a queue of one', () => {
    let app: TestApp;
    before(async () => {
      // A production-like cost keeps each verification busy long enough for concurrent logins to pile up.
      app = await startTestApp({ PISCINA_MAX_THREADS: '1', PISCINA_MAX_QUEUE: '1', PASSWORD_HASH_COST: '14' });
    });
    after(() => app.close());

    it('when many logins arrive at once, then the overflow gets 503 overloaded with Retry-After and the rest log in', async () => {
      const username = uniqueName();
      await register(app.url, username, PASSWORD);
      const replies = await Promise.all(Array.from({ length: 24 }, () => login(app, username)));
      const statuses = replies.map((reply) => reply.status);
      const overloaded = replies.filter((reply) => reply.status === 503);
      expect(
        statuses.every((status) => status === 200 || status === 503),
        statuses.join(','),
      ).to.equal(true);
      expect(statuses.filter((status) => status === 200)).to.not.be.empty;
      expect(overloaded).to.not.be.empty;
      for (const reply of overloaded) {
        expect(reply.headers.get('retry-after')).to.match(/^[1-9][0-9]*$/);
        expect(reply.body.error.code).to.equal('overloaded');
      }
      // Not a hang and not a broken pool: once the storm passes, logins work again.
      expect((await login(app, username)).status).to.equal(200);
      const stats = await poolStats(app);
      // Some were refused at the door (pool already full), the others by the pool itself.
      expect(stats.rejected).to.be.at.most(overloaded.length);
      expect(stats.threads).to.equal(1);
      const metrics = await request(app.url, 'GET', '/health/metrics');
      expect(metrics.body).to.match(
        /parley_worker_task_duration_seconds_count\{[^}]*task="verifyPasswordBlocking"[^}]*outcome="ok"[^}]*\} [1-9]/,
      );
    });

    it('when the pool is full, then register and login are refused at the door, before the pool or the database see them', async () => {
      const account = await register(app.url);
      const rejectedBefore = (await poolStats(app)).rejected;
      const full = await fillPoolOfOne(app.parley.workerPool, 1_000);
      const [loginReply, registerReply, trailingSlash] = await Promise.all([
        login(app, account.user.username),
        request(app.url, 'POST', '/api/auth/register', { body: { username: uniqueName(), password: PASSWORD } }),
        request(app.url, 'POST', '/api/auth/login/', { body: { username: account.user.username, password: PASSWORD } }),
      ]);
      await full.released;
      for (const reply of [loginReply, registerReply, trailingSlash]) {
        expect(reply.status).to.equal(503);
        expect(reply.body.error.code).to.equal('overloaded');
        expect(reply.headers.get('retry-after')).to.match(/^[1-9][0-9]*$/);
      }
      // The canonical paths are refused before Koa (no request id: no context, log or middleware was spent);
      // another spelling meets the same refusal inside the router.
      expect(loginReply.headers.get('x-request-id')).to.equal(null);
      expect(registerReply.headers.get('x-request-id')).to.equal(null);
      expect(trailingSlash.headers.get('x-request-id')).to.be.a('string');
      expect((await poolStats(app)).rejected, 'rejections counted by the pool').to.equal(rejectedBefore);
      expect((await login(app, account.user.username)).status).to.equal(200);
    });
  });
});
