// Attacks on the public health endpoints: a flood of readiness probes that filled the database pool, and
// operator detail (pid, memory, versions) served to anyone.
import { expect } from 'chai';
import { request } from '../../support/client.js';
import { startTestApp, useTestApp } from '../../support/app.js';

describe('security: health endpoints', function () {
  this.timeout(30_000);
  const TOKEN = 'operator-token-0123456789';
  const app = useTestApp({ HEALTH_DETAIL_TOKEN: TOKEN, HEALTH_CACHE_MS: '1000' });
  let pings = 0;
  before(async () => {
    const ping = app.parley.db.ping.bind(app.parley.db);
    app.parley.db.ping = () => {
      pings += 1;
      return ping();
    };
  });

  it('readiness flood attack: when 150 readiness probes arrive at once, then they share one database ping', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100)); // past any answer cached at start
    pings = 0;
    const replies = await Promise.all(Array.from({ length: 150 }, () => request(app.url, 'GET', '/health/ready')));
    expect(replies.every((reply) => reply.status === 200)).to.equal(true);
    expect(pings).to.equal(1);
  });

  it('health detail leak: when /health is asked without the operator token, then only its status comes back', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { authorization: TOKEN }] as Record<
      string,
      string
    >[]) {
      const reply = await request(app.url, 'GET', '/health', { headers });
      expect(reply.status).to.equal(200);
      expect(reply.body, JSON.stringify(headers)).to.deep.equal({ status: 'ok' });
    }
  });

  it('when /health is asked with the operator token, then the detail comes back', async () => {
    const reply = await request(app.url, 'GET', '/health', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(reply.body).to.include({ status: 'ok', pid: process.pid });
    expect(reply.body).to.have.property('memory');
  });

  it('when no operator token is configured, then nobody gets the detail', async () => {
    const bare = await startTestApp({ HEALTH_DETAIL_TOKEN: '' });
    try {
      const reply = await request(bare.url, 'GET', '/health', { headers: { authorization: 'Bearer ' } });
      expect(reply.body).to.deep.equal({ status: 'ok' });
    } finally {
      await bare.close();
    }
  });
});
