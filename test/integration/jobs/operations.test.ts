// What operators see of the queues: the bull-board dashboard behind ADMIN_TOKEN, and the figures in /metrics.
import { expect } from 'chai';
import { startTestApp, type TestApp } from '../../support/app.js';
import { request } from '../../support/client.js';
import { TEST_REDIS_PREFIX } from '../../support/services.js';

const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123456789';

describe('jobs: queue dashboard and metrics', () => {
  let api: TestApp;
  before(async () => {
    api = await startTestApp({ ADMIN_TOKEN, REDIS_PREFIX: `${TEST_REDIS_PREFIX}ops:` });
  });
  after(() => api.close());

  it('when the dashboard is asked without the admin token, in any letter case, then it answers 401 with the contract shape', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues', '/ADMIN/queues', '/Admin/Queues/api/queues']) {
      for (const authorization of [
        undefined,
        'Bearer wrong-token',
        `Basic ${Buffer.from('admin:wrong').toString('base64')}`,
      ]) {
        const reply = await request(api.url, 'GET', path, authorization ? { headers: { authorization } } : {});
        expect(reply.status, `${path} with ${authorization}`).to.equal(401);
        expect(reply.body.error.code).to.equal('unauthorized');
        expect(reply.headers.get('www-authenticate')).to.match(/^Basic/);
      }
    }
  });

  it('when the admin token is given as Bearer or as the Basic password, then the dashboard and its API answer', async () => {
    const page = await request(api.url, 'GET', '/admin/queues', {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-type')).to.match(/text\/html/);
    const basic = `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`;
    const queues = await request(api.url, 'GET', '/admin/queues/api/queues', { headers: { authorization: basic } });
    expect(queues.status).to.equal(200);
    expect(queues.body.queues.map((q: { name: string }) => q.name).sort()).to.deep.equal(['exports', 'notifications']);
  });

  it('when /metrics is scraped, then it has the jobs per queue and state and the notification rows', async () => {
    const text = (await request(api.url, 'GET', '/metrics')).body as string;
    for (const queue of ['notifications', 'exports']) {
      for (const state of ['waiting', 'active', 'delayed', 'failed'])
        expect(text).to.match(
          new RegExp(`parley_queue_jobs\\{[^}]*queue="${queue}"[^}]*state="${state}"[^}]*\\} \\d+`),
        );
    }
    for (const table of ['outbox', 'deliveries', 'dead_letters'])
      expect(text).to.match(new RegExp(`parley_notification_rows\\{[^}]*table="${table}"[^}]*\\} \\d+`));
  });

  it('when ADMIN_TOKEN is not set, then there is no dashboard', async () => {
    const plain = await startTestApp({ REDIS_PREFIX: `${TEST_REDIS_PREFIX}ops2:` });
    try {
      expect((await request(plain.url, 'GET', '/admin/queues')).status).to.equal(404);
    } finally {
      await plain.close();
    }
  });
});
