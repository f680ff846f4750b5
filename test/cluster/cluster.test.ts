// Real PM2, two instances in production mode, against this run's PostgreSQL database and Redis key space.
import { expect } from 'chai';
import { TEST_HEALTH_TOKEN } from '../support/services.js';
import autocannon from 'autocannon';
import { createGroup, register, type Account } from '../support/client.js';
import { sleep, startCluster, type Cluster } from './support/cluster.js';
import { requestFresh } from './support/http.js';
import { startPrometheus } from './support/prometheus.js';
import { strictKeepAliveLoad } from './support/strict-client.js';

describe('PM2 cluster (2 instances, production mode)', () => {
  let cluster: Cluster;
  let owner: Account;
  let conversationId: string;

  before(async () => {
    cluster = await startCluster();
    owner = await register(cluster.url);
    conversationId = await createGroup(cluster.url, owner, [await register(cluster.url)]);
    for (let i = 0; i < 50; i += 1) {
      const sent = await requestFresh(
        `${cluster.url}/api/conversations/${conversationId}/messages`,
        'POST',
        { body: `seed ${i}`, clientMsgId: `seed-${i}` },
        owner.accessToken,
      );
      expect(sent.status).to.equal(201);
    }
  });

  after(async () => {
    await cluster?.stop();
  });

  /** Every stored message, oldest first, page after page (a page holds at most 500). */
  async function wholeHistory(id: string, token: string): Promise<Array<{ seq: number; clientMsgId: string }>> {
    const all: Array<{ seq: number; clientMsgId: string }> = [];
    for (;;) {
      const after = all.at(-1)?.seq ?? 0;
      const page = await requestFresh(
        `${cluster.url}/api/conversations/${id}/messages?after=${after}&limit=500`,
        'GET',
        undefined,
        token,
      );
      expect(page.status).to.equal(200);
      all.push(...page.body.messages);
      if (page.body.messages.length < 500) return all;
    }
  }

  it('when requests arrive on fresh connections, then both instances answer them', async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 20; i += 1) {
      const { status, body } = await requestFresh(`${cluster.url}/health`, 'GET', undefined, TEST_HEALTH_TOKEN);
      expect(status).to.equal(200);
      seen.set(body.instanceId, body.pid);
    }
    expect(seen.size).to.equal(2);
    expect(new Set(seen.values()).size).to.equal(2);
    const pids = (await cluster.processes()).map((p) => p.pid).sort();
    expect([...seen.values()].sort()).to.deep.equal(pids);
  });

  it('when the app serves requests, then pm2 monit shows its custom metrics for each instance', async () => {
    for (let i = 0; i < 10; i += 1) await requestFresh(`${cluster.url}/health/live`, 'GET');
    const processes = await cluster.processesUntil(
      (list) => list.every((p) => Number(p.metrics['HTTP req/min']?.value) > 0),
      15_000,
    );
    for (const p of processes) {
      expect(Object.keys(p.metrics)).to.include.members([
        'Sockets',
        'HTTP req/min',
        'Event loop lag',
        'DB pool waiting',
        'Worker pool queue',
        'Uploads receiving',
        'Memory guard',
        'Heap used',
      ]);
      expect(Number(p.metrics['HTTP req/min']!.value)).to.be.greaterThan(0);
      expect(p.metrics['Memory guard']!.value).to.equal('ok');
    }
  });

  it('when a worker is killed with SIGKILL, then PM2 restarts it, service continues and every acked message is stored', async () => {
    const [victim] = await cluster.processes();
    const acked: string[] = [];
    const failures: string[] = [];
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending; i += 1) {
        try {
          const reply = await requestFresh(
            `${cluster.url}/api/conversations/${conversationId}/messages`,
            'POST',
            { body: `kill ${i}`, clientMsgId: `kill-${i}` },
            owner.accessToken,
          );
          if (reply.status === 201) acked.push(reply.body.message.clientMsgId);
          else failures.push(`HTTP ${reply.status}`);
        } catch (error) {
          failures.push((error as Error).message); // on the killed worker's connection: never acked, nothing promised
        }
      }
    })();
    await sleep(500);
    process.kill(victim!.pid, 'SIGKILL');
    const online = await cluster.waitOnline(2);
    await sleep(1000);
    sending = false;
    await sender;

    const restarted = online.find((p) => p.pmId === victim!.pmId)!;
    expect(restarted.pid).to.not.equal(victim!.pid);
    expect(restarted.restarts).to.be.at.least(1);
    expect(acked.length).to.be.greaterThan(10);
    expect(
      failures.length,
      `failures are limited to the killed worker's in-flight requests: ${failures.join(', ')}`,
    ).to.be.below(5);

    // Service continues on both instances.
    for (let i = 0; i < 10; i += 1)
      expect((await requestFresh(`${cluster.url}/health/ready`, 'GET')).status).to.equal(200);
    // Nothing acknowledged was lost.
    const stored = new Set((await wholeHistory(conversationId, owner.accessToken)).map((m) => m.clientMsgId));
    expect(acked.filter((id) => !stored.has(id))).to.deep.equal([]);
  });

  it('when pm2 reload runs twice under load, then autocannon and a strict keep-alive client see 0 failed requests', async () => {
    const path = `/api/conversations/${conversationId}/messages?limit=50`;
    const headers = { authorization: `Bearer ${owner.accessToken}` };
    const before = (await cluster.processes()).map((p) => p.pid);

    let cannonResult: autocannon.Result | undefined;
    const cannon = autocannon(
      { url: cluster.url + path, connections: 20, duration: 120, headers },
      (_error, result) => {
        cannonResult = result;
      },
    );
    const cannonDone = new Promise<void>((resolve) => cannon.on('done', () => resolve()));
    const strict = strictKeepAliveLoad(cluster.url + path, { connections: 4, headers });

    await sleep(1000);
    await cluster.reload();
    await cluster.reload();
    await sleep(1000);
    cannon.stop();
    await cannonDone;
    const strictResult = await strict.stop();

    const after = (await cluster.processes()).map((p) => p.pid);
    expect(
      after.filter((pid) => before.includes(pid)),
      'every worker was replaced',
    ).to.deep.equal([]);
    expect(cannonResult).to.not.equal(undefined);
    const r = cannonResult!;
    expect(r.requests.total).to.be.greaterThan(100);
    expect({ non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts }).to.deep.equal({
      non2xx: 0,
      errors: 0,
      timeouts: 0,
    });
    expect(strictResult.ok).to.be.greaterThan(100);
    expect({ non2xx: strictResult.non2xx, errors: strictResult.errors }).to.deep.equal({ non2xx: 0, errors: [] });
    // Each of the 4 old workers drained and finished its shutdown list (rather than being killed by PM2).
    const shutdowns = cluster.outLog().match(/.*"reason":"SIGINT".*/g) ?? [];
    expect(
      shutdowns.filter((line) => line.includes('"msg":"shutdown complete"')),
      shutdowns.join('\n') + cluster.daemonLog().slice(-3000),
    ).to.have.length.of.at.least(4);
  });

  // After the reloads above: the replacement workers must have taken over their index's metrics port.
  it('when Prometheus scrapes /metrics (or /health/metrics) once, then the answer has every instance, each labelled by instance_id', async () => {
    const instanceIds = new Set<string>();
    for (let i = 0; i < 10; i += 1)
      instanceIds.add(
        (await requestFresh(`${cluster.url}/health`, 'GET', undefined, TEST_HEALTH_TOKEN)).body.instanceId,
      );
    expect(instanceIds.size).to.equal(2);
    const everyInstanceUp = (text: string) =>
      ['0', '1'].every((index) => text.includes(`parley_metrics_instance_up{instance_index="${index}"} 1`));
    let last = '';
    for (const [i, path] of [
      '/metrics',
      '/health/metrics',
      '/metrics',
      '/health/metrics',
      '/metrics',
      '/metrics',
    ].entries()) {
      const scrape = await requestFresh(`${cluster.url}${path}`, 'GET');
      expect(scrape.status, `scrape ${i}`).to.equal(200);
      last = scrape.body as string;
      const labelled = new Set(
        [...last.matchAll(/^process_resident_memory_bytes\{instance_id="([^"]+)"\} \d/gm)].map((m) => m[1]),
      );
      expect([...labelled].sort(), `scrape ${i} of ${path}`).to.deep.equal([...instanceIds].sort());
      expect(
        everyInstanceUp(last),
        last
          .split('\n')
          .filter((l) => l.startsWith('parley_metrics_instance_up'))
          .join('\n'),
      ).to.equal(true);
    }
    // One HELP and TYPE per family, as Prometheus's parser requires, however many instances answered.
    expect(last.match(/^# TYPE process_resident_memory_bytes /gm)).to.have.length(1);
    expect(last.match(/^parley_http_request_duration_seconds_count\{/gm)?.length).to.be.greaterThan(1);
  });

  it("when a real Prometheus scrapes the host with the shipped scrape job and rules, then it stores both instances' series and loads the rules", async () => {
    const prometheus = await startPrometheus(cluster.port);
    try {
      const query = async (promql: string) => {
        const reply = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
        return (
          (await reply.json()) as {
            data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
          }
        ).data.result;
      };
      let perInstance: string[] = [];
      const until = Date.now() + 30_000;
      while (Date.now() < until) {
        perInstance = (await query('process_resident_memory_bytes{job="parley"}'))
          .map((r) => r.metric.instance_id!)
          .sort();
        if (perInstance.length === 2) break;
        await sleep(500);
      }
      expect(perInstance, prometheus.output()).to.have.length(2);
      expect(new Set(perInstance).size).to.equal(2);
      expect((await query('up{job="parley"}')).map((r) => r.value[1])).to.deep.equal(['1']);
      const rules = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as {
        data: { groups: Array<{ rules: Array<{ name: string; health: string }> }> };
      };
      const loaded = rules.data.groups.flatMap((group) => group.rules);
      expect(loaded.map((rule) => rule.name)).to.include.members([
        'ParleySocketsNearCap',
        'ParleyInstanceMissing',
        'ParleyDbConnectionsNearBudget',
      ]);
      expect(
        loaded.every((rule) => rule.health !== 'err'),
        JSON.stringify(loaded),
      ).to.equal(true);
    } finally {
      await prometheus.stop();
    }
  });
});
