// `npm run deploy:rolling` and `npm run deploy:canary` against the real topology (two PM2 hosts behind nginx),
// run as an operator runs them, under load: a strict keep-alive client through nginx and chat clients sending.
import { syncAll } from './support/sync.js';
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { copyFile, rename, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'socket.io-client';
import { createGroup, register, request, type Account } from '../support/client.js';
import { strictKeepAliveLoad } from '../cluster/support/strict-client.js';
import { deploymentFile } from '../../deploy/topology/settings.js';
import { makeRelease, REPO } from '../../deploy/topology/release.js';
import { currentRelease, pm2 } from '../../deploy/lib/pm2-host.js';
import type { Host } from '../../deploy/lib/hosts.js';
import { closeAgents, connectFrom, startTestTopology, type Topology } from './support/topology.js';
import { chatLoad } from './support/chat.js';

const BROKEN_MAIN = fileURLToPath(new URL('./fixtures/broken-sends-main.mjs', import.meta.url));

function npmRun(script: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '--silent', script, '--', ...args],
      { cwd: REPO, timeout: 170_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

async function workerPids(host: Host): Promise<number[]> {
  const list = JSON.parse((await pm2(host, 'jlist')).replace(/^[^[]*/, '')) as Array<{ pid: number }>;
  return list.map((worker) => worker.pid).sort();
}

describe('topology: rolling and canary deploys', function () {
  let topology: Topology;
  let url: string;
  let hostsFile: string;
  let owner: Account;
  let conversationId: string;
  const sockets: Socket[] = [];

  before(async function () {
    this.timeout(120_000);
    // A short drain deadline keeps each reload quick; kill_timeout follows it (ecosystem.config.js).
    topology = await startTestTopology({ SHUTDOWN_TIMEOUT_MS: '3000' });
    url = topology.nginx.url;
    hostsFile = deploymentFile(topology.dir);
    owner = await register(url);
    conversationId = await createGroup(url, owner, []);
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
    closeAgents();
  });
  after(async () => {
    await topology?.stop();
  });

  it('when deploy:rolling runs twice under load, then a strict keep-alive client through nginx sees no failure and no acked message is lost or doubled', async function () {
    this.timeout(170_000);
    const releases = path.join(topology.dir, 'releases');
    await makeRelease(releases, 'second');
    await makeRelease(releases, 'third');
    const before = await Promise.all(topology.hosts.map(workerPids));

    const strict = strictKeepAliveLoad(`${url}/api/conversations/${conversationId}/messages?limit=20`, {
      connections: 4,
      headers: { authorization: `Bearer ${owner.accessToken}` },
    });
    // Default transports, from addresses spread over both hosts, reconnecting like real clients.
    const senders: Socket[] = [];
    for (const address of ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7']) {
      senders.push(await connectFrom(url, owner.accessToken, address, { reconnection: true }));
    }
    sockets.push(...senders);
    const chat = chatLoad(senders, conversationId);

    const runs: Array<{ code: number; output: string }> = [];
    try {
      await sleep(1_000);
      for (const release of ['second', 'third']) {
        const run = await npmRun('deploy:rolling', ['--hosts', hostsFile, '--release', release, '--drain-ms', '1000']);
        runs.push(run);
        if (run.code !== 0) break;
      }
      await sleep(1_000);
    } finally {
      await chat.stop();
    }
    const strictResult = await strict.stop();
    for (const run of runs) expect(run.code, run.output).to.equal(0);
    expect(runs).to.have.length(2);

    console.log(
      `      strict client: ${strictResult.ok} ok, ${strictResult.non2xx} non-2xx, ${strictResult.errors.length} errors; ${chat.acked.size} messages acked`,
    );
    expect(strictResult.errors, 'strict keep-alive client errors').to.deep.equal([]);
    expect(strictResult.non2xx).to.equal(0);
    expect(strictResult.ok).to.be.greaterThan(200);

    // The deploy really replaced every worker with the new release.
    const after = await Promise.all(topology.hosts.map(workerPids));
    for (const [index, pids] of after.entries())
      expect(
        pids.some((pid) => before[index]!.includes(pid)),
        `host ${index + 1} workers replaced`,
      ).to.equal(false);
    for (const host of topology.hosts) expect(await currentRelease(host)).to.equal('third');
    expect(await readdir(topology.deployment.nginx.drainDir), 'every host back in nginx').to.deep.equal([]);

    // Nothing acked is lost or doubled: sync from the start, paged.
    const reader = senders[0]!;
    const seen = await syncAll(reader, conversationId);
    const ids = seen.map((message) => message.clientMsgId);
    expect(new Set(ids).size, 'no message twice').to.equal(ids.length);
    expect(
      [...chat.acked.keys()].filter((id) => !ids.includes(id)),
      'acked but missing',
    ).to.deep.equal([]);
    expect(chat.acked.size).to.be.greaterThan(50);
  });

  it('when deploy:canary ships a build whose sends fail, then it rolls the canary back and stops, and the other host is untouched', async function () {
    this.timeout(170_000);
    const releases = path.join(topology.dir, 'releases');
    const broken = await makeRelease(releases, 'broken');
    await rename(path.join(broken, 'dist', 'main.js'), path.join(broken, 'dist', 'main.real.js'));
    await copyFile(BROKEN_MAIN, path.join(broken, 'dist', 'main.js'));
    const [canary, other] = topology.hosts as [Host, Host];
    const previous = await currentRelease(canary);
    const otherPids = await workerPids(other);

    const run = await npmRun('deploy:canary', [
      '--hosts',
      hostsFile,
      '--release',
      'broken',
      '--watch-seconds',
      '4',
      '--drain-ms',
      '500',
    ]);
    expect(run.code, run.output).to.equal(1);
    expect(run.output).to.match(/canary host-1 failed on release broken: error rate [\d.]+ % above 1\.0 %/);
    expect(run.output).to.include(`Rolled host-1 back to ${previous}; no other host was touched.`);

    expect(await currentRelease(canary)).to.equal(previous);
    expect(await currentRelease(other)).to.equal(previous);
    expect(await workerPids(other), 'the other host was not reloaded').to.deep.equal(otherPids);
    expect(await readdir(topology.deployment.nginx.drainDir)).to.deep.equal([]);
    // Sends work again on every host (the canary serves the previous release).
    for (let i = 0; i < 8; i += 1) {
      const reply = await request(
        `http://${canary.address}:${canary.port}`,
        'POST',
        `/api/conversations/${conversationId}/messages`,
        {
          token: owner.accessToken,
          body: { body: `after rollback ${i}`, clientMsgId: `after-rollback-${i}` },
        },
      );
      expect(reply.status).to.equal(201);
    }
  });

  it('when deploy:canary ships a build that cannot start, then the canary is rolled back and nothing else is touched', async function () {
    this.timeout(170_000);
    const crashing = await makeRelease(path.join(topology.dir, 'releases'), 'crashing');
    await writeFile(path.join(crashing, 'dist', 'main.js'), "throw new Error('deliberately broken build');\n");
    const [canary, other] = topology.hosts as [Host, Host];
    const previous = await currentRelease(canary);
    const otherPids = await workerPids(other);

    const run = await npmRun('deploy:canary', [
      '--hosts',
      hostsFile,
      '--release',
      'crashing',
      '--watch-seconds',
      '3',
      '--drain-ms',
      '500',
      '--ready-timeout-ms',
      '6000',
    ]);
    expect(run.code, run.output).to.equal(1);
    // PM2's reload waits listen_timeout for each new worker's 'ready', then stops the old worker anyway: the
    // drained host is down until the rollback, and nginx serves from the other host meanwhile.
    expect(run.output).to.match(/canary host-1 failed on release crashing: host host-1 not ready within 6000 ms/);
    expect(run.output).to.include(`Rolled host-1 back to ${previous}; no other host was touched.`);
    expect(await currentRelease(canary)).to.equal(previous);
    expect(await workerPids(other)).to.deep.equal(otherPids);
    expect(await readdir(topology.deployment.nginx.drainDir)).to.deep.equal([]);
    expect((await request(`http://${canary.address}:${canary.port}`, 'GET', '/health/ready')).status).to.equal(200);
  });

  it('when deploy:canary ships a good build, then the canary passes its watch and every host runs the release', async function () {
    this.timeout(170_000);
    await makeRelease(path.join(topology.dir, 'releases'), 'fourth');
    const run = await npmRun('deploy:canary', [
      '--hosts',
      hostsFile,
      '--release',
      'fourth',
      '--watch-seconds',
      '3',
      '--drain-ms',
      '500',
    ]);
    expect(run.code, run.output).to.equal(0);
    expect(run.output).to.include('host-1: canary healthy; rolling the other hosts');
    for (const host of topology.hosts) expect(await currentRelease(host)).to.equal('fourth');
  });
});
