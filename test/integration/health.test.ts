import { expect } from 'chai';
import { HEALTH_DETAIL } from '../support/services.js';
import { Database } from '../../src/db/database.js';
import { startTestApp, useTestApp } from '../support/app.js';
import { register, request } from '../support/client.js';

describe('health', () => {
  const app = useTestApp();

  it('when /health is asked, then it reports version, instance, memory, lag, pools and redis', async () => {
    const reply = await request(app.url, 'GET', '/health', { headers: HEALTH_DETAIL });
    expect(reply.status).to.equal(200);
    expect(reply.body).to.include({ status: 'ok', pid: process.pid, instanceId: app.parley.config.instanceId });
    expect(reply.body.version).to.match(/^\d+\.\d+\.\d+/);
    expect(reply.body.memory).to.have.all.keys('rss', 'heapUsed', 'heapLimit');
    expect(reply.body.eventLoopLagMs).to.be.a('number');
    expect(reply.body.db.primary).to.have.all.keys('total', 'idle', 'waiting');
    expect(reply.body.redis).to.deep.include({ connected: true });
  });

  it('when live and ready are asked, then both are 200', async () => {
    const live = await request(app.url, 'GET', '/health/live');
    expect(live.status).to.equal(200);
    expect(live.body).to.deep.equal({ status: 'ok' });
    const ready = await request(app.url, 'GET', '/health/ready');
    expect(ready.status).to.equal(200);
    expect(ready.body.checks).to.include({ database: true, redis: true, draining: false });
  });

  it('when liveness is probed with HEAD, a query string or a method it does not serve, then it answers as a route would', async () => {
    const head = await request(app.url, 'HEAD', '/health/live');
    expect(head.status).to.equal(200);
    expect(head.body).to.equal('');
    expect((await request(app.url, 'GET', '/health/live?probe=lb')).body).to.deep.equal({ status: 'ok' });
    // Not a probe: Koa answers, and an unserved method is an unknown route there.
    const post = await request(app.url, 'POST', '/health/live', { body: {} });
    expect(post.status).to.equal(404);
    expect(post.body.error.code).to.equal('not_found');
  });

  for (const path of ['/metrics', '/health/metrics']) {
    it(`when ${path} is asked, then Prometheus text with request durations, pools, lag in seconds and memory`, async () => {
      const account = await register(app.url);
      await request(app.url, 'GET', '/api/me', { token: account.accessToken });
      const reply = await request(app.url, 'GET', path);
      expect(reply.status).to.equal(200);
      expect(reply.headers.get('content-type')).to.match(/^text\/plain/);
      expect(reply.body).to.match(
        /parley_http_request_duration_seconds_bucket\{[^}]*route="\/api\/me"[^}]*status="200"/,
      );
      expect(reply.body).to.match(/parley_db_pool_connections\{[^}]*pool="primary"/);
      expect(reply.body).to.match(/parley_db_pool_waiting\{/);
      expect(reply.body).to.match(/^nodejs_eventloop_lag_p99_seconds\{/m);
      expect(reply.body, 'the duplicate of the default lag metric is gone').to.not.include('parley_event_loop_lag_ms');
      expect(reply.body).to.match(/process_resident_memory_bytes/);
      // A single process (no PM2 cluster) answers for itself and asks no sibling.
      expect(reply.body).to.not.include('parley_metrics_instance_up');
    });
  }

  it('when the process is draining, then ready is 503 and responses ask to close the connection', async () => {
    const draining = await startTestApp();
    try {
      draining.parley.startDraining();
      const ready = await request(draining.url, 'GET', '/health/ready');
      expect(ready.status).to.equal(503);
      expect(ready.headers.get('connection')).to.equal('close');
      const live = await request(draining.url, 'GET', '/health/live');
      expect(live.status).to.equal(200);
      expect(live.headers.get('connection')).to.equal('close');
    } finally {
      await draining.close();
    }
  });

  it('when the database stops answering, then ready and /health turn 503', async () => {
    const cut = await startTestApp();
    try {
      // End the pool the app uses: every query now fails, as if the database went away.
      await cut.parley.db.primary.end();
      const ready = await request(cut.url, 'GET', '/health/ready');
      expect(ready.status).to.equal(503);
      expect(ready.body.checks.database).to.equal(false);
      expect((await request(cut.url, 'GET', '/health', { headers: HEALTH_DETAIL })).status).to.equal(503);
      expect((await request(cut.url, 'GET', '/health/live')).status).to.equal(200);
    } finally {
      cut.parley.db.primary.end = async () => undefined;
      await cut.close();
    }
  });

  it('when the database URL points nowhere, then the readiness ping answers false instead of hanging', async () => {
    const dead = Database.connect(
      'postgres://root@127.0.0.1:1/none',
      [],
      { max: 1, min: 0, idleTimeoutMs: 1000, connectTimeoutMs: 500, statementTimeoutMs: 1000 },
      app.parley.log,
    );
    try {
      expect(await dead.ping()).to.equal(false);
    } finally {
      await dead.close();
    }
  });
});
